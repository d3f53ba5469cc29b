// AVX-512 (F, BW, VL, DQ, VNNI) kernels: Q8_0 dot products on vpdpbusd, 512-bit FMA tiles for
// F32/F16/BF16 weights. Types without an AVX-512 kernel here keep their AVX2 entry (the table starts
// as a copy of x86_avx2.cpp's).
#include <immintrin.h>

#include <cstring>

#include "kernels/kernel_table.h"
#include "kernels/quant/quant.h"
#include "kernels/x86_tiles.h"

namespace kaiyuan::kernels {
namespace {

using quant::kQK;

inline float load_f16(const uint8_t* p) {
  uint16_t h;
  std::memcpy(&h, p, sizeof(h));
  return _cvtsh_ss(h);
}

inline __m512i load_2x256(const uint8_t* lo, const uint8_t* hi) {
  const __m256i a = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(lo));
  const __m256i b = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(hi));
  return _mm512_inserti64x4(_mm512_castsi256_si512(a), b, 1);
}

inline __m512 set_2x8(float lo, float hi) {
  return _mm512_insertf32x8(_mm512_set1_ps(lo), _mm256_set1_ps(hi), 1);
}

// ---- Q8_0 weights x Q8_0 activations ------------------------------------------------------------

// vpdpbusd multiplies unsigned by signed bytes. Activations (levels -127..127) are offset by 128 to
// make them unsigned once per token, and the offset's contribution, 128 * sum(w), is taken off by
// starting each accumulation at -128 * sum(w) (computed once per weight block pair).
struct Q8_0Kernel {
  template <int R, int T>
  static void tile(const TileArgs& a) {
    constexpr size_t kB = sizeof(quant::BlockQ8_0);
    const __m512i offset = _mm512_set1_epi8(static_cast<char>(0x80));
    __m512 acc[R][T];
    for (auto& row : acc)
      for (auto& v : row) v = _mm512_setzero_ps();
    const int64_t nb = a.n_in / kQK;
    for (int64_t b = 0; b < nb; b += 2) {
      const bool pair = b + 1 < nb;  // an odd last block runs with a zero upper half
      __m512i wq[R], corr[R];
      __m512 dw[R];
      for (int r = 0; r < R; ++r) {
        const uint8_t* blk = a.w + r * a.w_stride + b * kB;
        if (pair) {
          wq[r] = load_2x256(blk + 2, blk + kB + 2);
          dw[r] = set_2x8(load_f16(blk), load_f16(blk + kB));
        } else {
          wq[r] = _mm512_zextsi256_si512(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(blk + 2)));
          dw[r] = set_2x8(load_f16(blk), 0.0f);
        }
        corr[r] = _mm512_sub_epi32(_mm512_setzero_si512(), _mm512_dpbusd_epi32(_mm512_setzero_si512(), offset, wq[r]));
      }
      for (int t = 0; t < T; ++t) {
        const uint8_t* xb = a.act + t * a.act_stride + b * kB;
        __m512i xq;
        __m512 dx;
        if (pair) {
          xq = load_2x256(xb + 2, xb + kB + 2);
          dx = set_2x8(load_f16(xb), load_f16(xb + kB));
        } else {
          xq = _mm512_zextsi256_si512(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(xb + 2)));
          dx = set_2x8(load_f16(xb), 0.0f);
        }
        const __m512i xu = _mm512_xor_si512(xq, offset);  // x + 128 as unsigned bytes
        for (int r = 0; r < R; ++r) {
          const __m512i dp = _mm512_dpbusd_epi32(corr[r], xu, wq[r]);
          acc[r][t] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(dp), _mm512_mul_ps(dw[r], dx), acc[r][t]);
        }
      }
    }
    for (int t = 0; t < T; ++t)
      for (int r = 0; r < R; ++r) a.y[t * a.ldy + r] = _mm512_reduce_add_ps(acc[r][t]);
  }
};

// ---- F32 / F16 / BF16 weights x f32 activations -------------------------------------------------

struct LoadF32 {
  static constexpr size_t kBytes = 4;
  static __m512 load16(const uint8_t* p) { return _mm512_loadu_ps(p); }
  static __m512 load_tail(const uint8_t* p, __mmask16 m) { return _mm512_maskz_loadu_ps(m, p); }
};
struct LoadF16 {
  static constexpr size_t kBytes = 2;
  static __m512 load16(const uint8_t* p) { return _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(p))); }
  static __m512 load_tail(const uint8_t* p, __mmask16 m) { return _mm512_cvtph_ps(_mm256_maskz_loadu_epi16(m, p)); }
};
struct LoadBF16 {  // bf16 is the top half of an f32
  static constexpr size_t kBytes = 2;
  static __m512 widen(__m256i v) { return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(v), 16)); }
  static __m512 load16(const uint8_t* p) { return widen(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(p))); }
  static __m512 load_tail(const uint8_t* p, __mmask16 m) { return widen(_mm256_maskz_loadu_epi16(m, p)); }
};

template <class Load>
struct FloatKernel {
  template <int R, int T>
  static void tile(const TileArgs& a) {
    __m512 acc[R][T];
    for (auto& row : acc)
      for (auto& v : row) v = _mm512_setzero_ps();
    const int64_t n16 = a.n_in / 16 * 16;
    for (int64_t k = 0; k < n16; k += 16) {
      __m512 wv[R];
      for (int r = 0; r < R; ++r) wv[r] = Load::load16(a.w + r * a.w_stride + k * Load::kBytes);
      for (int t = 0; t < T; ++t) {
        const __m512 xv = _mm512_loadu_ps(reinterpret_cast<const float*>(a.act + t * a.act_stride) + k);
        for (int r = 0; r < R; ++r) acc[r][t] = _mm512_fmadd_ps(wv[r], xv, acc[r][t]);
      }
    }
    if (n16 < a.n_in) {  // masked tail: lanes past n_in load as zero
      const auto m = static_cast<__mmask16>((1u << (a.n_in - n16)) - 1);
      __m512 wv[R];
      for (int r = 0; r < R; ++r) wv[r] = Load::load_tail(a.w + r * a.w_stride + n16 * Load::kBytes, m);
      for (int t = 0; t < T; ++t) {
        const __m512 xv = _mm512_maskz_loadu_ps(m, reinterpret_cast<const float*>(a.act + t * a.act_stride) + n16);
        for (int r = 0; r < R; ++r) acc[r][t] = _mm512_fmadd_ps(wv[r], xv, acc[r][t]);
      }
    }
    for (int t = 0; t < T; ++t)
      for (int r = 0; r < R; ++r) a.y[t * a.ldy + r] = _mm512_reduce_add_ps(acc[r][t]);
  }
};

// Tile shapes: 32 zmm registers hold R*T accumulators plus the R weight vectors and their terms.
void q8_0_rows(const uint8_t* w, size_t ws, const uint8_t* act, size_t as, int64_t n_in, int64_t n_tokens, int64_t r0,
               int64_t r1, float* y, int64_t ldy) {
  if (n_tokens == 1) tile_loop<Q8_0Kernel, 4, 1>(w, ws, act, as, n_in, n_tokens, r0, r1, y, ldy);
  else tile_loop<Q8_0Kernel, 4, 4>(w, ws, act, as, n_in, n_tokens, r0, r1, y, ldy);
}
template <class Load>
void float_rows(const uint8_t* w, size_t ws, const uint8_t* act, size_t as, int64_t n_in, int64_t n_tokens, int64_t r0,
                int64_t r1, float* y, int64_t ldy) {
  if (n_tokens == 1) tile_loop<FloatKernel<Load>, 4, 1>(w, ws, act, as, n_in, n_tokens, r0, r1, y, ldy);
  else tile_loop<FloatKernel<Load>, 4, 4>(w, ws, act, as, n_in, n_tokens, r0, r1, y, ldy);
}

KernelTable make_table() {
  KernelTable t = avx2_kernels();
  t.isa = Isa::kAvx512;
  auto set_rows = [&](DType type, MatmulRowsFn rows) { t.matmul[static_cast<uint32_t>(type)].rows = rows; };
  set_rows(DType::F32, float_rows<LoadF32>);
  set_rows(DType::F16, float_rows<LoadF16>);
  set_rows(DType::BF16, float_rows<LoadBF16>);
  set_rows(DType::Q8_0, q8_0_rows);
  return t;
}

}  // namespace

const KernelTable& avx512_kernels() {
  static const KernelTable table = make_table();
  return table;
}

}  // namespace kaiyuan::kernels
