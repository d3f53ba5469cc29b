// Q4_K: 256-element super-blocks of eight 32-element sub-blocks, 4-bit levels, 6-bit scales and mins
// under fp16 super-scales: x = d*sc*q - dmin*m (ggml-quants.c quantize_row_q4_K_ref, dequantize_row_q4_K).
#include <cstring>

#include "core/half.h"
#include "kernels/quant/block_codecs.h"
#include "kernels/quant/k_quant_search.h"
#include "kernels/quant/quant.h"

namespace kaiyuan::quant::detail {

void dequantize_q4_k(const uint8_t* src, float* dst, int64_t n_blocks) {
  for (int64_t i = 0; i < n_blocks; ++i) {
    const auto b = load_block<BlockQ4_K>(src, i);
    const float d = f16_to_f32(b.d);
    const float min = f16_to_f32(b.dmin);
    // Each 32 bytes of qs hold two sub-blocks: low nibbles the first, high nibbles the second.
    const uint8_t* q = b.qs;
    for (int is = 0; is < 8; is += 2, q += 32) {
      uint8_t sc, m;
      get_scale_min_k4(is + 0, b.scales, &sc, &m);
      const float d1 = d * sc;
      const float m1 = min * m;
      get_scale_min_k4(is + 1, b.scales, &sc, &m);
      const float d2 = d * sc;
      const float m2 = min * m;
      for (int l = 0; l < 32; ++l) *dst++ = d1 * (q[l] & 0xF) - m1;
      for (int l = 0; l < 32; ++l) *dst++ = d2 * (q[l] >> 4) - m2;
    }
  }
}

void quantize_q4_k(const float* src, uint8_t* dst, int64_t n_blocks) {
  constexpr int kNmax = 15;
  for (int64_t i = 0; i < n_blocks; ++i, src += kQK_K) {
    uint8_t L[kQK_K];
    // ggml's search parameters for Q4_K: rmin -1, rdelta 0.1, 20 steps
    const KQuantHeader h = quantize_k_header(src, kNmax, -1.f, 0.1f, 20, L);
    requantize_k_levels(src, h, kNmax, L);
    BlockQ4_K b;
    b.d = h.d;
    b.dmin = h.dmin;
    std::memcpy(b.scales, h.scales, sizeof(b.scales));
    uint8_t* q = b.qs;
    for (int j = 0; j < kQK_K; j += 64, q += 32) {
      for (int l = 0; l < 32; ++l) q[l] = static_cast<uint8_t>(L[j + l] | (L[j + l + 32] << 4));
    }
    store_block(dst, i, b);
  }
}

}  // namespace kaiyuan::quant::detail
