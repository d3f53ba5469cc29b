// Q8_K: 256 int8 levels under one f32 scale plus per-16 sums, the activation format of ggml's K-quant
// dot products (ggml-quants.c quantize_row_q8_K_ref, dequantize_row_q8_K).
#include <algorithm>
#include <cmath>
#include <cstring>

#include "kernels/quant/block_codecs.h"
#include "kernels/quant/k_quant_search.h"
#include "kernels/quant/quant.h"

namespace kaiyuan::quant::detail {

void dequantize_q8_k(const uint8_t* src, float* dst, int64_t n_blocks) {
  for (int64_t i = 0; i < n_blocks; ++i, dst += kQK_K) {
    const auto b = load_block<BlockQ8_K>(src, i);
    for (int j = 0; j < kQK_K; ++j) dst[j] = b.d * b.qs[j];
  }
}

void quantize_q8_k(const float* src, uint8_t* dst, int64_t n_blocks) {
  for (int64_t i = 0; i < n_blocks; ++i, src += kQK_K) {
    BlockQ8_K b;
    std::memset(&b, 0, sizeof(b));  // ggml leaves bsums unset for an all-zero block; we zero them
    float max = 0;
    float amax = 0;
    for (int j = 0; j < kQK_K; ++j) {
      const float ax = std::fabs(src[j]);
      if (ax > amax) {
        amax = ax;
        max = src[j];
      }
    }
    if (amax == 0.0f) {
      store_block(dst, i, b);
      continue;
    }
    // -127 rather than -128 keeps levels symmetric (ggml: "needed for IQ2_XXS" AVX code)
    const float iscale = -127.f / max;
    for (int j = 0; j < kQK_K; ++j) b.qs[j] = static_cast<int8_t>(std::min(127, nearest_int(iscale * src[j])));
    for (int j = 0; j < kQK_K / 16; ++j) {
      int sum = 0;
      for (int ii = 0; ii < 16; ++ii) sum += b.qs[j * 16 + ii];
      b.bsums[j] = static_cast<int16_t>(sum);
    }
    b.d = 1 / iscale;
    store_block(dst, i, b);
  }
}

}  // namespace kaiyuan::quant::detail
