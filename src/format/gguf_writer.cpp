// GgufWriter: validation of what is added, and the byte layout of gguf.md (v3, little-endian).
#include "format/gguf_writer.h"

#include <bit>
#include <cerrno>
#include <cstdio>
#include <cstring>

#include "format/gguf_utf8.h"

namespace kaiyuan {
namespace {

constexpr uint32_t kVersion = 3;
constexpr uint32_t kMaxDims = 4;  // GGML_MAX_DIMS

static_assert(std::endian::native == std::endian::little, "the GGUF writer emits host byte order");

uint64_t align_up(uint64_t x, uint64_t a) { return (x + a - 1) & ~(a - 1); }

struct VectorSink {
  std::vector<uint8_t>& out;
  void put(const void* p, size_t n) {
    const auto* b = static_cast<const uint8_t*>(p);
    out.insert(out.end(), b, b + n);
  }
};

struct FileSink {
  std::FILE* f;
  bool failed = false;
  void put(const void* p, size_t n) {
    if (!failed && n != 0 && std::fwrite(p, 1, n, f) != n) failed = true;
  }
};

template <class Sink, class T>
void put_pod(Sink& s, T v) {
  s.put(&v, sizeof(v));
}

template <class Sink>
void put_string(Sink& s, const std::string& str) {
  put_pod<Sink, uint64_t>(s, str.size());
  s.put(str.data(), str.size());
}

template <class Sink>
void put_zeros(Sink& s, uint64_t n) {
  static const uint8_t kZeros[64] = {};
  while (n > 0) {
    const size_t chunk = n < sizeof(kZeros) ? static_cast<size_t>(n) : sizeof(kZeros);
    s.put(kZeros, chunk);
    n -= chunk;
  }
}

// The payload of a value (no type tag): arrays carry their element type and count, then elements.
template <class Sink>
void put_payload(Sink& s, const GgufValue& v) {
  switch (v.type) {
    case GgufType::U8: put_pod<Sink, uint8_t>(s, static_cast<uint8_t>(v.u)); break;
    case GgufType::U16: put_pod<Sink, uint16_t>(s, static_cast<uint16_t>(v.u)); break;
    case GgufType::U32: put_pod<Sink, uint32_t>(s, static_cast<uint32_t>(v.u)); break;
    case GgufType::U64: put_pod<Sink, uint64_t>(s, v.u); break;
    case GgufType::I8: put_pod<Sink, int8_t>(s, static_cast<int8_t>(v.i)); break;
    case GgufType::I16: put_pod<Sink, int16_t>(s, static_cast<int16_t>(v.i)); break;
    case GgufType::I32: put_pod<Sink, int32_t>(s, static_cast<int32_t>(v.i)); break;
    case GgufType::I64: put_pod<Sink, int64_t>(s, v.i); break;
    case GgufType::F32: put_pod<Sink, float>(s, static_cast<float>(v.f)); break;
    case GgufType::F64: put_pod<Sink, double>(s, v.f); break;
    case GgufType::BOOL: put_pod<Sink, uint8_t>(s, v.u != 0 ? 1 : 0); break;
    case GgufType::STRING: put_string(s, v.str); break;
    case GgufType::ARRAY:
      put_pod<Sink, uint32_t>(s, static_cast<uint32_t>(v.elem_type));
      put_pod<Sink, uint64_t>(s, v.size());
      for (size_t k = 0; k < v.size(); ++k) put_payload(s, v.at(k));
      break;
  }
}

// Checks that a value of type `t` holds a number its encoding can carry unchanged.
Status check_range(const GgufValue& v) {
  auto fits_u = [&](uint64_t max) { return v.u <= max; };
  auto fits_i = [&](int64_t lo, int64_t hi) { return v.i >= lo && v.i <= hi; };
  bool ok = true;
  switch (v.type) {
    case GgufType::U8: ok = fits_u(0xFF); break;
    case GgufType::U16: ok = fits_u(0xFFFF); break;
    case GgufType::U32: ok = fits_u(0xFFFFFFFFu); break;
    case GgufType::I8: ok = fits_i(-128, 127); break;
    case GgufType::I16: ok = fits_i(-32768, 32767); break;
    case GgufType::I32: ok = fits_i(INT32_MIN, INT32_MAX); break;
    case GgufType::BOOL: ok = fits_u(1); break;
    default: break;
  }
  if (!ok) return Error("value out of range for " + std::string(gguf_type_name(v.type)));
  return Status::ok();
}

GgufValue scalar(GgufType t) {
  GgufValue v;
  v.type = t;
  return v;
}
GgufValue unsigned_value(GgufType t, uint64_t x) {
  GgufValue v = scalar(t);
  v.u = x;
  return v;
}
GgufValue signed_value(GgufType t, int64_t x) {
  GgufValue v = scalar(t);
  v.i = x;
  return v;
}
GgufValue float_value(GgufType t, double x) {
  GgufValue v = scalar(t);
  v.f = x;
  return v;
}

}  // namespace

Status GgufWriter::check_key(const std::string& key) const {
  if (key.empty()) return Error("empty metadata key");
  if (!is_valid_utf8(key)) return Error("metadata key is not valid UTF-8");
  for (const auto& [k, v] : kv_)
    if (k == key) return Error("duplicate metadata key '" + key + "'");
  return Status::ok();
}

Status GgufWriter::check_value(const GgufValue& v, int depth) const {
  if (static_cast<uint32_t>(v.type) > static_cast<uint32_t>(GgufType::F64))
    return Error("unknown value type " + std::to_string(static_cast<uint32_t>(v.type)));
  if (v.type != GgufType::ARRAY) return check_range(v);
  if (depth > kGgufMaxArrayDepth)
    return Error("arrays nested too deep (more than " + std::to_string(kGgufMaxArrayDepth) + " levels)");
  // Elements have the array's type by construction (push_back refuses others); check their ranges.
  if (v.elem_type == GgufType::STRING) return Status::ok();  // strings have no range
  for (size_t k = 0; k < v.size(); ++k)
    KY_RETURN_IF_ERROR(check_value(v.at(k), depth + 1).with_context("element " + std::to_string(k)));
  return Status::ok();
}

Status GgufWriter::add(std::string key, GgufValue value) {
  KY_RETURN_IF_ERROR(check_key(key));
  KY_RETURN_IF_ERROR(check_value(value, 1).with_context(key));
  if (key == "general.alignment") {
    std::optional<int64_t> a = value.as_int();
    if (!a || *a <= 0 || (*a & (*a - 1)) != 0)
      return Error("general.alignment must be a nonzero power of two");
    alignment_ = static_cast<uint64_t>(*a);
  }
  kv_.emplace_back(std::move(key), std::move(value));
  return Status::ok();
}

Status GgufWriter::set_alignment(uint32_t alignment) { return add_u32("general.alignment", alignment); }

Status GgufWriter::add_u8(std::string key, uint8_t v) { return add(std::move(key), unsigned_value(GgufType::U8, v)); }
Status GgufWriter::add_u16(std::string key, uint16_t v) { return add(std::move(key), unsigned_value(GgufType::U16, v)); }
Status GgufWriter::add_u32(std::string key, uint32_t v) { return add(std::move(key), unsigned_value(GgufType::U32, v)); }
Status GgufWriter::add_u64(std::string key, uint64_t v) { return add(std::move(key), unsigned_value(GgufType::U64, v)); }
Status GgufWriter::add_i8(std::string key, int8_t v) { return add(std::move(key), signed_value(GgufType::I8, v)); }
Status GgufWriter::add_i16(std::string key, int16_t v) { return add(std::move(key), signed_value(GgufType::I16, v)); }
Status GgufWriter::add_i32(std::string key, int32_t v) { return add(std::move(key), signed_value(GgufType::I32, v)); }
Status GgufWriter::add_i64(std::string key, int64_t v) { return add(std::move(key), signed_value(GgufType::I64, v)); }
Status GgufWriter::add_f32(std::string key, float v) { return add(std::move(key), float_value(GgufType::F32, v)); }
Status GgufWriter::add_f64(std::string key, double v) { return add(std::move(key), float_value(GgufType::F64, v)); }
Status GgufWriter::add_bool(std::string key, bool v) { return add(std::move(key), unsigned_value(GgufType::BOOL, v)); }

Status GgufWriter::add_string(std::string key, std::string v) {
  GgufValue x = scalar(GgufType::STRING);
  x.str = std::move(v);
  return add(std::move(key), std::move(x));
}

Status GgufWriter::add_string_array(std::string key, const std::vector<std::string>& v) {
  GgufValue x = scalar(GgufType::ARRAY);
  x.elem_type = GgufType::STRING;
  x.reserve(v.size());
  for (const std::string& s : v) {
    GgufValue e = scalar(GgufType::STRING);
    e.str = s;
    x.push_back(std::move(e));
  }
  return add(std::move(key), std::move(x));
}

Status GgufWriter::add_i32_array(std::string key, const std::vector<int32_t>& v) {
  GgufValue x = scalar(GgufType::ARRAY);
  x.elem_type = GgufType::I32;
  x.reserve(v.size());
  for (int32_t e : v) x.push_back(signed_value(GgufType::I32, e));
  return add(std::move(key), std::move(x));
}

Status GgufWriter::add_f32_array(std::string key, const std::vector<float>& v) {
  GgufValue x = scalar(GgufType::ARRAY);
  x.elem_type = GgufType::F32;
  x.reserve(v.size());
  for (float e : v) x.push_back(float_value(GgufType::F32, e));
  return add(std::move(key), std::move(x));
}

Status GgufWriter::add_tensor(std::string name, DType dtype, std::vector<int64_t> shape,
                              std::span<const uint8_t> bytes) {
  const std::string where = "tensor '" + name + "'";
  if (name.empty()) return Error("empty tensor name");
  if (!is_valid_utf8(name)) return Error("tensor name is not valid UTF-8");
  for (const Tensor& t : tensors_)
    if (t.name == name) return Error("duplicate tensor name '" + name + "'");
  if (!dtype_traits(static_cast<uint32_t>(dtype))) return Error(where + ": unknown dtype");
  if (shape.empty() || shape.size() > kMaxDims)
    return Error(where + ": " + std::to_string(shape.size()) + " dimensions (must be 1..4)");
  int64_t numel = 1;
  for (int64_t d : shape)
    if (d < 0 || __builtin_mul_overflow(numel, d, &numel)) return Error(where + ": bad shape " + shape_string(shape));
  std::optional<size_t> row = row_bytes(dtype, shape.back());
  if (!row)
    return Error(where + ": innermost dimension " + std::to_string(shape.back()) + " is not a multiple of the " +
                 std::string(dtype_name(dtype)) + " block size");
  const uint64_t rows = shape.back() == 0 ? 0 : static_cast<uint64_t>(numel / shape.back());
  uint64_t nbytes = 0;
  if (__builtin_mul_overflow(static_cast<uint64_t>(*row), rows, &nbytes) || nbytes != bytes.size())
    return Error(where + ": " + std::to_string(bytes.size()) + " bytes given, shape " + shape_string(shape) + " of " +
                 std::string(dtype_name(dtype)) + " needs " + std::to_string(nbytes));
  tensors_.push_back(Tensor{std::move(name), dtype, std::move(shape), bytes});
  return Status::ok();
}

Status GgufWriter::add_tensor_copy(std::string name, DType dtype, std::vector<int64_t> shape,
                                   std::vector<uint8_t> bytes) {
  owned_.push_back(std::move(bytes));  // moving a vector keeps its buffer, so the span stays valid
  Status s = add_tensor(std::move(name), dtype, std::move(shape), owned_.back());
  if (!s) owned_.pop_back();
  return s;
}

// Header, metadata, tensor infos (ne innermost first), padding, then each tensor's bytes padded
// to the alignment, as ggml's gguf_write_to_buf does.
template <class Sink>
void GgufWriter::emit(Sink& s) const {
  s.put("GGUF", 4);
  put_pod<Sink, uint32_t>(s, kVersion);
  put_pod<Sink, uint64_t>(s, tensors_.size());
  put_pod<Sink, uint64_t>(s, kv_.size());
  uint64_t pos = 4 + 4 + 8 + 8;
  struct Counter {
    uint64_t& n;
    void put(const void*, size_t k) { n += k; }
  };
  Counter counter{pos};
  for (const auto& [key, value] : kv_) {
    put_string(s, key);
    put_pod<Sink, uint32_t>(s, static_cast<uint32_t>(value.type));
    put_payload(s, value);
    put_string(counter, key);
    put_pod<Counter, uint32_t>(counter, 0);
    put_payload(counter, value);
  }
  uint64_t offset = 0;
  for (const Tensor& t : tensors_) {
    put_string(s, t.name);
    put_pod<Sink, uint32_t>(s, static_cast<uint32_t>(t.shape.size()));
    for (auto it = t.shape.rbegin(); it != t.shape.rend(); ++it) put_pod<Sink, uint64_t>(s, static_cast<uint64_t>(*it));
    put_pod<Sink, uint32_t>(s, static_cast<uint32_t>(t.dtype));
    put_pod<Sink, uint64_t>(s, offset);
    pos += 8 + t.name.size() + 4 + 8 * t.shape.size() + 4 + 8;
    offset += align_up(t.bytes.size(), alignment_);
  }
  put_zeros(s, align_up(pos, alignment_) - pos);
  for (const Tensor& t : tensors_) {
    s.put(t.bytes.data(), t.bytes.size());
    put_zeros(s, align_up(t.bytes.size(), alignment_) - t.bytes.size());
  }
}

std::vector<uint8_t> GgufWriter::serialize() const {
  std::vector<uint8_t> out;
  VectorSink sink{out};
  emit(sink);
  return out;
}

Status GgufWriter::write(const std::string& path) const {
  std::FILE* f = std::fopen(path.c_str(), "wb");
  if (f == nullptr) return Error(path + ": cannot create: " + std::strerror(errno));
  FileSink sink{f};
  emit(sink);
  const bool close_failed = std::fclose(f) != 0;
  if (sink.failed || close_failed) {
    std::remove(path.c_str());
    return Error(path + ": write failed (disk full?)");
  }
  return Status::ok();
}

}  // namespace kaiyuan
