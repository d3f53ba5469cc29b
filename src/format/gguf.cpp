// GGUF v2/v3 reader: parses and validates the header, metadata and tensor infos of an untrusted
// image, then exposes tensor views into it. Layout: ggml/docs/gguf.md; checks mirror (and tighten)
// ggml/src/gguf.cpp gguf_init_from_file_impl.
#include "format/gguf.h"

#include <algorithm>
#include <limits>
#include <unordered_set>

#include "format/gguf_cursor.h"
#include "format/gguf_utf8.h"

namespace kaiyuan {
namespace {

constexpr uint32_t kMagic = 0x46554747;  // "GGUF" read as a little-endian u32
constexpr uint64_t kDefaultAlignment = 32;  // GGUF_DEFAULT_ALIGNMENT (gguf.md)
constexpr uint32_t kMaxDims = 4;            // GGML_MAX_DIMS

// Smallest possible encodings, used to bound counts by the bytes left before reserving anything.
constexpr size_t kMinKvBytes = 8 + 4 + 1;              // key length, value type, 1-byte value
constexpr size_t kMinTensorInfoBytes = 8 + 4 + 8 + 4 + 8;  // name length, n_dims, ne[0], type, offset

bool is_known_value_type(uint32_t t) { return t <= static_cast<uint32_t>(GgufType::F64); }

// Bytes the smallest element of type `t` occupies inside an array (arrays: elem type + count).
size_t min_element_bytes(GgufType t) {
  switch (t) {
    case GgufType::U8: case GgufType::I8: case GgufType::BOOL: return 1;
    case GgufType::U16: case GgufType::I16: return 2;
    case GgufType::U32: case GgufType::I32: case GgufType::F32: return 4;
    case GgufType::U64: case GgufType::I64: case GgufType::F64: return 8;
    case GgufType::STRING: return 8;
    case GgufType::ARRAY: return 4 + 8;
  }
  return 1;
}

// A key or tensor name for an error message; a hostile file's megabyte-long name is cut short
// (at a UTF-8 character boundary).
std::string quoted(std::string_view s) {
  constexpr size_t kMaxShown = 120;
  if (s.size() <= kMaxShown) return "'" + std::string(s) + "'";
  size_t cut = kMaxShown;
  while (cut > 0 && (static_cast<uint8_t>(s[cut]) & 0xC0) == 0x80) --cut;
  return "'" + std::string(s.substr(0, cut)) + "...' (" + std::to_string(s.size()) + " bytes)";
}

std::string utf8_error(std::string_view what, std::string_view s) {
  return std::string(what) + " is not valid UTF-8 (bad byte at position " + std::to_string(first_invalid_utf8(s)) +
         ")";
}

// Tensor info as read, before its data region is placed and checked.
struct TensorInfo {
  std::string name;
  DType dtype = DType::F32;
  std::vector<int64_t> ne;  // innermost first, as in the file
  uint64_t offset = 0;      // relative to the data section
  size_t nbytes = 0;
};

}  // namespace

// Fills a GgufFile from the byte image; every method returns an error naming what is wrong.
class GgufParser {
 public:
  GgufParser(GgufFile& out, const uint8_t* data, size_t size) : out_(out), data_(data), cur_(data, size) {}

  Status run() {
    KY_RETURN_IF_ERROR(read_header());
    KY_RETURN_IF_ERROR(read_metadata());
    KY_RETURN_IF_ERROR(apply_alignment());
    KY_RETURN_IF_ERROR(read_tensor_infos());
    return place_tensors();
  }

 private:
  Status read_header() {
    if (cur_.size() < 4) return Error("too small to be a GGUF file (" + std::to_string(cur_.size()) + " bytes)");
    KY_ASSIGN_OR_RETURN(uint32_t magic, cur_.read<uint32_t>("magic"));
    if (magic != kMagic) return Error("not a GGUF file (bad magic; expected \"GGUF\")");
    KY_ASSIGN_OR_RETURN(uint32_t version, cur_.read<uint32_t>("version"));
    if (version == 1)
      return Error("GGUF version 1 is not supported (only v2 and v3); re-convert the model with a current llama.cpp");
    if (version != 2 && version != 3) {
      const bool byte_swapped = version != 0 && (version & 0xFFFF) == 0;
      const std::string hint = byte_swapped ? " (a big-endian GGUF? only little-endian files are supported)" : "";
      return Error("unsupported GGUF version " + std::to_string(version) + hint + "; supported: 2, 3");
    }
    out_.version_ = version;
    KY_ASSIGN_OR_RETURN(n_tensors_, cur_.read<uint64_t>("tensor count"));
    KY_ASSIGN_OR_RETURN(n_kv_, cur_.read<uint64_t>("metadata count"));
    return Status::ok();
  }

  Status read_metadata() {
    if (n_kv_ > cur_.remaining() / kMinKvBytes)
      return Error("metadata count " + std::to_string(n_kv_) + " is impossible: " + std::to_string(cur_.remaining()) +
                   " bytes left hold at most " + std::to_string(cur_.remaining() / kMinKvBytes) + " entries");
    out_.kv_.reserve(static_cast<size_t>(n_kv_));
    for (uint64_t k = 0; k < n_kv_; ++k) {
      const std::string where = "metadata entry " + std::to_string(k);
      KY_ASSIGN_OR_RETURN(std::string key, cur_.read_string(where + " key"));
      if (!is_valid_utf8(key)) return Error(where + ": " + utf8_error("key", key));
      if (out_.kv_index_.count(key) != 0) return Error("duplicate metadata key " + quoted(key));
      KY_ASSIGN_OR_RETURN(uint32_t type, cur_.read<uint32_t>("value type of key " + quoted(key)));
      if (!is_known_value_type(type))
        return Error("key " + quoted(key) + ": unknown value type " + std::to_string(type));
      Result<GgufValue> value = read_value(static_cast<GgufType>(type), 1);
      if (!value) return value.status().with_context("key " + quoted(key));
      out_.kv_index_.emplace(key, out_.kv_.size());
      out_.kv_.emplace_back(std::move(key), std::move(value).value());
    }
    return Status::ok();
  }

  // `depth` counts array levels including this value's own (1 for a top-level value).
  Result<GgufValue> read_value(GgufType type, int depth) {
    GgufValue v;
    v.type = type;
    const std::string_view what = gguf_type_name(type);
    switch (type) {
      case GgufType::U8: { KY_ASSIGN_OR_RETURN(v.u, cur_.read<uint8_t>(what)); break; }
      case GgufType::U16: { KY_ASSIGN_OR_RETURN(v.u, cur_.read<uint16_t>(what)); break; }
      case GgufType::U32: { KY_ASSIGN_OR_RETURN(v.u, cur_.read<uint32_t>(what)); break; }
      case GgufType::U64: { KY_ASSIGN_OR_RETURN(v.u, cur_.read<uint64_t>(what)); break; }
      case GgufType::I8: { KY_ASSIGN_OR_RETURN(v.i, cur_.read<int8_t>(what)); break; }
      case GgufType::I16: { KY_ASSIGN_OR_RETURN(v.i, cur_.read<int16_t>(what)); break; }
      case GgufType::I32: { KY_ASSIGN_OR_RETURN(v.i, cur_.read<int32_t>(what)); break; }
      case GgufType::I64: { KY_ASSIGN_OR_RETURN(v.i, cur_.read<int64_t>(what)); break; }
      case GgufType::F32: { KY_ASSIGN_OR_RETURN(v.f, cur_.read<float>(what)); break; }
      case GgufType::F64: { KY_ASSIGN_OR_RETURN(v.f, cur_.read<double>(what)); break; }
      case GgufType::BOOL: {
        KY_ASSIGN_OR_RETURN(uint8_t b, cur_.read<uint8_t>(what));
        // gguf.md: "bool: 1-byte value where 0 is false and 1 is true. Anything else is invalid."
        if (b > 1) return Error("invalid bool value " + std::to_string(b) + " (must be 0 or 1)");
        v.u = b;
        break;
      }
      case GgufType::STRING: { KY_ASSIGN_OR_RETURN(v.str, cur_.read_string(what)); break; }
      case GgufType::ARRAY: return read_array(depth);
    }
    return v;
  }

  Result<GgufValue> read_array(int depth) {
    if (depth > kGgufMaxArrayDepth)
      return Error("arrays nested too deep (more than " + std::to_string(kGgufMaxArrayDepth) + " levels)");
    GgufValue v;
    v.type = GgufType::ARRAY;
    KY_ASSIGN_OR_RETURN(uint32_t elem, cur_.read<uint32_t>("array element type"));
    if (!is_known_value_type(elem)) return Error("array of unknown value type " + std::to_string(elem));
    v.elem_type = static_cast<GgufType>(elem);
    KY_ASSIGN_OR_RETURN(uint64_t count, cur_.read<uint64_t>("array length"));
    const size_t min_bytes = min_element_bytes(v.elem_type);
    if (count > cur_.remaining() / min_bytes)
      return Error("array length " + std::to_string(count) + " of " + std::string(gguf_type_name(v.elem_type)) +
                   " is impossible: " + std::to_string(cur_.remaining()) + " bytes left in the file");
    v.reserve(static_cast<size_t>(count));
    for (uint64_t k = 0; k < count; ++k) {
      Result<GgufValue> e = read_value(v.elem_type, depth + 1);
      if (!e) return e.status().with_context("element " + std::to_string(k));
      v.push_back(std::move(e).value());  // elements are read as elem_type, so this always appends
    }
    return v;
  }

  // general.alignment: a u32 per gguf.md; any integer type holding a nonzero power of two is accepted.
  Status apply_alignment() {
    const GgufValue* a = out_.get("general.alignment");
    if (a == nullptr) {
      out_.alignment_ = kDefaultAlignment;
      return Status::ok();
    }
    std::optional<int64_t> v = a->as_int();
    if (!a->is_integer() || !v)
      return Error("general.alignment: expected an unsigned integer, got " + std::string(gguf_type_name(a->type)));
    if (*v <= 0 || (*v & (*v - 1)) != 0)
      return Error("general.alignment must be a nonzero power of two, got " + std::to_string(*v));
    out_.alignment_ = static_cast<uint64_t>(*v);
    return Status::ok();
  }

  Status read_tensor_infos() {
    if (n_tensors_ > cur_.remaining() / kMinTensorInfoBytes)
      return Error("tensor count " + std::to_string(n_tensors_) + " is impossible: " +
                   std::to_string(cur_.remaining()) + " bytes left hold at most " +
                   std::to_string(cur_.remaining() / kMinTensorInfoBytes) + " tensor infos");
    infos_.reserve(static_cast<size_t>(n_tensors_));
    for (uint64_t k = 0; k < n_tensors_; ++k) {
      Result<TensorInfo> info = read_tensor_info(k);
      if (!info) return info.status();
      if (!seen_names_.insert(info->name).second) return Error("duplicate tensor name " + quoted(info->name));
      infos_.push_back(std::move(info).value());
    }
    return Status::ok();
  }

  Result<TensorInfo> read_tensor_info(uint64_t k) {
    TensorInfo t;
    KY_ASSIGN_OR_RETURN(t.name, cur_.read_string("name of tensor " + std::to_string(k)));
    if (!is_valid_utf8(t.name)) return Error("tensor " + std::to_string(k) + ": " + utf8_error("name", t.name));
    const std::string where = "tensor " + quoted(t.name);
    Result<TensorInfo> r = read_tensor_layout(std::move(t));
    if (!r) return r.status().with_context(where);
    return r;
  }

  Result<TensorInfo> read_tensor_layout(TensorInfo t) {
    KY_ASSIGN_OR_RETURN(uint32_t n_dims, cur_.read<uint32_t>("n_dims"));
    if (n_dims < 1 || n_dims > kMaxDims)
      return Error("n_dims " + std::to_string(n_dims) + " out of range 1.." + std::to_string(kMaxDims));
    int64_t numel = 1;
    for (uint32_t d = 0; d < n_dims; ++d) {
      KY_ASSIGN_OR_RETURN(uint64_t ne, cur_.read<uint64_t>("ne[" + std::to_string(d) + "]"));
      if (ne > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()))
        return Error("ne[" + std::to_string(d) + "] = " + std::to_string(ne) + " is too large");
      t.ne.push_back(static_cast<int64_t>(ne));
      if (__builtin_mul_overflow(numel, static_cast<int64_t>(ne), &numel))
        return Error("element count of shape " + ne_string(t.ne) + " overflows");
    }
    KY_ASSIGN_OR_RETURN(uint32_t type_id, cur_.read<uint32_t>("tensor type"));
    std::optional<DTypeTraits> traits = dtype_traits(type_id);
    if (!traits) return Error("unknown tensor type " + std::to_string(type_id));
    t.dtype = static_cast<DType>(type_id);
    if (t.ne[0] % traits->block_elems != 0)
      return Error("ne[0] = " + std::to_string(t.ne[0]) + " is not a multiple of the " + std::string(traits->name) +
                   " block size " + std::to_string(traits->block_elems));
    // Exact size: whole blocks per row times rows (ggml_nbytes for contiguous tensors).
    const uint64_t row = static_cast<uint64_t>(t.ne[0] / traits->block_elems) * traits->block_bytes;
    const uint64_t rows = t.ne[0] == 0 ? 0 : static_cast<uint64_t>(numel / t.ne[0]);
    uint64_t nbytes = 0;
    if (__builtin_mul_overflow(row, rows, &nbytes) || nbytes > std::numeric_limits<size_t>::max())
      return Error("byte size of shape " + ne_string(t.ne) + " overflows");
    t.nbytes = static_cast<size_t>(nbytes);
    KY_ASSIGN_OR_RETURN(t.offset, cur_.read<uint64_t>("data offset"));
    return t;
  }

  // Tensor data starts at the first multiple of the alignment after the tensor infos (gguf.md).
  Status place_tensors() {
    const uint64_t size = cur_.size();
    uint64_t data_offset = 0;
    const uint64_t a = out_.alignment_;
    if (__builtin_add_overflow(static_cast<uint64_t>(cur_.pos()), a - 1, &data_offset))
      return Error("data section offset overflows");
    data_offset &= ~(a - 1);
    out_.data_offset_ = data_offset;
    if (infos_.empty()) return Status::ok();  // vocab-only files may end right after the header
    if (data_offset > size)
      return Error("tensor data section starts at offset " + std::to_string(data_offset) +
                   ", past end of file (size " + std::to_string(size) + ")");

    out_.tensors_.reserve(infos_.size());
    for (TensorInfo& t : infos_) {
      const std::string where = "tensor " + quoted(t.name);
      if (t.offset % a != 0)
        return Error(where + ": offset " + std::to_string(t.offset) + " is not a multiple of the alignment " +
                     std::to_string(a));
      uint64_t begin = 0, end = 0;
      if (__builtin_add_overflow(data_offset, t.offset, &begin) || __builtin_add_overflow(begin, t.nbytes, &end) ||
          end > size)
        return Error(where + ": data [offset " + (begin < data_offset ? "overflow" : std::to_string(begin)) + ", " +
                     std::to_string(t.nbytes) + " bytes] extends past end of file (size " + std::to_string(size) +
                     ")");
      TensorView v;
      v.name = t.name;
      v.dtype = t.dtype;
      v.shape.assign(t.ne.rbegin(), t.ne.rend());  // TensorView is outermost first
      v.data = data_ + begin;
      v.nbytes = t.nbytes;
      out_.tensors_.push_back(std::move(v));
    }
    return check_no_overlap();
  }

  Status check_no_overlap() const {
    // Empty tensors occupy no bytes and cannot overlap anything; leaving them out keeps the
    // neighbour check below exact.
    std::vector<size_t> order;
    for (size_t k = 0; k < infos_.size(); ++k)
      if (infos_[k].nbytes != 0) order.push_back(k);
    std::sort(order.begin(), order.end(), [&](size_t x, size_t y) { return infos_[x].offset < infos_[y].offset; });
    for (size_t k = 1; k < order.size(); ++k) {
      const TensorInfo& prev = infos_[order[k - 1]];
      const TensorInfo& next = infos_[order[k]];
      if (prev.offset + prev.nbytes > next.offset)
        return Error("tensors " + quoted(prev.name) + " " + region(prev) + " and " + quoted(next.name) + " " +
                     region(next) + " overlap");
    }
    return Status::ok();
  }

  std::string region(const TensorInfo& t) const {
    return "[offset " + std::to_string(out_.data_offset_ + t.offset) + ", " + std::to_string(t.nbytes) + " bytes]";
  }

  static std::string ne_string(const std::vector<int64_t>& ne) {
    std::string s = "ne [";
    for (size_t k = 0; k < ne.size(); ++k) s += (k ? ", " : "") + std::to_string(ne[k]);
    return s + "]";
  }

  GgufFile& out_;
  const uint8_t* data_;
  GgufCursor cur_;
  uint64_t n_tensors_ = 0;
  uint64_t n_kv_ = 0;
  std::vector<TensorInfo> infos_;
  std::unordered_set<std::string> seen_names_;
};

Result<std::unique_ptr<GgufFile>> GgufFile::open(const std::string& path) {
  KY_ASSIGN_OR_RETURN(MappedFile mapped, MappedFile::open(path));
  std::unique_ptr<GgufFile> file(new GgufFile());
  file->file_ = std::move(mapped);
  file->label_ = path;
  GgufParser parser(*file, file->file_.data(), file->file_.size());
  KY_RETURN_IF_ERROR(parser.run().with_context(path));
  for (size_t k = 0; k < file->tensors_.size(); ++k) file->tensor_index_.emplace(file->tensors_[k].name, k);
  // Metadata and tensor infos now live in kv_ and tensors_; their pages in the mapping (a large
  // vocabulary's strings are megabytes) are not read again.
  release_pages(file->file_.data(), static_cast<size_t>(file->data_offset_));
  return file;
}

Result<std::unique_ptr<GgufFile>> GgufFile::parse(const uint8_t* bytes, size_t size, std::string label) {
  std::unique_ptr<GgufFile> file(new GgufFile());
  file->label_ = std::move(label);
  GgufParser parser(*file, bytes, size);
  KY_RETURN_IF_ERROR(parser.run().with_context(file->label_));
  for (size_t k = 0; k < file->tensors_.size(); ++k) file->tensor_index_.emplace(file->tensors_[k].name, k);
  return file;
}

const GgufValue* GgufFile::get(std::string_view key) const {
  auto it = kv_index_.find(std::string(key));
  return it == kv_index_.end() ? nullptr : &kv_[it->second].second;
}

Result<int64_t> GgufFile::get_int(std::string_view key) const {
  const GgufValue* v = get(key);
  if (v == nullptr) return Error(label_ + ": " + std::string(key) + ": missing");
  std::optional<int64_t> i = v->as_int();
  if (!i) {
    std::string got = v->is_integer() ? "u64 value too large for int64" : std::string(gguf_type_name(v->type));
    return Error(label_ + ": " + std::string(key) + ": expected an integer, got " + got);
  }
  return *i;
}

Result<double> GgufFile::get_float(std::string_view key) const {
  const GgufValue* v = get(key);
  if (v == nullptr) return Error(label_ + ": " + std::string(key) + ": missing");
  std::optional<double> f = v->as_float();
  if (!f)
    return Error(label_ + ": " + std::string(key) + ": expected a number, got " + std::string(gguf_type_name(v->type)));
  return *f;
}

Result<std::string> GgufFile::get_string(std::string_view key) const {
  const GgufValue* v = get(key);
  if (v == nullptr) return Error(label_ + ": " + std::string(key) + ": missing");
  const std::string* s = v->as_string();
  if (s == nullptr)
    return Error(label_ + ": " + std::string(key) + ": expected a string, got " + std::string(gguf_type_name(v->type)));
  return *s;
}

std::optional<int64_t> GgufFile::get_int_or(std::string_view key) const {
  const GgufValue* v = get(key);
  return v == nullptr ? std::nullopt : v->as_int();
}

void GgufFile::release_mapped_pages() const {
  file_.release_all();
}

void GgufFile::release_mapped_range(const void* p, size_t n) const { file_.release_range(p, n); }

const TensorView* GgufFile::find(std::string_view name) const {
  auto it = tensor_index_.find(std::string(name));
  return it == tensor_index_.end() ? nullptr : &tensors_[it->second];
}

}  // namespace kaiyuan
