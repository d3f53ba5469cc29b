// GGUF reader over mmap (v2 and v3). Layout, little-endian:
//   magic "GGUF" | u32 version | u64 n_tensors | u64 n_kv
//   n_kv x { string key | u32 value_type | value }          (string = u64 length + bytes)
//   n_tensors x { string name | u32 n_dims | u64 ne[n_dims] (innermost first) | u32 ggml_type | u64 offset }
//   padding to general.alignment (default 32) | tensor data (offsets relative to this point)
// Every count, length, offset and size is validated against the file: a hostile file yields an
// error naming the problem, never a crash or an allocation larger than the file implies.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "core/mapped_file.h"
#include "core/status.h"
#include "format/weight_source.h"

namespace kaiyuan {

enum class GgufType : uint32_t {
  U8 = 0, I8 = 1, U16 = 2, I16 = 3, U32 = 4, I32 = 5, F32 = 6, BOOL = 7,
  STRING = 8, ARRAY = 9, U64 = 10, I64 = 11, F64 = 12,
};

// "u32", "string", "array"...; "unknown" for ids outside the enum.
std::string_view gguf_type_name(GgufType t);
// Arrays nest at most this deep (an array of arrays is depth 2); deeper files are rejected.
inline constexpr int kGgufMaxArrayDepth = 8;

// One metadata value. Arrays may nest (array of arrays); `elem_type` is the declared element type.
// Array elements are held compactly, not as one GgufValue each: a 151,936-token vocabulary with
// its merges and types took 38 MiB as values and takes about 5 MiB this way. Read them with
// size() and the *_at accessors; add them with push_back.
struct GgufValue {
  GgufType type = GgufType::U8;
  GgufType elem_type = GgufType::U8;  // arrays only
  uint64_t u = 0;                      // unsigned integers and bool
  int64_t i = 0;                       // signed integers
  double f = 0;                        // F32 / F64
  std::string str;                     // STRING

  bool is_integer() const;
  // Numeric conversions accept any integer type that fits (bool counts as 0/1 only for as_bool).
  std::optional<int64_t> as_int() const;
  std::optional<double> as_float() const;  // floats and integers
  std::optional<bool> as_bool() const;
  const std::string* as_string() const;

  // Arrays: the element count (0 for a value that is not an array).
  size_t size() const;
  // Element k (k < size()) as a value of elem_type; copies a string or a nested array.
  GgufValue at(size_t k) const;
  // Element k converted as as_int/as_float/as_string would; nullopt when the type does not fit.
  std::optional<int64_t> int_at(size_t k) const;
  std::optional<double> float_at(size_t k) const;
  std::optional<std::string_view> string_at(size_t k) const;  // views into this value
  const GgufValue* array_at(size_t k) const;                  // nested arrays, else nullptr
  // Appends an element to an array; false (and nothing appended) unless e.type == elem_type.
  bool push_back(GgufValue e);
  void reserve(size_t n);

 private:
  // Numbers: each element's u, i, or f bits. Strings: each element's end offset in chars_.
  std::vector<uint64_t> items_;
  std::string chars_;               // string elements, one after another
  std::vector<GgufValue> nested_;   // arrays of arrays
};

class GgufFile final : public WeightSource {
 public:
  static Result<std::unique_ptr<GgufFile>> open(const std::string& path);
  // Parses an in-memory image (for tests and fuzzing); `bytes` must outlive the object.
  static Result<std::unique_ptr<GgufFile>> parse(const uint8_t* bytes, size_t size, std::string label);

  uint32_t version() const { return version_; }
  uint64_t alignment() const { return alignment_; }
  uint64_t data_offset() const { return data_offset_; }  // start of the tensor data section
  const std::string& path() const { return label_; }

  // Metadata in file order; `get` returns nullptr when the key is absent.
  const std::vector<std::pair<std::string, GgufValue>>& metadata() const { return kv_; }
  const GgufValue* get(std::string_view key) const;
  // Typed lookups with messages naming the key: "llama.block_count: expected an integer, got string".
  Result<int64_t> get_int(std::string_view key) const;
  Result<double> get_float(std::string_view key) const;
  Result<std::string> get_string(std::string_view key) const;
  std::optional<int64_t> get_int_or(std::string_view key) const;  // nullopt if absent or wrong type

  // WeightSource: names as written in the file ("blk.0.attn_q.weight").
  const TensorView* find(std::string_view name) const override;
  const std::vector<TensorView>& tensors() const override { return tensors_; }
  std::string format_name() const override { return "gguf v" + std::to_string(version_); }
  void release_mapped_pages() const override;
  void release_mapped_range(const void* p, size_t n) const override;

 private:
  GgufFile() = default;
  MappedFile file_;
  std::string label_;
  uint32_t version_ = 0;
  uint64_t alignment_ = 32;
  uint64_t data_offset_ = 0;
  std::vector<std::pair<std::string, GgufValue>> kv_;
  std::unordered_map<std::string, size_t> kv_index_;
  std::vector<TensorView> tensors_;
  std::unordered_map<std::string, size_t> tensor_index_;
  friend class GgufParser;
};

}  // namespace kaiyuan
