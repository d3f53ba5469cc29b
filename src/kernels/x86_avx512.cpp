// AVX-512 (F, BW, VL, DQ, VNNI) kernels: Q8_0 dot products on vpdpbusd, Q4_K/Q6_K on 512-bit
// maddubs, 512-bit FMA tiles for F32/F16/BF16 weights. Types without an AVX-512 kernel here keep their AVX2 entry (the table starts
// as a copy of x86_avx2.cpp's).
// GCC 12's AVX-512 headers build some intrinsics on _mm512_undefined_*() (`__m512i __Y = __Y;`),
// which -O3 inlining reports as -Wuninitialized: a known false positive of the headers themselves.
#pragma GCC diagnostic ignored "-Wuninitialized"
#if !defined(__clang__)  // clang has no -Wmaybe-uninitialized (and rejects unknown groups under -Werror)
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif

#include <immintrin.h>

#include <algorithm>
#include <cmath>

#include <cstring>
#include <type_traits>
#include <utility>
#include <vector>

#include "kernels/kernel_table.h"
#include "kernels/packed_layout.h"
#include "kernels/quant/quant.h"
#include "kernels/x86_avx512_math.h"
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
        prefetch_ahead<2 * kB>(blk);
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

// ---- K-quants x Q8_K: 128 levels per 512-bit step ----------------------------------------------

using quant::kQK_K;
constexpr size_t kQ8kQs = 4, kQ8kBsums = 4 + kQK_K;  // block_q8_K {float d; int8 qs[256]; int16 bsums[16]}

inline __m512i set_2x16(int16_t lo, int16_t hi) {
  return _mm512_inserti64x4(_mm512_set1_epi16(lo), _mm256_set1_epi16(hi), 1);
}

inline float load_f32(const uint8_t* p) {
  float f;
  std::memcpy(&f, p, sizeof(f));
  return f;
}

// ggml get_scale_min_k4 for all eight sub-blocks at once, on 32-bit words (ggml's utmp form):
// returns the 6-bit scales in bytes 0-7 and the mins in bytes 8-15.
inline __m128i q4_k_scales_mins(const uint8_t* q) {
  constexpr uint32_t k6 = 0x3f3f3f3f, k4 = 0x0f0f0f0f, k2 = 0x03030303;
  uint32_t u[3];
  std::memcpy(u, q, 12);
  const uint32_t mins_hi = ((u[2] >> 4) & k4) | (((u[1] >> 6) & k2) << 4);
  const uint32_t mins_lo = u[1] & k6;
  const uint32_t sc_hi = (u[2] & k4) | (((u[0] >> 6) & k2) << 4);
  return _mm_setr_epi32(static_cast<int>(u[0] & k6), static_cast<int>(sc_hi), static_cast<int>(mins_lo),
                        static_cast<int>(mins_hi));
}

// block_q4_K {f16 d, dmin; scales[12]; qs[128]}: 64 bytes of qs hold levels 0-31 and 64-95 in their
// low nibbles, 32-63 and 96-127 in their high nibbles.
struct Q4_KKernel {
  template <int R, int T>
  static void tile(const TileArgs& a) {
    constexpr size_t kWB = sizeof(quant::BlockQ4_K), kXB = sizeof(quant::BlockQ8_K);
    const __m512i m4 = _mm512_set1_epi8(0x0F);
    __m512 acc[R][T];
    for (auto& row : acc)
      for (auto& v : row) v = _mm512_setzero_ps();
    const int64_t nb = a.n_in / kQK_K;
    for (int64_t b = 0; b < nb; ++b) {
      float d[R], dmin[R];
      __m512i sc16[R];  // int16 lanes 0-7: the sub-blocks' scales
      __m256i mins[R];  // int16 lanes 2j, 2j + 1: sub-block j's min (one per Q8_K bsum of 16 levels)
      for (int r = 0; r < R; ++r) {
        const uint8_t* blk = a.w + r * a.w_stride + b * kWB;
        prefetch_ahead<kWB>(blk);
        d[r] = load_f16(blk);
        dmin[r] = load_f16(blk + 2);
        const __m128i sm = q4_k_scales_mins(blk + 4);
        sc16[r] = _mm512_cvtepu8_epi16(_mm256_zextsi128_si256(sm));
        mins[r] = _mm256_cvtepu8_epi16(_mm_shuffle_epi8(sm, _mm_setr_epi8(8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13, 13, 14, 14, 15, 15)));
      }
      __m512i sumi[R][T];
      for (auto& row : sumi)
        for (auto& v : row) v = _mm512_setzero_si512();
      for (int jj = 0; jj < 2; ++jj) {
        __m512i lo[R], hi[R], slo[R], shi[R];
        for (int r = 0; r < R; ++r) {
          const __m512i q = _mm512_loadu_si512(a.w + r * a.w_stride + b * kWB + 16 + 64 * jj);
          lo[r] = _mm512_and_si512(q, m4);
          hi[r] = _mm512_and_si512(_mm512_srli_epi16(q, 4), m4);
          // lanes 0-15 / 16-31 of the 64 levels' maddubs pairs: sub-blocks 4jj, 4jj + 2 (low
          // nibbles) and 4jj + 1, 4jj + 3 (high)
          slo[r] = _mm512_permutexvar_epi16(set_2x16(static_cast<int16_t>(4 * jj), static_cast<int16_t>(4 * jj + 2)), sc16[r]);
          shi[r] = _mm512_permutexvar_epi16(set_2x16(static_cast<int16_t>(4 * jj + 1), static_cast<int16_t>(4 * jj + 3)), sc16[r]);
        }
        for (int t = 0; t < T; ++t) {
          const uint8_t* y = a.act + t * a.act_stride + b * kXB + kQ8kQs + 128 * jj;
          const __m512i ylo = load_2x256(y, y + 64);
          const __m512i yhi = load_2x256(y + 32, y + 96);
          for (int r = 0; r < R; ++r) {
            const __m512i plo = _mm512_madd_epi16(_mm512_maddubs_epi16(lo[r], ylo), slo[r]);
            const __m512i phi = _mm512_madd_epi16(_mm512_maddubs_epi16(hi[r], yhi), shi[r]);
            sumi[r][t] = _mm512_add_epi32(sumi[r][t], _mm512_add_epi32(plo, phi));
          }
        }
      }
      for (int t = 0; t < T; ++t) {
        const uint8_t* xb = a.act + t * a.act_stride + b * kXB;
        const float dx = load_f32(xb);
        const __m256i bsums = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(xb + kQ8kBsums));
        for (int r = 0; r < R; ++r) {
          const __m512 summ = _mm512_cvtepi32_ps(_mm512_zextsi256_si512(_mm256_madd_epi16(mins[r], bsums)));
          acc[r][t] = _mm512_fmadd_ps(_mm512_set1_ps(d[r] * dx), _mm512_cvtepi32_ps(sumi[r][t]), acc[r][t]);
          acc[r][t] = _mm512_fnmadd_ps(_mm512_set1_ps(dmin[r] * dx), summ, acc[r][t]);
        }
      }
    }
    for (int t = 0; t < T; ++t)
      for (int r = 0; r < R; ++r) a.y[t * a.ldy + r] = _mm512_reduce_add_ps(acc[r][t]);
  }
};

// block_q6_K {ql[128]; qh[64]; int8 scales[16]; f16 d}, levels 0..63 stored +32 (ggml
// dequantize_row_q6_K). One 128-level half: ql[0:64] low nibbles are levels 0-63, high nibbles
// 64-127; qh[0:32] gives each its top two bits, at shifts 0, 2 (levels 0-63) and 4, 6 (64-127).
struct Q6_KKernel {
  template <int R, int T>
  static void tile(const TileArgs& a) {
    constexpr size_t kWB = sizeof(quant::BlockQ6_K), kXB = sizeof(quant::BlockQ8_K);
    const __m512i m4 = _mm512_set1_epi8(0x0F), m2 = _mm512_set1_epi8(0x30);
    // per 256-bit half: move qh bits (0-1 | 2-3) to 4-5, and (4-5 | 6-7) to 4-5
    const __m512i shl = _mm512_inserti64x4(_mm512_set1_epi16(4), _mm256_set1_epi16(2), 1);
    const __m512i shr = _mm512_inserti64x4(_mm512_set1_epi16(0), _mm256_set1_epi16(2), 1);
    __m512 acc[R][T];
    for (auto& row : acc)
      for (auto& v : row) v = _mm512_setzero_ps();
    const int64_t nb = a.n_in / kQK_K;
    for (int64_t b = 0; b < nb; ++b) {
      float d[R];
      __m256i sc16[R];
      const uint8_t* blk[R];
      for (int r = 0; r < R; ++r) {
        blk[r] = a.w + r * a.w_stride + b * kWB;
        prefetch_ahead<kWB>(blk[r]);
        d[r] = load_f16(blk[r] + 208);
        sc16[r] = _mm256_cvtepi8_epi16(_mm_loadu_si128(reinterpret_cast<const __m128i*>(blk[r] + 192)));
      }
      __m512i sumi[R][T];
      for (auto& row : sumi)
        for (auto& v : row) v = _mm512_setzero_si512();
      for (int h = 0; h < 2; ++h) {
        // scales of this half's 16-level groups 0-3 (levels 0-63) and 4-7 (64-127), 8 int16 lanes each
        const __m512i idx01 = group_index(8 * h), idx23 = group_index(8 * h + 4);
        __m512i q01[R], q23[R], s01[R], s23[R];
        for (int r = 0; r < R; ++r) {
          const __m512i l = _mm512_loadu_si512(blk[r] + 64 * h);
          const __m512i qh = _mm512_broadcast_i64x4(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(blk[r] + 128 + 32 * h)));
          q01[r] = _mm512_or_si512(_mm512_and_si512(l, m4), _mm512_and_si512(_mm512_sllv_epi16(qh, shl), m2));
          q23[r] = _mm512_or_si512(_mm512_and_si512(_mm512_srli_epi16(l, 4), m4), _mm512_and_si512(_mm512_srlv_epi16(qh, shr), m2));
          const __m512i s = _mm512_zextsi256_si512(sc16[r]);
          s01[r] = _mm512_permutexvar_epi16(idx01, s);
          s23[r] = _mm512_permutexvar_epi16(idx23, s);
        }
        for (int t = 0; t < T; ++t) {
          const uint8_t* y = a.act + t * a.act_stride + b * kXB + kQ8kQs + 128 * h;
          const __m512i y01 = _mm512_loadu_si512(y);
          const __m512i y23 = _mm512_loadu_si512(y + 64);
          for (int r = 0; r < R; ++r) {
            const __m512i p01 = _mm512_madd_epi16(_mm512_maddubs_epi16(q01[r], y01), s01[r]);
            const __m512i p23 = _mm512_madd_epi16(_mm512_maddubs_epi16(q23[r], y23), s23[r]);
            sumi[r][t] = _mm512_add_epi32(sumi[r][t], _mm512_add_epi32(p01, p23));
          }
        }
      }
      for (int t = 0; t < T; ++t) {
        const uint8_t* xb = a.act + t * a.act_stride + b * kXB;
        const float dx = load_f32(xb);
        const __m256i bsums = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(xb + kQ8kBsums));
        for (int r = 0; r < R; ++r) {
          const __m512i bias = _mm512_zextsi256_si512(_mm256_slli_epi32(_mm256_madd_epi16(sc16[r], bsums), 5));
          acc[r][t] = _mm512_fmadd_ps(_mm512_set1_ps(d[r] * dx), _mm512_cvtepi32_ps(_mm512_sub_epi32(sumi[r][t], bias)), acc[r][t]);
        }
      }
    }
    for (int t = 0; t < T; ++t)
      for (int r = 0; r < R; ++r) a.y[t * a.ldy + r] = _mm512_reduce_add_ps(acc[r][t]);
  }

  // int16 lane i -> scale first + i / 8: four 16-level groups, each over 8 maddubs lanes.
  static __m512i group_index(int first) {
    alignas(64) int16_t idx[32];
    for (int i = 0; i < 32; ++i) idx[i] = static_cast<int16_t>(first + i / 8);
    return _mm512_load_si512(idx);
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


// ---- repacked weights (packed_layout.h) x 32-level activation blocks ----------------------------

inline int32_t load_i32(const uint8_t* p) {
  int32_t v;
  std::memcpy(&v, p, sizeof(v));
  return v;
}

// f32 activations -> Q8_U32 (levels + 128, unsigned) or Q8_S32 (signed levels and d x their sum),
// bit-identical to quantize_act_ref.
template <bool kUnsigned>
void quantize_act_q8_32(const float* x, uint8_t* dst, int64_t n) {
  constexpr size_t kB = kUnsigned ? 36 : 48;
  for (int64_t b = 0; b < n / 32; ++b, x += 32, dst += kB) {
    const __m512 v0 = _mm512_loadu_ps(x), v1 = _mm512_loadu_ps(x + 16);
    const float amax = _mm512_reduce_max_ps(_mm512_max_ps(_mm512_abs_ps(v0), _mm512_abs_ps(v1)));
    const float d = amax / 127.0f;
    const __m512 id = _mm512_set1_ps(d != 0.0f ? 1.0f / d : 0.0f);
    __m512i i0 = _mm512_cvtps_epi32(_mm512_mul_ps(v0, id)), i1 = _mm512_cvtps_epi32(_mm512_mul_ps(v1, id));
    if constexpr (kUnsigned) {
      i0 = _mm512_add_epi32(i0, _mm512_set1_epi32(128));
      i1 = _mm512_add_epi32(i1, _mm512_set1_epi32(128));
    }
    _mm_storeu_si128(reinterpret_cast<__m128i*>(dst), _mm512_cvtepi32_epi8(i0));
    _mm_storeu_si128(reinterpret_cast<__m128i*>(dst + 16), _mm512_cvtepi32_epi8(i1));
    std::memcpy(dst + 32, &d, sizeof(d));
    if constexpr (!kUnsigned) {
      const int32_t s0 = _mm512_reduce_add_epi32(i0), s1 = _mm512_reduce_add_epi32(i1);
      const float scaled = d * static_cast<float>(s0 + s1);
      const int32_t offsets[2] = {-32 * s0, -32 * s1};
      std::memcpy(dst + 36, &scaled, sizeof(scaled));
      std::memcpy(dst + 40, offsets, sizeof(offsets));
    }
  }
}

// Sum of 8 vpdpbusd over one 32-column block: chunk c's 4 activation bytes broadcast against the
// 16 rows' 4 bytes of that chunk, in two chains (vpdpbusd latency; +10% on Q8_0_R16 tiles of 8
// tokens too, bench/matmul_bench).
template <bool kActUnsigned>
inline __m512i block_dot(const __m512i* w, const uint8_t* xb) {
  __m512i s0 = _mm512_setzero_si512(), s1 = _mm512_setzero_si512();
  for (int c = 0; c < 8; c += 2) {
    const __m512i x0 = _mm512_set1_epi32(load_i32(xb + 4 * c)), x1 = _mm512_set1_epi32(load_i32(xb + 4 * c + 4));
    s0 = kActUnsigned ? _mm512_dpbusd_epi32(s0, x0, w[c]) : _mm512_dpbusd_epi32(s0, w[c], x0);
    s1 = kActUnsigned ? _mm512_dpbusd_epi32(s1, x1, w[c + 1]) : _mm512_dpbusd_epi32(s1, w[c + 1], x1);
  }
  return _mm512_add_epi32(s0, s1);
}

// 16 rows (one group) x T tokens of Q8_0_R16 x Q8_U32: sum (x + 128) w - 128 sum(w), times dw dx.
// Groups are contiguous, so the last blocks of one prefetch the next group.
struct Q8_0R16Kernel {
  static constexpr size_t kActBlock = 36;
  template <int T>
  static void tile(const uint8_t* wg, int64_t n_in, const uint8_t* act, size_t as, float* y, int64_t ldy) {
    __m512 acc[T];
    for (auto& v : acc) v = _mm512_setzero_ps();
    for (int64_t b = 0; b < n_in / 32; ++b) {
      const uint8_t* blk = wg + b * kQ8_0R16GroupBlock;
      prefetch_ahead<kQ8_0R16GroupBlock>(blk);
      __m512i w[8];
      for (int c = 0; c < 8; ++c) w[c] = _mm512_loadu_si512(blk + 64 * c);
      const __m512 dw = _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(blk + 512)));
      const __m512i corr =
          _mm512_slli_epi32(_mm512_cvtepi16_epi32(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(blk + 544))), 7);
      for (int t = 0; t < T; ++t) {
        const uint8_t* xb = act + t * as + b * kActBlock;
        const __m512i s = _mm512_sub_epi32(block_dot<true>(w, xb), corr);
        acc[t] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(s), _mm512_mul_ps(dw, _mm512_set1_ps(load_f32(xb + 32))), acc[t]);
      }
    }
    for (int t = 0; t < T; ++t) _mm512_storeu_ps(y + t * ldy, acc[t]);
  }
};

// 16 rows x T tokens of Q4_K_R16 x Q8_S32: per 32-column sub-block, d sc dx sum(q x) - dmin m dx sum(x).
struct Q4_KR16Kernel {
  static constexpr size_t kActBlock = 48;
  template <int T>
  static void tile(const uint8_t* wg, int64_t n_in, const uint8_t* act, size_t as, float* y, int64_t ldy) {
    const __m512i m4 = _mm512_set1_epi8(0x0F);
    __m512 acc[T];
    for (auto& v : acc) v = _mm512_setzero_ps();
    for (int64_t sb = 0; sb < n_in / 256; ++sb) {
      const uint8_t* blk = wg + sb * kQ4_KR16GroupBlock;
      const __m512 dv = _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(blk + 2304)));
      const __m512 mv = _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(blk + 2336)));
      // GCC 12 would unroll j twice and leave t rolled, with acc[] in memory (a load and a store
      // per token and sub-block): keep j rolled and t unrolled, as in the other tiles.
#pragma GCC unroll 1
      for (int j = 0; j < 8; ++j) {
        prefetch_ahead_part<kQ4_KR16GroupBlock, 8>(blk, j);
        const __m512 dsc = _mm512_mul_ps(
            dv, _mm512_cvtepi32_ps(_mm512_cvtepu8_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(blk + 2048 + 16 * j)))));
        const __m512 dmn = _mm512_mul_ps(
            mv, _mm512_cvtepi32_ps(_mm512_cvtepu8_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(blk + 2176 + 16 * j)))));
        __m512i w[8];
        for (int h = 0; h < 4; ++h) {
          const __m512i raw = _mm512_loadu_si512(blk + 256 * j + 64 * h);
          w[h] = _mm512_and_si512(raw, m4);
          w[h + 4] = _mm512_and_si512(_mm512_srli_epi16(raw, 4), m4);
        }
#pragma GCC unroll 8
        for (int t = 0; t < T; ++t) {
          const uint8_t* xb = act + t * as + (sb * 8 + j) * kActBlock;
          const __m512i s = block_dot<false>(w, xb);
          acc[t] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(s), _mm512_mul_ps(dsc, _mm512_set1_ps(load_f32(xb + 32))), acc[t]);
          acc[t] = _mm512_fnmadd_ps(dmn, _mm512_set1_ps(load_f32(xb + 36)), acc[t]);
        }
      }
    }
    for (int t = 0; t < T; ++t) _mm512_storeu_ps(y + t * ldy, acc[t]);
  }
};

// 16 rows x T tokens of Q6_K_R16 x Q8_S32: per 16-column sub-block s, d sc_s dx (sum(q x) - 32 sum(x)).
struct Q6_KR16Kernel {
  static constexpr size_t kActBlock = 48;

  // Bits 2c, 2c+1 of each byte moved to bits 4, 5 (16-bit shifts: the mask drops what crosses bytes).
  template <int C>
  static __m512i top_bits(__m512i packed) {
    const __m512i m = _mm512_set1_epi8(0x30);
    if constexpr (C < 2) return _mm512_and_si512(_mm512_slli_epi16(packed, 4 - 2 * C), m);
    else if constexpr (C == 2) return _mm512_and_si512(packed, m);
    else return _mm512_and_si512(_mm512_srli_epi16(packed, 2), m);
  }

  template <int T>
  static void tile(const uint8_t* wg, int64_t n_in, const uint8_t* act, size_t as, float* y, int64_t ldy) {
    const __m512i m4 = _mm512_set1_epi8(0x0F);
    __m512 acc[T];
    for (auto& v : acc) v = _mm512_setzero_ps();
    for (int64_t sb = 0; sb < n_in / 256; ++sb) {
      const uint8_t* blk = wg + sb * kQ6_KR16GroupBlock;
      const __m512 dv = _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(blk + 3328)));
      for (int j = 0; j < 8; ++j) {
        prefetch_ahead_part<kQ6_KR16GroupBlock, 8>(blk, j);
        const auto scale = [&](int s) {
          return _mm512_mul_ps(dv, _mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(
                                       _mm_loadu_si128(reinterpret_cast<const __m128i*>(blk + 3072 + 16 * s)))));
        };
        const __m512 dsc0 = scale(2 * j), dsc1 = scale(2 * j + 1);
        const __m512i ha = _mm512_loadu_si512(blk + 2048 + 128 * j), hb = _mm512_loadu_si512(blk + 2048 + 128 * j + 64);
        __m512i w[8];
        __m512i nib[4];
        for (int h = 0; h < 4; ++h) nib[h] = _mm512_loadu_si512(blk + 256 * j + 64 * h);
        w[0] = _mm512_or_si512(_mm512_and_si512(nib[0], m4), top_bits<0>(ha));
        w[1] = _mm512_or_si512(_mm512_and_si512(nib[1], m4), top_bits<1>(ha));
        w[2] = _mm512_or_si512(_mm512_and_si512(nib[2], m4), top_bits<2>(ha));
        w[3] = _mm512_or_si512(_mm512_and_si512(nib[3], m4), top_bits<3>(ha));
        w[4] = _mm512_or_si512(_mm512_and_si512(_mm512_srli_epi16(nib[0], 4), m4), top_bits<0>(hb));
        w[5] = _mm512_or_si512(_mm512_and_si512(_mm512_srli_epi16(nib[1], 4), m4), top_bits<1>(hb));
        w[6] = _mm512_or_si512(_mm512_and_si512(_mm512_srli_epi16(nib[2], 4), m4), top_bits<2>(hb));
        w[7] = _mm512_or_si512(_mm512_and_si512(_mm512_srli_epi16(nib[3], 4), m4), top_bits<3>(hb));
        for (int t = 0; t < T; ++t) {
          const uint8_t* xb = act + t * as + (sb * 8 + j) * kActBlock;
          // The chains start at -32 sum(x) of their half (the level offset, precomputed by the
          // quantizer): broadcast loads in place of scalar work and a subtraction per chain.
          __m512i s0 = _mm512_set1_epi32(load_i32(xb + 40)), s1 = _mm512_set1_epi32(load_i32(xb + 44));
          for (int c = 0; c < 4; ++c) {
            s0 = _mm512_dpbusd_epi32(s0, w[c], _mm512_set1_epi32(load_i32(xb + 4 * c)));
            s1 = _mm512_dpbusd_epi32(s1, w[c + 4], _mm512_set1_epi32(load_i32(xb + 16 + 4 * c)));
          }
          // dsc0 s0 + dsc1 s1 first, then one multiply-add by dx (five vector ops, not six).
          const __m512 both = _mm512_fmadd_ps(_mm512_cvtepi32_ps(s1), dsc1, _mm512_mul_ps(_mm512_cvtepi32_ps(s0), dsc0));
          acc[t] = _mm512_fmadd_ps(both, _mm512_set1_ps(load_f32(xb + 32)), acc[t]);
        }
      }
    }
    for (int t = 0; t < T; ++t) _mm512_storeu_ps(y + t * ldy, acc[t]);
  }
};

// 16 rows x T tokens of BF16_R16 x f32 activations: per column pair one load, a shift and a mask
// give both columns' 16 weights; each token adds them times its broadcast activation.
struct Bf16R16Kernel {
  template <int T>
  static void tile(const uint8_t* wg, int64_t n_in, const uint8_t* act, size_t as, float* y, int64_t ldy) {
    const __m512i hi_mask = _mm512_set1_epi32(static_cast<int>(0xFFFF0000u));
    // Short tiles keep a second accumulator per token (odd columns) to hide the FMA latency.
    constexpr int kAcc = T <= 2 ? 2 : 1;
    __m512 acc[kAcc][T];
    for (auto& row : acc)
      for (auto& v : row) v = _mm512_setzero_ps();
    for (int64_t k = 0; k < n_in; k += 2) {
      prefetch_ahead<64>(wg + k * 32);
      const __m512i v = _mm512_loadu_si512(wg + k * 32);
      const __m512 w0 = _mm512_castsi512_ps(_mm512_slli_epi32(v, 16));
      const __m512 w1 = _mm512_castsi512_ps(_mm512_and_si512(v, hi_mask));
      for (int t = 0; t < T; ++t) {
        const float* x = reinterpret_cast<const float*>(act + t * as) + k;
        acc[0][t] = _mm512_fmadd_ps(w0, _mm512_set1_ps(x[0]), acc[0][t]);
        acc[kAcc - 1][t] = _mm512_fmadd_ps(w1, _mm512_set1_ps(x[1]), acc[kAcc - 1][t]);
      }
    }
    for (int t = 0; t < T; ++t) {
      __m512 sum = acc[0][t];
      if constexpr (kAcc == 2) sum = _mm512_add_ps(sum, acc[1][t]);
      _mm512_storeu_ps(y + t * ldy, sum);
    }
  }
};

template <class Kernel, size_t... I>
constexpr auto make_group_tiles(std::index_sequence<I...>) {
  using Fn = void (*)(const uint8_t*, int64_t, const uint8_t*, size_t, float*, int64_t);
  return std::array<Fn, sizeof...(I)>{&Kernel::template tile<static_cast<int>(I) + 1>...};
}

// Rows [r0, r1) are whole groups of 16 (matmul_driver's row grain). Like tile_loop: a chunk of
// tokens stays in L2 while the range's groups stream past, in tiles of up to TMax tokens.
template <class Kernel, int TMax>
void packed_rows(const uint8_t* w, size_t ws, const uint8_t* act, size_t as, int64_t n_in, int64_t n_tokens,
                 int64_t r0, int64_t r1, float* y, int64_t ldy) {
  static constexpr auto kTiles = make_group_tiles<Kernel>(std::make_index_sequence<TMax>{});
  const size_t group_bytes = ws * kPackRows;
  int64_t chunk = static_cast<int64_t>(kChunkBytes / as) / TMax * TMax;
  if (chunk < TMax) chunk = TMax;
  for (int64_t c0 = 0; c0 < n_tokens; c0 += chunk) {
    const int64_t c1 = n_tokens - c0 < chunk ? n_tokens : c0 + chunk;
    for (int64_t g = r0 / kPackRows; g < r1 / kPackRows; ++g)
      for (int64_t t = c0; t < c1; t += TMax) {
        const int64_t nt = c1 - t < TMax ? c1 - t : TMax;
        kTiles[static_cast<size_t>(nt - 1)](w + static_cast<size_t>(g) * group_bytes, n_in, act + static_cast<size_t>(t) * as, as,
                                            y + t * ldy + g * kPackRows, ldy);
      }
  }
}


// softmax_avx2 on 16 lanes, the tail through masked loads and stores (no scalar exp).
void softmax_avx512(float* x, int64_t n) {
  const int64_t n16 = n / 16 * 16;
  const __mmask16 tail = static_cast<__mmask16>((1u << (n - n16)) - 1u);
  __m512 m = _mm512_set1_ps(-INFINITY);
  for (int64_t i = 0; i < n16; i += 16) m = _mm512_max_ps(m, _mm512_loadu_ps(x + i));
  if (tail) m = _mm512_mask_max_ps(m, tail, m, _mm512_maskz_loadu_ps(tail, x + n16));
  const __m512 mv = _mm512_set1_ps(_mm512_reduce_max_ps(m));
  __m512 sum = _mm512_setzero_ps();
  for (int64_t i = 0; i < n16; i += 16) {
    const __m512 e = exp512(_mm512_sub_ps(_mm512_loadu_ps(x + i), mv));
    _mm512_storeu_ps(x + i, e);
    sum = _mm512_add_ps(sum, e);
  }
  if (tail) {
    const __m512 e = _mm512_maskz_mov_ps(tail, exp512(_mm512_sub_ps(_mm512_maskz_loadu_ps(tail, x + n16), mv)));
    _mm512_mask_storeu_ps(x + n16, tail, e);
    sum = _mm512_add_ps(sum, e);
  }
  const __m512 inv = _mm512_set1_ps(1.0f / _mm512_reduce_add_ps(sum));
  for (int64_t i = 0; i < n16; i += 16) _mm512_storeu_ps(x + i, _mm512_mul_ps(_mm512_loadu_ps(x + i), inv));
  if (tail) _mm512_mask_storeu_ps(x + n16, tail, _mm512_mul_ps(_mm512_maskz_loadu_ps(tail, x + n16), inv));
}

// ---- attention of a GQA group: each K/V row read once per pair of heads -------------------------

// NQ heads of D16 x 16 dims. Scores eight keys at a time (one FMA chain per key and head, each
// K chunk converted once for the NQ heads), one f32 softmax per head, then P.V
// with the outputs held in registers.
// Sixteen K/V elements as f32, from an f32 or an f16 cache row.
inline __m512 load16(const float* p) { return _mm512_loadu_ps(p); }
inline __m512 load16(const uint16_t* p) { return _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(p))); }

// The sums of eight accumulators, in their order: adds of interleaved halves inside the 128-bit
// lanes, then across lanes, 24 instructions for the eight instead of a full horizontal reduction
// (about 8) each, which was most of the score phase.
inline __m256 sum8(const __m512 (&r)[8]) {
  const auto pairs = [](__m512 a, __m512 b) { return _mm512_add_ps(_mm512_unpacklo_ps(a, b), _mm512_unpackhi_ps(a, b)); };
  const auto quads = [](__m512 a, __m512 b) {
    const __m512d x = _mm512_castps_pd(a), y = _mm512_castps_pd(b);
    return _mm512_add_ps(_mm512_castpd_ps(_mm512_unpacklo_pd(x, y)), _mm512_castpd_ps(_mm512_unpackhi_pd(x, y)));
  };
  const __m512 u0 = quads(pairs(r[0], r[1]), pairs(r[2], r[3]));  // lane L: r0..r3's lane-L sums
  const __m512 u1 = quads(pairs(r[4], r[5]), pairs(r[6], r[7]));  // lane L: r4..r7's
  const __m512 v = _mm512_add_ps(_mm512_shuffle_f32x4(u0, u1, _MM_SHUFFLE(2, 0, 2, 0)),
                                 _mm512_shuffle_f32x4(u0, u1, _MM_SHUFFLE(3, 1, 3, 1)));  // [u0 01, u0 23, u1 01, u1 23]
  const __m512 w = _mm512_add_ps(v, _mm512_shuffle_f32x4(v, v, _MM_SHUFFLE(2, 3, 0, 1)));
  return _mm512_castps512_ps256(_mm512_shuffle_f32x4(w, w, _MM_SHUFFLE(0, 0, 2, 0)));
}

// How many keys ahead attend_fixed fetches K rows, and V rows in its P.V pass (on the position-major
// layout 4 to 16 measured alike; on the head-major one 16 was no better, docs/BENCHMARKS.md).
constexpr int64_t kAttendAhead = 8;

template <int D16, int NQ, typename KV>
void attend_fixed(const float* q, const KV* k, int64_t ks, const KV* v, int64_t vs, int64_t n_kv, float scale,
                  float* scores, int64_t scores_stride, float* out) {
  constexpr int64_t kDim = D16 * 16;
  // Rows are fetched by hand: the K rows kAttendAhead keys on into L1 and, while a block of keys
  // is scored, its V rows into L2, for P.V below. Decode attention over 140 positions of eight
  // sequences (bench/decode_attention_bench): 10.3-10.9 ms a step without either when a head's
  // rows lay k_dim apart (KvCache's old layout), 7.5-8.2 with the K fetch; on KvCache's
  // head-major layout 6.3-6.7 with the K fetch alone and 4.2-5.0 with both.
  constexpr int64_t kRowBytes = kDim * sizeof(KV);
  const auto prefetch_row = [](const KV* row) { prefetch_lines<kRowBytes>(reinterpret_cast<const uint8_t*>(row)); };
  int64_t j = 0;
  for (; j + 8 <= n_kv; j += 8) {
    for (int64_t jj = kAttendAhead; jj < kAttendAhead + 8; ++jj) prefetch_row(k + (j + jj) * ks);
    // This block's V rows into L2 while its K rows are scored: the P.V pass below then reads V
    // from L2 instead of starting a second stream from memory after the first one ends.
    for (int64_t jj = 0; jj < 8; ++jj)
      prefetch_lines<kRowBytes, _MM_HINT_T1>(reinterpret_cast<const uint8_t*>(v + (j + jj) * vs));
    __m512 a[NQ][8];
    for (auto& row : a)
      for (auto& x : row) x = _mm512_setzero_ps();
    for (int d = 0; d < D16; ++d) {
      __m512 qd[NQ];
      for (int i = 0; i < NQ; ++i) qd[i] = _mm512_loadu_ps(q + i * kDim + 16 * d);
      for (int jj = 0; jj < 8; ++jj) {
        const __m512 kv = load16(k + (j + jj) * ks + 16 * d);
        for (int i = 0; i < NQ; ++i) a[i][jj] = _mm512_fmadd_ps(qd[i], kv, a[i][jj]);
      }
    }
    for (int i = 0; i < NQ; ++i)
      _mm256_storeu_ps(scores + i * scores_stride + j, _mm256_mul_ps(sum8(a[i]), _mm256_set1_ps(scale)));
  }
  for (; j < n_kv; ++j) {
    __m512 a[NQ];
    for (auto& x : a) x = _mm512_setzero_ps();
    for (int d = 0; d < D16; ++d) {
      const __m512 kv = load16(k + j * ks + 16 * d);
      for (int i = 0; i < NQ; ++i) a[i] = _mm512_fmadd_ps(_mm512_loadu_ps(q + i * kDim + 16 * d), kv, a[i]);
    }
    for (int i = 0; i < NQ; ++i) scores[i * scores_stride + j] = _mm512_reduce_add_ps(a[i]) * scale;
  }
  for (int i = 0; i < NQ; ++i) softmax_avx512(scores + i * scores_stride, n_kv);
  __m512 o[NQ][D16];
  for (auto& row : o)
    for (auto& x : row) x = _mm512_setzero_ps();
  for (j = 0; j < n_kv; ++j) {
    prefetch_row(v + (j + kAttendAhead) * vs);
    __m512 p[NQ];
    for (int i = 0; i < NQ; ++i) p[i] = _mm512_set1_ps(scores[i * scores_stride + j]);
    for (int d = 0; d < D16; ++d) {
      const __m512 vv = load16(v + j * vs + 16 * d);
      for (int i = 0; i < NQ; ++i) o[i][d] = _mm512_fmadd_ps(p[i], vv, o[i][d]);
    }
  }
  for (int i = 0; i < NQ; ++i)
    for (int d = 0; d < D16; ++d) _mm512_storeu_ps(out + i * kDim + 16 * d, o[i][d]);
}

// Heads in pairs where two heads' queries and outputs fit the 32 registers (head_dim <= 128).
template <int D16, typename KV>
void attend_group(const float* q, int64_t n_q, const KV* k, int64_t ks, const KV* v, int64_t vs, int64_t n_kv,
                  float scale, float* scores, float* out) {
  constexpr int64_t kDim = D16 * 16;
  int64_t i = 0;
  if constexpr (D16 <= 8)
    for (; i + 2 <= n_q; i += 2)
      attend_fixed<D16, 2, KV>(q + i * kDim, k, ks, v, vs, n_kv, scale, scores + i * n_kv, n_kv, out + i * kDim);
  for (; i < n_q; ++i) attend_fixed<D16, 1, KV>(q + i * kDim, k, ks, v, vs, n_kv, scale, scores + i * n_kv, n_kv, out + i * kDim);
}

template <typename KV>
void attend_heads_avx512(const float* q, int64_t n_q, const KV* k, int64_t ks, const KV* v, int64_t vs,
                         int64_t n_kv, int64_t head_dim, float scale, float* scores, float* out) {
  switch (head_dim) {
    case 64: return attend_group<4>(q, n_q, k, ks, v, vs, n_kv, scale, scores, out);
    case 128: return attend_group<8>(q, n_q, k, ks, v, vs, n_kv, scale, scores, out);
    case 256: return attend_group<16>(q, n_q, k, ks, v, vs, n_kv, scale, scores, out);
    default:
      if constexpr (std::is_same_v<KV, float>)
        return avx2_kernels().attend_heads(q, n_q, k, ks, v, vs, n_kv, head_dim, scale, scores, out);
      else
        return avx2_kernels().attend_heads_f16(q, n_q, k, ks, v, vs, n_kv, head_dim, scale, scores, out);
  }
}

// ---- attention of several tokens of one sequence: eight query vectors per pass over K/V ---------

// Eight query vectors (tokens x heads of one GQA group), vector i seeing the first n_kv[i] keys.
// Each cached K and V row is loaded and converted once for all eight; scores go to
// scores + i * ss (row i zero past n_kv[i] after its softmax).
template <int D16, typename KV>
void attend_eight(const float* const (&q)[8], const int64_t (&n_kv)[8], const KV* k, int64_t ks, const KV* v, int64_t vs,
                  float scale, float* scores, int64_t ss, float* const (&out)[8]) {
  const int64_t n_all = *std::max_element(n_kv, n_kv + 8);
  alignas(32) float row[8];
  const auto store_column = [&](int64_t j, const __m512 (&a)[8]) {  // key j's eight scores
    _mm256_store_ps(row, _mm256_mul_ps(sum8(a), _mm256_set1_ps(scale)));
    for (int i = 0; i < 8; ++i) scores[i * ss + j] = row[i];
  };
  int64_t j = 0;
  for (; j + 2 <= n_all; j += 2) {  // two keys per pass: each query chunk loaded once for both
    __m512 a[8], b[8];
    for (int i = 0; i < 8; ++i) a[i] = b[i] = _mm512_setzero_ps();
    for (int d = 0; d < D16; ++d) {
      const __m512 k0 = load16(k + j * ks + 16 * d), k1 = load16(k + (j + 1) * ks + 16 * d);
      for (int i = 0; i < 8; ++i) {
        const __m512 qv = _mm512_loadu_ps(q[i] + 16 * d);
        a[i] = _mm512_fmadd_ps(qv, k0, a[i]);
        b[i] = _mm512_fmadd_ps(qv, k1, b[i]);
      }
    }
    store_column(j, a);
    store_column(j + 1, b);
  }
  for (; j < n_all; ++j) {
    __m512 a[8];
    for (auto& x : a) x = _mm512_setzero_ps();
    for (int d = 0; d < D16; ++d) {
      const __m512 kv = load16(k + j * ks + 16 * d);
      for (int i = 0; i < 8; ++i) a[i] = _mm512_fmadd_ps(_mm512_loadu_ps(q[i] + 16 * d), kv, a[i]);
    }
    store_column(j, a);
  }
  for (int i = 0; i < 8; ++i) {
    softmax_avx512(scores + i * ss, n_kv[i]);
    std::fill(scores + i * ss + n_kv[i], scores + i * ss + n_all, 0.0f);
  }
  for (int d = 0; d < D16; d += 2) {  // 16 accumulators: two 16-dim chunks of the eight outputs
    __m512 o[8][2];
    for (auto& r : o) r[0] = r[1] = _mm512_setzero_ps();
    for (int64_t j = 0; j < n_all; ++j) {
      const __m512 v0 = load16(v + j * vs + 16 * d), v1 = load16(v + j * vs + 16 * d + 16);
      for (int i = 0; i < 8; ++i) {
        const __m512 p = _mm512_set1_ps(scores[i * ss + j]);
        o[i][0] = _mm512_fmadd_ps(p, v0, o[i][0]);
        o[i][1] = _mm512_fmadd_ps(p, v1, o[i][1]);
      }
    }
    for (int i = 0; i < 8; ++i) {
      _mm512_storeu_ps(out[i] + 16 * d, o[i][0]);
      _mm512_storeu_ps(out[i] + 16 * d + 16, o[i][1]);
    }
  }
}

// ---- attention of a run of tokens as two small matrix products, 32 query vectors at a time ------

// Up to 32 query vectors (NZ zmm of lanes) against the cached keys, flash-attention style:
// keys in chunks of kKeyChunk; per chunk S^T = K Q^T with one lane per query vector (the queries
// transposed once, so no horizontal sums: a broadcast key element times 16 queries per FMA), an
// online softmax per lane (running max and sum; causal mask per lane), then O += P V with four
// query vectors x 64 dimensions in registers. K and V chunks of an f16 cache are converted to f32
// once for all the block's queries. bench/attention_bench against attend_eight: f32 cache +30-55%,
// f16 cache +0-25% (the staging conversion is about a fifth of the time; docs/DESIGN.md).
constexpr int64_t kKeyChunk = 64;

struct AttendBlock {
  const float* q[32];
  float* out[32];
  int32_t n_kv[32];  // keys query vector l sees (set for l < m; attend_block gives unused lanes
                     // a zero query over key 0, whose result it discards)
  int m;             // query vectors in use
};

template <int D16, int NZ, typename KV>
void attend_block(const AttendBlock& blk, const KV* k, int64_t ks, const KV* v, int64_t vs, float scale) {
  constexpr int64_t D = D16 * 16, L = NZ * 16;
  thread_local std::vector<float> scratch;
  scratch.resize(static_cast<size_t>(D * L + kKeyChunk * L + L * D + 2 * kKeyChunk * D + 2 * L));
  float* qt = scratch.data();        // [D][L] scaled, transposed queries
  float* st = qt + D * L;            // [kKeyChunk][L] scores, then probabilities
  float* o = st + kKeyChunk * L;     // [L][D] unnormalized outputs
  float* kbuf = o + L * D;           // [kKeyChunk][D] f32 keys (f16 cache only)
  float* vbuf = kbuf + kKeyChunk * D;
  float* alpha = vbuf + kKeyChunk * D;  // [L] rescale of o for the current chunk
  float* lsum = alpha + L;              // [L] running softmax sums

  int32_t n_all = 1;
  for (int l = 0; l < L; ++l) {
    const bool used = l < blk.m;
    for (int64_t d = 0; d < D; ++d) qt[d * L + l] = used ? blk.q[l][d] * scale : 0.0f;
    if (used) n_all = std::max(n_all, blk.n_kv[l]);
  }
  __m512i nkv[NZ];
  __m512 run_max[NZ], run_sum[NZ];
  for (int z = 0; z < NZ; ++z) {
    alignas(64) int32_t lanes[16];
    for (int l = 0; l < 16; ++l) lanes[l] = 16 * z + l < blk.m ? blk.n_kv[16 * z + l] : 1;
    nkv[z] = _mm512_load_si512(lanes);
    run_max[z] = _mm512_set1_ps(-INFINITY);
    run_sum[z] = _mm512_setzero_ps();
  }
  std::fill(o, o + L * D, 0.0f);

  for (int64_t j0 = 0; j0 < n_all; j0 += kKeyChunk) {
    const int64_t c = std::min<int64_t>(kKeyChunk, n_all - j0);
    const float* krows;
    const float* vrows;
    int64_t kstride, vstride;
    if constexpr (std::is_same_v<KV, float>) {
      krows = k + j0 * ks, vrows = v + j0 * vs, kstride = ks, vstride = vs;
    } else {
      for (int64_t jj = 0; jj < c; ++jj)
        for (int d = 0; d < D16; ++d) {
          _mm512_storeu_ps(kbuf + jj * D + 16 * d, load16(k + (j0 + jj) * ks + 16 * d));
          _mm512_storeu_ps(vbuf + jj * D + 16 * d, load16(v + (j0 + jj) * vs + 16 * d));
        }
      krows = kbuf, vrows = vbuf, kstride = D, vstride = D;
    }
    // S^T: eight keys x NZ lane vectors per pass (rows past the chunk repeat its last key).
    for (int64_t jj = 0; jj < c; jj += 8) {
      const float* kr[8];
      for (int r = 0; r < 8; ++r) kr[r] = krows + std::min<int64_t>(jj + r, c - 1) * kstride;
      __m512 acc[8][NZ];
      for (auto& row : acc)
        for (auto& x : row) x = _mm512_setzero_ps();
      for (int64_t d = 0; d < D; ++d) {
        __m512 qd[NZ];
        for (int z = 0; z < NZ; ++z) qd[z] = _mm512_loadu_ps(qt + d * L + 16 * z);
        for (int r = 0; r < 8; ++r) {
          const __m512 kb = _mm512_set1_ps(kr[r][d]);
          for (int z = 0; z < NZ; ++z) acc[r][z] = _mm512_fmadd_ps(qd[z], kb, acc[r][z]);
        }
      }
      for (int r = 0; r < 8 && jj + r < c; ++r)
        for (int z = 0; z < NZ; ++z) _mm512_storeu_ps(st + (jj + r) * L + 16 * z, acc[r][z]);
    }
    // Online softmax per lane; keys a lane may not see get probability 0.
    for (int z = 0; z < NZ; ++z) {
      __m512 cmax = _mm512_set1_ps(-INFINITY);
      for (int64_t jj = 0; jj < c; ++jj) {
        const __mmask16 seen = _mm512_cmpgt_epi32_mask(nkv[z], _mm512_set1_epi32(static_cast<int32_t>(j0 + jj)));
        cmax = _mm512_mask_max_ps(cmax, seen, cmax, _mm512_loadu_ps(st + jj * L + 16 * z));
      }
      const __m512 new_max = _mm512_max_ps(run_max[z], cmax);
      const __m512 a = exp512(_mm512_sub_ps(run_max[z], new_max));
      __m512 sum = _mm512_setzero_ps();
      for (int64_t jj = 0; jj < c; ++jj) {
        const __mmask16 seen = _mm512_cmpgt_epi32_mask(nkv[z], _mm512_set1_epi32(static_cast<int32_t>(j0 + jj)));
        const __m512 p = _mm512_maskz_mov_ps(seen, exp512(_mm512_sub_ps(_mm512_loadu_ps(st + jj * L + 16 * z), new_max)));
        _mm512_storeu_ps(st + jj * L + 16 * z, p);
        sum = _mm512_add_ps(sum, p);
      }
      run_sum[z] = _mm512_fmadd_ps(run_sum[z], a, sum);
      run_max[z] = new_max;
      _mm512_storeu_ps(alpha + 16 * z, a);
    }
    // O = alpha O + P V: four query vectors x four 16-dim chunks per pass over the chunk's keys.
    for (int l0 = 0; l0 < blk.m; l0 += 4)
      for (int d0 = 0; d0 < D16; d0 += 4) {
        __m512 acc[4][4];
        for (int a = 0; a < 4; ++a)
          for (int x = 0; x < 4; ++x)
            acc[a][x] = _mm512_mul_ps(_mm512_loadu_ps(o + (l0 + a) * D + 16 * (d0 + x)), _mm512_set1_ps(alpha[l0 + a]));
        for (int64_t jj = 0; jj < c; ++jj) {
          __m512 vr[4];
          for (int x = 0; x < 4; ++x) vr[x] = _mm512_loadu_ps(vrows + jj * vstride + 16 * (d0 + x));
          for (int a = 0; a < 4; ++a) {
            const __m512 p = _mm512_set1_ps(st[jj * L + l0 + a]);
            for (int x = 0; x < 4; ++x) acc[a][x] = _mm512_fmadd_ps(p, vr[x], acc[a][x]);
          }
        }
        for (int a = 0; a < 4; ++a)
          for (int x = 0; x < 4; ++x) _mm512_storeu_ps(o + (l0 + a) * D + 16 * (d0 + x), acc[a][x]);
      }
  }
  for (int z = 0; z < NZ; ++z) _mm512_storeu_ps(lsum + 16 * z, run_sum[z]);
  for (int l = 0; l < blk.m; ++l) {
    const __m512 inv = _mm512_set1_ps(1.0f / lsum[l]);
    for (int d = 0; d < D16; ++d) _mm512_storeu_ps(blk.out[l] + 16 * d, _mm512_mul_ps(_mm512_loadu_ps(o + l * D + 16 * d), inv));
  }
}

// All n_tok x n_q query vectors of a run in blocks of 32 (the last of 16 or fewer on one zmm).
template <int D16, typename KV>
void attend_run_blocks(const float* q, int64_t q_stride, int64_t n_tok, int64_t n_q, const KV* k, int64_t ks,
                       const KV* v, int64_t vs, int64_t n_kv0, float scale, float* out, int64_t out_stride) {
  const int64_t total = n_tok * n_q;
  for (int64_t i0 = 0; i0 < total; i0 += 32) {
    AttendBlock blk;
    blk.m = static_cast<int>(std::min<int64_t>(32, total - i0));
    for (int l = 0; l < blk.m; ++l) {
      const int64_t tok = (i0 + l) / n_q, head = (i0 + l) % n_q;
      blk.q[l] = q + tok * q_stride + head * D16 * 16;
      blk.out[l] = out + tok * out_stride + head * D16 * 16;
      blk.n_kv[l] = static_cast<int32_t>(n_kv0 + tok);
    }
    if (blk.m > 16) attend_block<D16, 2, KV>(blk, k, ks, v, vs, scale);
    else attend_block<D16, 1, KV>(blk, k, ks, v, vs, scale);
  }
}

// Runs of 16+ query vectors go through attend_run_blocks; shorter runs in blocks of 8 / n_q tokens
// through attend_eight when n_q divides 8; both only for head sizes with a kernel. Other tokens
// (and shapes) take attend_heads one token at a time.
template <typename KV>
void attend_tokens_avx512(const float* q, int64_t q_stride, int64_t n_tok, int64_t n_q, const KV* k, int64_t ks,
                          const KV* v, int64_t vs, int64_t n_kv0, int64_t head_dim, float scale, float* scores,
                          float* out, int64_t out_stride) {
  const bool has_kernel = head_dim == 64 || head_dim == 128 || head_dim == 256;
  // From 16 query vectors on, the matrix-product form (one zmm of lanes full).
  if (n_tok * n_q >= 16 && has_kernel) {
    if (head_dim == 64) attend_run_blocks<4>(q, q_stride, n_tok, n_q, k, ks, v, vs, n_kv0, scale, out, out_stride);
    else if (head_dim == 128) attend_run_blocks<8>(q, q_stride, n_tok, n_q, k, ks, v, vs, n_kv0, scale, out, out_stride);
    else attend_run_blocks<16>(q, q_stride, n_tok, n_q, k, ks, v, vs, n_kv0, scale, out, out_stride);
    return;
  }
  const bool blocked = n_q >= 1 && n_q <= 8 && 8 % n_q == 0 && has_kernel;
  const int64_t per_block = blocked ? 8 / n_q : 0;
  int64_t t = 0;
  for (; blocked && t + per_block <= n_tok; t += per_block) {
    const float* qv[8];
    int64_t nkv[8];
    float* ov[8];
    for (int i = 0; i < 8; ++i) {
      const int64_t tok = t + i / n_q, head = i % n_q;
      qv[i] = q + tok * q_stride + head * head_dim;
      ov[i] = out + tok * out_stride + head * head_dim;
      nkv[i] = n_kv0 + tok;
    }
    const int64_t ss = n_kv0 + t + per_block - 1;
    if (head_dim == 64) attend_eight<4>(qv, nkv, k, ks, v, vs, scale, scores, ss, ov);
    else if (head_dim == 128) attend_eight<8>(qv, nkv, k, ks, v, vs, scale, scores, ss, ov);
    else attend_eight<16>(qv, nkv, k, ks, v, vs, scale, scores, ss, ov);
  }
  for (; t < n_tok; ++t)
    attend_heads_avx512<KV>(q + t * q_stride, n_q, k, ks, v, vs, n_kv0 + t, head_dim, scale, scores, out + t * out_stride);
}

// Tile shapes: 32 zmm registers hold R*T accumulators plus the R weight vectors and their terms.
void q8_0_rows(const uint8_t* w, size_t ws, const uint8_t* act, size_t as, int64_t n_in, int64_t n_tokens, int64_t r0,
               int64_t r1, float* y, int64_t ldy) {
  if (n_tokens == 1) tile_loop<Q8_0Kernel, 4, 1>(w, ws, act, as, n_in, n_tokens, r0, r1, y, ldy);
  else tile_loop<Q8_0Kernel, 4, 4>(w, ws, act, as, n_in, n_tokens, r0, r1, y, ldy);
}
void q4_k_rows(const uint8_t* w, size_t ws, const uint8_t* act, size_t as, int64_t n_in, int64_t n_tokens, int64_t r0,
               int64_t r1, float* y, int64_t ldy) {
  if (n_tokens == 1) tile_loop<Q4_KKernel, 4, 1>(w, ws, act, as, n_in, n_tokens, r0, r1, y, ldy);
  else tile_loop<Q4_KKernel, 2, 4>(w, ws, act, as, n_in, n_tokens, r0, r1, y, ldy);
}
void q6_k_rows(const uint8_t* w, size_t ws, const uint8_t* act, size_t as, int64_t n_in, int64_t n_tokens, int64_t r0,
               int64_t r1, float* y, int64_t ldy) {
  if (n_tokens == 1) tile_loop<Q6_KKernel, 4, 1>(w, ws, act, as, n_in, n_tokens, r0, r1, y, ldy);
  else tile_loop<Q6_KKernel, 2, 4>(w, ws, act, as, n_in, n_tokens, r0, r1, y, ldy);
}
template <class Load>
void float_rows(const uint8_t* w, size_t ws, const uint8_t* act, size_t as, int64_t n_in, int64_t n_tokens, int64_t r0,
                int64_t r1, float* y, int64_t ldy) {
  if (n_tokens == 1) tile_loop<FloatKernel<Load>, 4, 1>(w, ws, act, as, n_in, n_tokens, r0, r1, y, ldy);
  else tile_loop<FloatKernel<Load>, 4, 4>(w, ws, act, as, n_in, n_tokens, r0, r1, y, ldy);
}

// 12 independent vpdpbusd chains (enough to cover the instruction's latency on two ports), 64
// multiply-adds each; the inputs come from the loop so the compiler cannot fold them.
int64_t int8_peak_loop_avx512(int64_t iters) {
  constexpr int kChains = 12;
  __m512i acc[kChains];
  for (int c = 0; c < kChains; ++c) acc[c] = _mm512_set1_epi32(c);
  const __m512i a = _mm512_set1_epi8(static_cast<char>(iters | 1)), b = _mm512_set1_epi8(3);
  for (int64_t i = 0; i < iters; ++i)
    for (int c = 0; c < kChains; ++c) acc[c] = _mm512_dpbusd_epi32(acc[c], a, b);
  __m512i sum = acc[0];
  for (int c = 1; c < kChains; ++c) sum = _mm512_add_epi32(sum, acc[c]);  // wraps: only kept, never used
  alignas(64) uint32_t lanes[16];  // unsigned: _mm512_reduce_add_epi32 would add in signed int (UB)
  _mm512_store_si512(lanes, sum);
  volatile uint32_t sink = lanes[0] ^ lanes[15];
  (void)sink;
  return iters * kChains * 64;
}

KernelTable make_table() {
  KernelTable t = avx2_kernels();
  t.int8_peak_loop = int8_peak_loop_avx512;
  t.isa = Isa::kAvx512;
  t.attend_heads = attend_heads_avx512<float>;
  t.attend_heads_f16 = attend_heads_avx512<uint16_t>;
  t.softmax = softmax_avx512;
  t.attend_tokens = attend_tokens_avx512<float>;
  t.attend_tokens_f16 = attend_tokens_avx512<uint16_t>;
  auto set_rows = [&](DType type, MatmulRowsFn rows) { t.matmul[static_cast<uint32_t>(type)].rows = rows; };
  set_rows(DType::F32, float_rows<LoadF32>);
  set_rows(DType::F16, float_rows<LoadF16>);
  set_rows(DType::BF16, float_rows<LoadBF16>);
  set_rows(DType::Q8_0, q8_0_rows);
  set_rows(DType::Q4_K, q4_k_rows);
  set_rows(DType::Q6_K, q6_k_rows);
  t.matmul[static_cast<uint32_t>(DType::Q8_0_R16)] = {DType::Q8_U32, quantize_act_q8_32<true>, packed_rows<Q8_0R16Kernel, 8>};
  t.matmul[static_cast<uint32_t>(DType::Q4_K_R16)] = {DType::Q8_S32, quantize_act_q8_32<false>, packed_rows<Q4_KR16Kernel, 8>};
  t.matmul[static_cast<uint32_t>(DType::Q6_K_R16)] = {DType::Q8_S32, quantize_act_q8_32<false>, packed_rows<Q6_KR16Kernel, 8>};
  t.matmul[static_cast<uint32_t>(DType::BF16_R16)] = {DType::F32, nullptr, packed_rows<Bf16R16Kernel, 8>};
  // Packing on the fly pays from 4 tokens on for Q8_0 and Q4_K, from 8 for Q6_K, whose mapped
  // kernel is closer to the repacked one (bench/matmul_bench, docs/BENCHMARKS.md).
  for (auto [packed, min_tokens] : {std::pair{DType::Q8_0_R16, 4}, {DType::Q4_K_R16, 4}, {DType::Q6_K_R16, 8}}) {
    t.matmul[static_cast<uint32_t>(packed)].pack = avx512_packer(packed);
    t.matmul[static_cast<uint32_t>(packed)].pack_min_tokens = min_tokens;
  }
  return t;
}

}  // namespace

const KernelTable& avx512_kernels() {
  static const KernelTable table = make_table();
  return table;
}

}  // namespace kaiyuan::kernels
