// Element types of weights and activations. The numeric values are GGUF's `ggml_type` ids so a
// tensor info read from a file maps onto this enum without a table; block sizes are ggml's.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>

namespace kaiyuan {

enum class DType : uint32_t {
  F32 = 0,
  F16 = 1,
  Q4_0 = 2,
  Q4_1 = 3,
  Q5_0 = 6,
  Q5_1 = 7,
  Q8_0 = 8,
  Q8_1 = 9,
  Q2_K = 10,
  Q3_K = 11,
  Q4_K = 12,
  Q5_K = 13,
  Q6_K = 14,
  Q8_K = 15,
  I8 = 24,
  I16 = 25,
  I32 = 26,
  I64 = 27,
  F64 = 28,
  BF16 = 30,
  // In-memory layouts of our own, never read from files (dtype_traits(uint32_t) rejects them):
  // weights repacked at load for the matmul kernels (kernels/packed_layout.h) and the activation
  // blocks those kernels quantize to.
  Q8_0_R16 = 64,  // Q8_0 rows interleaved 16 at a time
  Q4_K_R16 = 65,  // Q4_K rows interleaved 16 at a time
  Q8_U32 = 66,    // activations: 32 levels + 128 as unsigned bytes, f32 scale
  Q8_S32 = 67,    // activations: 32 signed levels, f32 scale, f32 scale x sum, -32 x two half sums
  Q6_K_R16 = 68,  // Q6_K rows interleaved 16 at a time
  BF16_R16 = 69,  // BF16 rows interleaved 16 at a time, columns in pairs
  Q8_S256 = 70,   // activations: 256 signed levels, bf16 hi/lo of scale x each 32-column sum, f32 scale
};

struct DTypeTraits {
  std::string_view name;   // "q4_K" style, as llama.cpp prints them
  int64_t block_elems;     // elements per block (1 for plain types)
  size_t block_bytes;      // bytes per block
  bool supported;          // the engine can dequantize / compute with it
};

// Traits of a GGUF type id, or nullopt for ids that are unknown or retired (4, 5, 31+...).
std::optional<DTypeTraits> dtype_traits(uint32_t id);
const DTypeTraits& dtype_traits(DType t);  // t must be a known type (file or internal)
// True for the internal layouts above (DType values >= 64).
constexpr bool is_internal_dtype(DType t) { return static_cast<uint32_t>(t) >= 64; }
std::string_view dtype_name(DType t);

// Bytes for `n_elems` elements of a row; nullopt when n_elems is not a whole number of blocks.
std::optional<size_t> row_bytes(DType t, int64_t n_elems);

}  // namespace kaiyuan
