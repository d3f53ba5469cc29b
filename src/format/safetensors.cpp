// SafetensorsFile: parses and validates one .safetensors file (untrusted input) into TensorViews
// over its bytes. Format (huggingface/safetensors docs): u64 LE header length N | N bytes of JSON
// {name: {dtype, shape, data_offsets: [begin, end]}, "__metadata__": {str: str}} | data section;
// offsets are relative to the start of the data section.
#include <algorithm>
#include <cstring>
#include <optional>

#include "format/hf_folder.h"
#include "format/hf_json.h"

namespace kaiyuan {
namespace {

// The safetensors library's own limit on the header (MAX_HEADER_SIZE = 100_000_000).
constexpr uint64_t kMaxHeaderBytes = 100'000'000;
// A header nests at most {name: {shape: [...]}}; anything deeper is not a safetensors header.
constexpr int kMaxHeaderDepth = 4;

std::optional<DType> parse_dtype(const std::string& s) {
  if (s == "F32") return DType::F32;
  if (s == "F16") return DType::F16;
  if (s == "BF16") return DType::BF16;
  return std::nullopt;
}

std::string offsets_string(uint64_t begin, uint64_t end) {
  // Built with += : GCC 12 at -O3 flags `"[" + std::to_string(...)` with a false -Wrestrict.
  std::string s = "[";
  s += std::to_string(begin);
  s += ", ";
  s += std::to_string(end);
  s += "]";
  return s;
}

struct Placed {
  size_t index;  // into the tensor list
  uint64_t begin, end;
};

Status check_metadata(const nlohmann::json& meta) {
  if (!meta.is_object()) return Error("__metadata__ must be an object of strings");
  for (const auto& [key, value] : meta.items())
    if (!value.is_string()) return Error("__metadata__ entry '" + key + "' is not a string");
  return Status::ok();
}

// Validates one header entry and appends its view; `data`/`data_size` is the data section.
Status parse_entry(const std::string& name, const nlohmann::json& entry, const uint8_t* data,
                   uint64_t data_size, std::vector<TensorView>& out, std::vector<Placed>& placed) {
  const std::string where = "tensor '" + name + "'";
  if (!entry.is_object()) return Error(where + ": entry is not an object");

  auto dtype_it = entry.find("dtype");
  if (dtype_it == entry.end() || !dtype_it->is_string()) return Error(where + ": missing or non-string dtype");
  const std::string dtype_text = dtype_it->get<std::string>();
  std::optional<DType> dtype = parse_dtype(dtype_text);
  if (!dtype) return Error(where + ": unsupported dtype " + dtype_text + " (supported: F32, F16, BF16)");

  auto shape_it = entry.find("shape");
  if (shape_it == entry.end() || !shape_it->is_array())
    return Error(where + ": missing shape (expected an array of non-negative integers)");
  std::vector<int64_t> shape;
  uint64_t numel = 1;
  bool overflow = false;
  for (const nlohmann::json& dim : *shape_it) {
    // nlohmann stores non-negative integers as number_unsigned; negatives and floats fail here.
    if (!dim.is_number_unsigned()) return Error(where + ": shape " + shape_it->dump() + " must hold non-negative integers");
    const uint64_t d = dim.get<uint64_t>();
    if (d > static_cast<uint64_t>(INT64_MAX)) overflow = true;
    overflow = overflow || __builtin_mul_overflow(numel, d, &numel);
    shape.push_back(static_cast<int64_t>(d));
  }
  const uint64_t elem_bytes = dtype_traits(*dtype).block_bytes;
  uint64_t needed = 0;
  overflow = overflow || numel > static_cast<uint64_t>(INT64_MAX) || __builtin_mul_overflow(numel, elem_bytes, &needed);
  if (overflow) return Error(where + ": shape " + shape_it->dump() + " is too large");

  auto offsets_it = entry.find("data_offsets");
  if (offsets_it == entry.end() || !offsets_it->is_array() || offsets_it->size() != 2 ||
      !(*offsets_it)[0].is_number_unsigned() || !(*offsets_it)[1].is_number_unsigned())
    return Error(where + ": missing data_offsets (expected [begin, end], non-negative integers)");
  const uint64_t begin = (*offsets_it)[0].get<uint64_t>();
  const uint64_t end = (*offsets_it)[1].get<uint64_t>();
  const std::string offsets = offsets_string(begin, end);
  if (begin > end) return Error(where + ": data_offsets " + offsets + " begin after they end");
  if (end > data_size)
    return Error(where + ": data_offsets " + offsets + " exceed the data section (" + std::to_string(data_size) + " bytes)");
  if (end - begin != needed)
    return Error(where + ": data_offsets " + offsets + " hold " + std::to_string(end - begin) + " bytes but " +
                 dtype_text + " " + shape_string(shape) + " needs " + std::to_string(needed));

  TensorView view;
  view.name = name;
  view.dtype = *dtype;
  view.shape = std::move(shape);
  view.data = data + begin;
  view.nbytes = static_cast<size_t>(needed);
  placed.push_back({out.size(), begin, end});
  out.push_back(std::move(view));
  return Status::ok();
}

// Two tensors sharing bytes would alias silently (a writer bug or a crafted file): reject.
Status check_no_overlap(std::vector<Placed> placed, const std::vector<TensorView>& tensors) {
  // Empty tensors own no bytes and cannot overlap anything.
  std::erase_if(placed, [](const Placed& p) { return p.begin == p.end; });
  std::sort(placed.begin(), placed.end(), [](const Placed& a, const Placed& b) { return a.begin < b.begin; });
  size_t furthest = 0;  // the tensor reaching furthest among those starting earlier
  for (size_t i = 1; i < placed.size(); ++i) {
    const Placed& prev = placed[furthest];
    const Placed& cur = placed[i];
    if (cur.begin < prev.end)
      return Error("tensors '" + tensors[prev.index].name + "' " + offsets_string(prev.begin, prev.end) + " and '" +
                   tensors[cur.index].name + "' " + offsets_string(cur.begin, cur.end) + " overlap");
    if (cur.end > prev.end) furthest = i;
  }
  return Status::ok();
}

}  // namespace

Result<SafetensorsFile> SafetensorsFile::parse(const uint8_t* bytes, size_t size, std::string label) {
  if (size < 8) return Error(label + ": too small for a safetensors header (" + std::to_string(size) + " bytes)");
  uint64_t header_len = 0;
  for (int i = 7; i >= 0; --i) header_len = (header_len << 8) | bytes[i];  // little-endian u64
  if (header_len > kMaxHeaderBytes)
    return Error(label + ": header length " + std::to_string(header_len) + " exceeds the 100 MB limit");
  if (header_len > size - 8)
    return Error(label + ": header length " + std::to_string(header_len) + " runs past the end of the file (" +
                 std::to_string(size) + " bytes)");

  const std::string_view header_text(reinterpret_cast<const char*>(bytes + 8), header_len);
  KY_ASSIGN_OR_RETURN(nlohmann::json header, parse_json_text(header_text, label + ": header", kMaxHeaderDepth));
  if (!header.is_object()) return Error(label + ": header is not a JSON object (got " + header.type_name() + ")");

  const uint8_t* data = bytes + 8 + header_len;
  const uint64_t data_size = size - 8 - header_len;
  SafetensorsFile file;
  std::vector<Placed> placed;
  for (const auto& [name, entry] : header.items()) {
    if (name == "__metadata__") {
      KY_RETURN_IF_ERROR(check_metadata(entry).with_context(label));
      for (const auto& [key, value] : entry.items()) file.metadata_[key] = value.get<std::string>();
      continue;
    }
    KY_RETURN_IF_ERROR(parse_entry(name, entry, data, data_size, file.tensors_, placed).with_context(label));
  }
  KY_RETURN_IF_ERROR(check_no_overlap(std::move(placed), file.tensors_).with_context(label));
  return file;
}

void SafetensorsFile::release_mapped_pages() const {
  if (file_ != nullptr) file_->release_all();
}

void SafetensorsFile::release_mapped_range(const void* p, size_t n) const {
  if (file_ != nullptr) file_->release_range(p, n);
}

Result<SafetensorsFile> SafetensorsFile::open(const std::string& path) {
  KY_ASSIGN_OR_RETURN(MappedFile mapped, MappedFile::open(path));
  // The views point into the mapping; moving it into the shared_ptr keeps the address.
  auto shared = std::make_shared<MappedFile>(std::move(mapped));
  KY_ASSIGN_OR_RETURN(SafetensorsFile file, parse(shared->data(), shared->size(), path));
  file.file_ = std::move(shared);
  return file;
}

const TensorView* SafetensorsFile::find(std::string_view name) const {
  // tensors_ is in name order: nlohmann::json objects iterate their keys sorted.
  auto it = std::lower_bound(tensors_.begin(), tensors_.end(), name,
                             [](const TensorView& t, std::string_view n) { return t.name < n; });
  return it != tensors_.end() && it->name == name ? &*it : nullptr;
}

}  // namespace kaiyuan
