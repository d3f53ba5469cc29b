// GgufWriter: builds a GGUF v3 file (metadata of every value type, tensors with alignment padding)
// in the layout gguf.h documents. Used by `kaiyuan quantize` and by tests that build files.
// It refuses to write what the reader would reject (duplicate keys or names, non-UTF-8 keys,
// sizes that do not match the dtype's block layout).
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "core/dtype.h"
#include "core/status.h"
#include "format/gguf.h"

namespace kaiyuan {

class GgufWriter {
 public:
  GgufWriter() = default;

  // Sets general.alignment (a u32 key, written only when called); a nonzero power of two.
  Status set_alignment(uint32_t alignment);
  uint64_t alignment() const { return alignment_; }

  // Any value, arrays included (elements must all have the array's elem_type; arrays may nest).
  Status add(std::string key, GgufValue value);
  Status add_u8(std::string key, uint8_t v);
  Status add_i8(std::string key, int8_t v);
  Status add_u16(std::string key, uint16_t v);
  Status add_i16(std::string key, int16_t v);
  Status add_u32(std::string key, uint32_t v);
  Status add_i32(std::string key, int32_t v);
  Status add_u64(std::string key, uint64_t v);
  Status add_i64(std::string key, int64_t v);
  Status add_f32(std::string key, float v);
  Status add_f64(std::string key, double v);
  Status add_bool(std::string key, bool v);
  Status add_string(std::string key, std::string v);
  Status add_string_array(std::string key, const std::vector<std::string>& v);
  Status add_i32_array(std::string key, const std::vector<int32_t>& v);
  Status add_f32_array(std::string key, const std::vector<float>& v);

  // `shape` is outermost first (as TensorView); `bytes` must be exactly the dtype's size for it and
  // must stay valid until write()/serialize() (the writer does not copy weights).
  Status add_tensor(std::string name, DType dtype, std::vector<int64_t> shape, std::span<const uint8_t> bytes);
  // Same, but the writer keeps its own copy of the bytes.
  Status add_tensor_copy(std::string name, DType dtype, std::vector<int64_t> shape, std::vector<uint8_t> bytes);

  std::vector<uint8_t> serialize() const;  // the whole file in memory (tests, small files)
  Status write(const std::string& path) const;  // streamed to disk; removes the file on failure

 private:
  struct Tensor {
    std::string name;
    DType dtype;
    std::vector<int64_t> shape;  // outermost first
    std::span<const uint8_t> bytes;
  };
  Status check_key(const std::string& key) const;
  Status check_value(const GgufValue& v, int depth) const;
  template <class Sink>
  void emit(Sink& sink) const;

  uint64_t alignment_ = 32;  // GGUF_DEFAULT_ALIGNMENT
  std::vector<std::pair<std::string, GgufValue>> kv_;
  std::vector<Tensor> tensors_;
  std::vector<std::vector<uint8_t>> owned_;  // backing store for add_tensor_copy
};

}  // namespace kaiyuan
