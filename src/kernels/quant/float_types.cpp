// F32 / F16 / BF16 rows <-> float: the plain types' rows of the QuantTraits table.
#include <cstring>

#include "core/half.h"
#include "kernels/quant/block_codecs.h"

namespace kaiyuan::quant::detail {

void f32_to_float(const uint8_t* src, float* dst, int64_t n) {
  std::memcpy(dst, src, static_cast<size_t>(n) * sizeof(float));
}

void f32_from_float(const float* src, uint8_t* dst, int64_t n) {
  std::memcpy(dst, src, static_cast<size_t>(n) * sizeof(float));
}

void f16_to_float(const uint8_t* src, float* dst, int64_t n) {
  for (int64_t i = 0; i < n; ++i) dst[i] = f16_to_f32(load_block<uint16_t>(src, i));
}

void f16_from_float(const float* src, uint8_t* dst, int64_t n) {
  for (int64_t i = 0; i < n; ++i) store_block<uint16_t>(dst, i, f32_to_f16(src[i]));
}

void bf16_to_float(const uint8_t* src, float* dst, int64_t n) {
  for (int64_t i = 0; i < n; ++i) dst[i] = bf16_to_f32(load_block<uint16_t>(src, i));
}

void bf16_from_float(const float* src, uint8_t* dst, int64_t n) {
  for (int64_t i = 0; i < n; ++i) store_block<uint16_t>(dst, i, f32_to_bf16(src[i]));
}

}  // namespace kaiyuan::quant::detail
