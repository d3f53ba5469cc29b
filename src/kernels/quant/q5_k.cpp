// Q5_K: Q4_K's super-block with a fifth bit per level in qh: x = d*sc*q - dmin*m, q in [0, 31]
// (ggml-quants.c quantize_row_q5_K_ref, dequantize_row_q5_K).
#include <cstring>

#include "core/half.h"
#include "kernels/quant/block_codecs.h"
#include "kernels/quant/k_quant_search.h"
#include "kernels/quant/quant.h"

namespace kaiyuan::quant::detail {

void dequantize_q5_k(const uint8_t* src, float* dst, int64_t n_blocks) {
  for (int64_t i = 0; i < n_blocks; ++i) {
    const auto b = load_block<BlockQ5_K>(src, i);
    const float d = f16_to_f32(b.d);
    const float min = f16_to_f32(b.dmin);
    const uint8_t* ql = b.qs;
    // Sub-block pair p takes its high bits from bits 2p (first) and 2p+1 (second) of qh[l].
    uint8_t u1 = 1, u2 = 2;
    for (int is = 0; is < 8; is += 2, ql += 32) {
      uint8_t sc, m;
      get_scale_min_k4(is + 0, b.scales, &sc, &m);
      const float d1 = d * sc;
      const float m1 = min * m;
      get_scale_min_k4(is + 1, b.scales, &sc, &m);
      const float d2 = d * sc;
      const float m2 = min * m;
      for (int l = 0; l < 32; ++l) *dst++ = d1 * ((ql[l] & 0xF) + (b.qh[l] & u1 ? 16 : 0)) - m1;
      for (int l = 0; l < 32; ++l) *dst++ = d2 * ((ql[l] >> 4) + (b.qh[l] & u2 ? 16 : 0)) - m2;
      u1 = static_cast<uint8_t>(u1 << 2);
      u2 = static_cast<uint8_t>(u2 << 2);
    }
  }
}

void quantize_q5_k(const float* src, uint8_t* dst, int64_t n_blocks) {
  constexpr int kNmax = 31;
  for (int64_t i = 0; i < n_blocks; ++i, src += kQK_K) {
    uint8_t L[kQK_K];
    // ggml's search parameters for Q5_K: rmin -0.5, rdelta 0.1, 15 steps
    const KQuantHeader h = quantize_k_header(src, kNmax, -0.5f, 0.1f, 15, L);
    requantize_k_levels(src, h, kNmax, L);
    BlockQ5_K b;
    b.d = h.d;
    b.dmin = h.dmin;
    std::memcpy(b.scales, h.scales, sizeof(b.scales));
    std::memset(b.qh, 0, sizeof(b.qh));
    uint8_t* ql = b.qs;
    uint8_t m1 = 1, m2 = 2;
    for (int n = 0; n < kQK_K; n += 64, ql += 32) {
      for (int j = 0; j < 32; ++j) {
        int l1 = L[n + j];
        if (l1 > 15) {
          l1 -= 16;
          b.qh[j] |= m1;
        }
        int l2 = L[n + j + 32];
        if (l2 > 15) {
          l2 -= 16;
          b.qh[j] |= m2;
        }
        ql[j] = static_cast<uint8_t>(l1 | (l2 << 4));
      }
      m1 = static_cast<uint8_t>(m1 << 2);
      m2 = static_cast<uint8_t>(m2 << 2);
    }
    store_block(dst, i, b);
  }
}

}  // namespace kaiyuan::quant::detail
