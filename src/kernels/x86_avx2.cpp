// AVX2 + FMA + F16C kernels (the x86-64-v3 baseline every build assumes): on-the-fly activation
// quantizers, integer dot-product tiles for Q8_0 / Q4_K / Q6_K weights (ggml-cpu's arch/x86/quants.c
// maddubs scheme), FMA tiles for F32/F16/BF16 weights, a dequantize-then-FMA path for the rest, and
// the small f32 ops (softmax, SwiGLU, RMSNorm, one-head attention) on a polynomial exp.
#include <immintrin.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <vector>

#include "kernels/kernel_table.h"
#include "kernels/quant/quant.h"
#include "kernels/x86_tiles.h"

namespace kaiyuan::kernels {
namespace {

using quant::kQK;
using quant::kQK_K;

inline float load_f16(const uint8_t* p) {
  uint16_t h;
  std::memcpy(&h, p, sizeof(h));
  return _cvtsh_ss(h);
}

inline float hsum(__m256 v) {
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  s = _mm_add_ss(s, _mm_movehdup_ps(s));
  return _mm_cvtss_f32(s);
}

inline float hmax(__m256 v) {
  __m128 s = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s = _mm_max_ps(s, _mm_movehl_ps(s, s));
  s = _mm_max_ss(s, _mm_movehdup_ps(s));
  return _mm_cvtss_f32(s);
}

inline __m256 abs_ps(__m256 v) { return _mm256_andnot_ps(_mm256_set1_ps(-0.0f), v); }

// 32 floats (already scaled) -> 32 int8 in order, rounding to nearest even as ggml's AVX2
// quantize_row_q8_0 does (the scalar reference rounds halves away from zero: ties differ by one level).
inline __m256i round_pack_32(__m256 v0, __m256 v1, __m256 v2, __m256 v3) {
  const __m256i i0 = _mm256_cvtps_epi32(v0), i1 = _mm256_cvtps_epi32(v1);
  const __m256i i2 = _mm256_cvtps_epi32(v2), i3 = _mm256_cvtps_epi32(v3);
  const __m256i p = _mm256_packs_epi16(_mm256_packs_epi32(i0, i1), _mm256_packs_epi32(i2, i3));
  // packs work within 128-bit lanes; this restores element order
  return _mm256_permutevar8x32_epi32(p, _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7));
}

// ---- activation quantizers ----------------------------------------------------------------------

// ggml quantize_row_q8_0: d = max|x| / 127 stored as f16, q = round(x / d).
void quantize_act_q8_0(const float* x, uint8_t* dst, int64_t n) {
  for (int64_t b = 0; b < n / kQK; ++b, x += kQK, dst += sizeof(quant::BlockQ8_0)) {
    const __m256 v0 = _mm256_loadu_ps(x), v1 = _mm256_loadu_ps(x + 8);
    const __m256 v2 = _mm256_loadu_ps(x + 16), v3 = _mm256_loadu_ps(x + 24);
    const __m256 m = _mm256_max_ps(_mm256_max_ps(abs_ps(v0), abs_ps(v1)), _mm256_max_ps(abs_ps(v2), abs_ps(v3)));
    const float d = hmax(m) / 127.0f;
    const float id = d != 0.0f ? 1.0f / d : 0.0f;
    const uint16_t dh = _cvtss_sh(d, 0);
    std::memcpy(dst, &dh, sizeof(dh));
    const __m256 s = _mm256_set1_ps(id);
    const __m256i q = round_pack_32(_mm256_mul_ps(v0, s), _mm256_mul_ps(v1, s), _mm256_mul_ps(v2, s), _mm256_mul_ps(v3, s));
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(dst + 2), q);
  }
}

// ggml quantize_row_q8_K_ref: scale from the signed value of largest magnitude (iscale = -127/max),
// q = min(127, round(iscale * x)), d = 1/iscale, plus the sum of every 16 levels (bsums).
void quantize_act_q8_k(const float* x, uint8_t* dst, int64_t n) {
  for (int64_t b = 0; b < n / kQK_K; ++b, x += kQK_K, dst += sizeof(quant::BlockQ8_K)) {
    __m256 m = _mm256_setzero_ps();
    for (int j = 0; j < kQK_K; j += 8) m = _mm256_max_ps(m, abs_ps(_mm256_loadu_ps(x + j)));
    const float amax = hmax(m);
    quant::BlockQ8_K blk;
    if (amax == 0.0f) {
      std::memset(&blk, 0, sizeof(blk));
      std::memcpy(dst, &blk, sizeof(blk));
      continue;
    }
    int first = 0;
    while (std::fabs(x[first]) != amax) ++first;  // the reference keeps the first maximum
    const float iscale = -127.0f / x[first];
    const __m256 s = _mm256_set1_ps(iscale);
    for (int j = 0; j < kQK_K; j += 32) {
      const __m256i q = round_pack_32(_mm256_mul_ps(_mm256_loadu_ps(x + j), s), _mm256_mul_ps(_mm256_loadu_ps(x + j + 8), s),
                                      _mm256_mul_ps(_mm256_loadu_ps(x + j + 16), s), _mm256_mul_ps(_mm256_loadu_ps(x + j + 24), s));
      _mm256_storeu_si256(reinterpret_cast<__m256i*>(blk.qs + j), _mm256_min_epi8(q, _mm256_set1_epi8(127)));
    }
    for (int g = 0; g < kQK_K / 16; ++g) {
      const __m256i w = _mm256_cvtepi8_epi16(_mm_loadu_si128(reinterpret_cast<const __m128i*>(blk.qs + 16 * g)));
      const __m256i p = _mm256_madd_epi16(w, _mm256_set1_epi16(1));
      __m128i s4 = _mm_add_epi32(_mm256_castsi256_si128(p), _mm256_extracti128_si256(p, 1));
      s4 = _mm_hadd_epi32(s4, s4);
      s4 = _mm_hadd_epi32(s4, s4);
      blk.bsums[g] = static_cast<int16_t>(_mm_cvtsi128_si32(s4));
    }
    blk.d = 1.0f / iscale;
    std::memcpy(dst, &blk, sizeof(blk));
  }
}

// ---- Q8_0 weights x Q8_0 activations ------------------------------------------------------------

// maddubs multiplies unsigned by signed bytes: |w| times x with w's sign (ggml mul_sum_i8_pairs).
inline __m256i dot_i8_32(__m256i w_abs, __m256i w, __m256i x) {
  const __m256i p16 = _mm256_maddubs_epi16(w_abs, _mm256_sign_epi8(x, w));
  return _mm256_madd_epi16(p16, _mm256_set1_epi16(1));
}

struct Q8_0Kernel {
  template <int R, int T>
  static void tile(const TileArgs& a) {
    constexpr size_t kB = sizeof(quant::BlockQ8_0);
    __m256 acc[R][T];
    for (auto& row : acc)
      for (auto& v : row) v = _mm256_setzero_ps();
    const int64_t nb = a.n_in / kQK;
    for (int64_t b = 0; b < nb; ++b) {
      __m256i wq[R], wabs[R];
      float dw[R];
      for (int r = 0; r < R; ++r) {
        const uint8_t* blk = a.w + r * a.w_stride + b * kB;
        prefetch_ahead<kB>(blk);
        dw[r] = load_f16(blk);
        wq[r] = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(blk + 2));
        wabs[r] = _mm256_sign_epi8(wq[r], wq[r]);
      }
      for (int t = 0; t < T; ++t) {
        const uint8_t* xb = a.act + t * a.act_stride + b * kB;
        const float dx = load_f16(xb);
        const __m256i xq = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(xb + 2));
        for (int r = 0; r < R; ++r)
          acc[r][t] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(dot_i8_32(wabs[r], wq[r], xq)), _mm256_set1_ps(dw[r] * dx), acc[r][t]);
      }
    }
    for (int t = 0; t < T; ++t)
      for (int r = 0; r < R; ++r) a.y[t * a.ldy + r] = hsum(acc[r][t]);
  }
};

// ---- Q4_K weights x Q8_K activations ------------------------------------------------------------

// ggml get_scale_min_k4: eight 6-bit scales and mins packed in 12 bytes.
inline void unpack_q4_k_scales(const uint8_t* q, uint8_t* sc, uint8_t* mn) {
  for (int j = 0; j < 4; ++j) {
    sc[j] = q[j] & 63;
    mn[j] = q[j + 4] & 63;
  }
  for (int j = 4; j < 8; ++j) {
    sc[j] = (q[j + 4] & 0xF) | ((q[j - 4] >> 6) << 4);
    mn[j] = (q[j + 4] >> 4) | ((q[j] >> 6) << 4);
  }
}

// Offsets inside ggml's block_q4_K {d, dmin, scales[12], qs[128]} and block_q8_K {d, qs[256], bsums[16]}.
constexpr size_t kQ4kScales = 4, kQ4kQs = 16;
constexpr size_t kQ8kQs = 4, kQ8kBsums = 4 + kQK_K;

struct Q4_KKernel {
  template <int R, int T>
  static void tile(const TileArgs& a) {
    constexpr size_t kWB = sizeof(quant::BlockQ4_K), kXB = sizeof(quant::BlockQ8_K);
    const __m256i m4 = _mm256_set1_epi8(0x0F);
    __m256 acc[R][T];
    for (auto& row : acc)
      for (auto& v : row) v = _mm256_setzero_ps();
    const int64_t nb = a.n_in / kQK_K;
    for (int64_t b = 0; b < nb; ++b) {
      float d[R], dmin[R];
      uint8_t sc[R][8];
      __m256i mins[R];
      for (int r = 0; r < R; ++r) {
        const uint8_t* blk = a.w + r * a.w_stride + b * kWB;
        prefetch_ahead<kWB>(blk);
        d[r] = load_f16(blk);
        dmin[r] = load_f16(blk + 2);
        uint8_t mn[8];
        unpack_q4_k_scales(blk + kQ4kScales, sc[r], mn);
        // one min per 32 levels, paired with two bsums of 16
        mins[r] = _mm256_cvtepu8_epi16(_mm_setr_epi8(mn[0], mn[0], mn[1], mn[1], mn[2], mn[2], mn[3], mn[3], mn[4], mn[4],
                                                     mn[5], mn[5], mn[6], mn[6], mn[7], mn[7]));
      }
      __m256i sumi[R][T];
      for (auto& row : sumi)
        for (auto& v : row) v = _mm256_setzero_si256();
      for (int j = 0; j < kQK_K / 64; ++j) {
        __m256i lo[R], hi[R];
        for (int r = 0; r < R; ++r) {
          const __m256i q = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(a.w + r * a.w_stride + b * kWB + kQ4kQs + 32 * j));
          lo[r] = _mm256_and_si256(q, m4);
          hi[r] = _mm256_and_si256(_mm256_srli_epi16(q, 4), m4);
        }
        for (int t = 0; t < T; ++t) {
          const uint8_t* xq = a.act + t * a.act_stride + b * kXB + kQ8kQs + 64 * j;
          const __m256i ylo = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(xq));
          const __m256i yhi = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(xq + 32));
          for (int r = 0; r < R; ++r) {
            const __m256i plo = _mm256_madd_epi16(_mm256_maddubs_epi16(lo[r], ylo), _mm256_set1_epi16(sc[r][2 * j]));
            const __m256i phi = _mm256_madd_epi16(_mm256_maddubs_epi16(hi[r], yhi), _mm256_set1_epi16(sc[r][2 * j + 1]));
            sumi[r][t] = _mm256_add_epi32(sumi[r][t], _mm256_add_epi32(plo, phi));
          }
        }
      }
      for (int t = 0; t < T; ++t) {
        const uint8_t* xb = a.act + t * a.act_stride + b * kXB;
        float dx;
        std::memcpy(&dx, xb, sizeof(dx));
        const __m256i bsums = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(xb + kQ8kBsums));
        for (int r = 0; r < R; ++r) {
          const __m256 summ = _mm256_cvtepi32_ps(_mm256_madd_epi16(mins[r], bsums));
          acc[r][t] = _mm256_fmadd_ps(_mm256_set1_ps(d[r] * dx), _mm256_cvtepi32_ps(sumi[r][t]), acc[r][t]);
          acc[r][t] = _mm256_fnmadd_ps(_mm256_set1_ps(dmin[r] * dx), summ, acc[r][t]);
        }
      }
    }
    for (int t = 0; t < T; ++t)
      for (int r = 0; r < R; ++r) a.y[t * a.ldy + r] = hsum(acc[r][t]);
  }
};

// ---- Q6_K weights x Q8_K activations ------------------------------------------------------------

// Offsets inside ggml's block_q6_K {ql[128], qh[64], scales[16], d}.
constexpr size_t kQ6kQh = 128, kQ6kScales = 192, kQ6kD = 208;

// The four 32-level groups of one 128-level half (ggml dequantize_row_q6_K): low nibbles of ql[0:32],
// ql[32:64], then their high nibbles, each topped with two bits of qh. Levels are 0..63 (the -32
// offset is applied through the activation sums).
inline void unpack_q6_k_half(const uint8_t* ql, const uint8_t* qh, __m256i q[4]) {
  const __m256i m4 = _mm256_set1_epi8(0x0F), m2 = _mm256_set1_epi8(0x30);
  const __m256i l0 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(ql));
  const __m256i l1 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(ql + 32));
  const __m256i h = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(qh));
  q[0] = _mm256_or_si256(_mm256_and_si256(l0, m4), _mm256_and_si256(_mm256_slli_epi16(h, 4), m2));
  q[1] = _mm256_or_si256(_mm256_and_si256(l1, m4), _mm256_and_si256(_mm256_slli_epi16(h, 2), m2));
  q[2] = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(l0, 4), m4), _mm256_and_si256(h, m2));
  q[3] = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(l1, 4), m4), _mm256_and_si256(_mm256_srli_epi16(h, 2), m2));
}

struct Q6_KKernel {
  template <int R, int T>
  static void tile(const TileArgs& a) {
    constexpr size_t kWB = sizeof(quant::BlockQ6_K), kXB = sizeof(quant::BlockQ8_K);
    __m256 acc[R][T];
    for (auto& row : acc)
      for (auto& v : row) v = _mm256_setzero_ps();
    const int64_t nb = a.n_in / kQK_K;
    for (int64_t b = 0; b < nb; ++b) {
      float d[R];
      __m256i sc16[R];  // the 16 scales as int16, one per 16 levels (= per bsum)
      const uint8_t* blk[R];
      for (int r = 0; r < R; ++r) {
        blk[r] = a.w + r * a.w_stride + b * kWB;
        prefetch_ahead<kWB>(blk[r]);
        d[r] = load_f16(blk[r] + kQ6kD);
        sc16[r] = _mm256_cvtepi8_epi16(_mm_loadu_si128(reinterpret_cast<const __m128i*>(blk[r] + kQ6kScales)));
      }
      __m256i sumi[R][T];
      for (auto& row : sumi)
        for (auto& v : row) v = _mm256_setzero_si256();
      for (int h = 0; h < 2; ++h) {
        for (int r = 0; r < R; ++r) {
          __m256i q[4];
          unpack_q6_k_half(blk[r] + 64 * h, blk[r] + kQ6kQh + 32 * h, q);
          const auto* s = reinterpret_cast<const int8_t*>(blk[r] + kQ6kScales + 8 * h);
          __m256i scv[4];
          for (int k = 0; k < 4; ++k) scv[k] = _mm256_setr_m128i(_mm_set1_epi16(s[2 * k]), _mm_set1_epi16(s[2 * k + 1]));
          for (int t = 0; t < T; ++t) {
            const uint8_t* xq = a.act + t * a.act_stride + b * kXB + kQ8kQs + 128 * h;
            __m256i s32 = sumi[r][t];
            for (int k = 0; k < 4; ++k) {
              const __m256i y = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(xq + 32 * k));
              s32 = _mm256_add_epi32(s32, _mm256_madd_epi16(_mm256_maddubs_epi16(q[k], y), scv[k]));
            }
            sumi[r][t] = s32;
          }
        }
      }
      for (int t = 0; t < T; ++t) {
        const uint8_t* xb = a.act + t * a.act_stride + b * kXB;
        float dx;
        std::memcpy(&dx, xb, sizeof(dx));
        const __m256i bsums = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(xb + kQ8kBsums));
        for (int r = 0; r < R; ++r) {
          // levels were stored +32: subtract 32 * sum(scale * x) per 16 levels
          const __m256i bias = _mm256_slli_epi32(_mm256_madd_epi16(sc16[r], bsums), 5);
          acc[r][t] = _mm256_fmadd_ps(_mm256_set1_ps(d[r] * dx), _mm256_cvtepi32_ps(_mm256_sub_epi32(sumi[r][t], bias)), acc[r][t]);
        }
      }
    }
    for (int t = 0; t < T; ++t)
      for (int r = 0; r < R; ++r) a.y[t * a.ldy + r] = hsum(acc[r][t]);
  }
};

// ---- F32 / F16 / BF16 weights x f32 activations -------------------------------------------------

struct LoadF32 {
  static constexpr size_t kBytes = 4;
  static __m256 load8(const uint8_t* p) { return _mm256_loadu_ps(reinterpret_cast<const float*>(p)); }
  static float load1(const uint8_t* p) {
    float f;
    std::memcpy(&f, p, sizeof(f));
    return f;
  }
};
struct LoadF16 {
  static constexpr size_t kBytes = 2;
  static __m256 load8(const uint8_t* p) { return _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p))); }
  static float load1(const uint8_t* p) { return load_f16(p); }
};
struct LoadBF16 {  // bf16 is the top half of an f32
  static constexpr size_t kBytes = 2;
  static __m256 load8(const uint8_t* p) {
    const __m256i v = _mm256_cvtepu16_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));
    return _mm256_castsi256_ps(_mm256_slli_epi32(v, 16));
  }
  static float load1(const uint8_t* p) {
    uint16_t h;
    std::memcpy(&h, p, sizeof(h));
    const uint32_t u = static_cast<uint32_t>(h) << 16;
    float f;
    std::memcpy(&f, &u, sizeof(f));
    return f;
  }
};

template <class Load>
struct FloatKernel {
  template <int R, int T>
  static void tile(const TileArgs& a) {
    __m256 acc[R][T];
    for (auto& row : acc)
      for (auto& v : row) v = _mm256_setzero_ps();
    const int64_t n8 = a.n_in / 8 * 8;
    for (int64_t k = 0; k < n8; k += 8) {
      __m256 wv[R];
      if (k * Load::kBytes % 64 == 0)
        for (int r = 0; r < R; ++r) prefetch_ahead<64>(a.w + r * a.w_stride + k * Load::kBytes);
      for (int r = 0; r < R; ++r) wv[r] = Load::load8(a.w + r * a.w_stride + k * Load::kBytes);
      for (int t = 0; t < T; ++t) {
        const __m256 xv = _mm256_loadu_ps(reinterpret_cast<const float*>(a.act + t * a.act_stride) + k);
        for (int r = 0; r < R; ++r) acc[r][t] = _mm256_fmadd_ps(wv[r], xv, acc[r][t]);
      }
    }
    for (int t = 0; t < T; ++t) {
      const float* x = reinterpret_cast<const float*>(a.act + t * a.act_stride);
      for (int r = 0; r < R; ++r) {
        float s = hsum(acc[r][t]);
        for (int64_t k = n8; k < a.n_in; ++k) s += Load::load1(a.w + r * a.w_stride + k * Load::kBytes) * x[k];
        a.y[t * a.ldy + r] = s;
      }
    }
  }
};

// ---- any other type: dequantize one row, then FMA ------------------------------------------------

template <DType kType>
void dequant_rows(const uint8_t* w, size_t w_stride, const uint8_t* act, size_t act_stride, int64_t n_in,
                  int64_t n_tokens, int64_t r0, int64_t r1, float* y, int64_t ldy) {
  thread_local std::vector<float> row;  // grows only
  if (row.size() < static_cast<size_t>(n_in)) row.resize(static_cast<size_t>(n_in));
  for (int64_t r = r0; r < r1; ++r) {
    quant::dequantize_row(kType, w + static_cast<size_t>(r) * w_stride, row.data(), n_in);
    const TileArgs tile{reinterpret_cast<const uint8_t*>(row.data()), 0, act, act_stride, n_in, y + r, ldy};
    for (int64_t t = 0; t < n_tokens; ++t) {
      TileArgs one = tile;
      one.act += static_cast<size_t>(t) * act_stride;
      one.y += t * ldy;
      FloatKernel<LoadF32>::tile<1, 1>(one);
    }
  }
}

// ---- small f32 ops: softmax, SwiGLU, RMSNorm, attention of one head -----------------------------

// e^x for x <= 88.37 (larger saturates), relative error ~2e-7: Cephes expf (range reduction by
// ln 2 split in a high and a low part, degree-5 polynomial, 2^n through the exponent bits).
inline __m256 exp_ps(__m256 x) {
  x = _mm256_min_ps(x, _mm256_set1_ps(88.3762626647949f));
  x = _mm256_max_ps(x, _mm256_set1_ps(-87.3365447504f));  // below: e^x would be denormal; flush
  const __m256 fx = _mm256_round_ps(_mm256_mul_ps(x, _mm256_set1_ps(1.44269504088896341f)),
                                    _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  x = _mm256_fnmadd_ps(fx, _mm256_set1_ps(0.693359375f), x);
  x = _mm256_fnmadd_ps(fx, _mm256_set1_ps(-2.12194440e-4f), x);
  __m256 p = _mm256_set1_ps(1.9875691500e-4f);
  p = _mm256_fmadd_ps(p, x, _mm256_set1_ps(1.3981999507e-3f));
  p = _mm256_fmadd_ps(p, x, _mm256_set1_ps(8.3334519073e-3f));
  p = _mm256_fmadd_ps(p, x, _mm256_set1_ps(4.1665795894e-2f));
  p = _mm256_fmadd_ps(p, x, _mm256_set1_ps(1.6666665459e-1f));
  p = _mm256_fmadd_ps(p, x, _mm256_set1_ps(5.0000001201e-1f));
  p = _mm256_fmadd_ps(p, _mm256_mul_ps(x, x), _mm256_add_ps(x, _mm256_set1_ps(1.0f)));
  const __m256i e = _mm256_slli_epi32(_mm256_add_epi32(_mm256_cvtps_epi32(fx), _mm256_set1_epi32(127)), 23);
  return _mm256_mul_ps(p, _mm256_castsi256_ps(e));
}

void softmax_avx2(float* x, int64_t n) {
  const int64_t n8 = n / 8 * 8;
  __m256 m8 = _mm256_set1_ps(-INFINITY);
  for (int64_t i = 0; i < n8; i += 8) m8 = _mm256_max_ps(m8, _mm256_loadu_ps(x + i));
  float max_v = hmax(m8);
  for (int64_t i = n8; i < n; ++i) max_v = std::max(max_v, x[i]);
  const __m256 mv = _mm256_set1_ps(max_v);
  __m256 s8 = _mm256_setzero_ps();
  for (int64_t i = 0; i < n8; i += 8) {
    const __m256 e = exp_ps(_mm256_sub_ps(_mm256_loadu_ps(x + i), mv));
    _mm256_storeu_ps(x + i, e);
    s8 = _mm256_add_ps(s8, e);
  }
  float sum = hsum(s8);
  for (int64_t i = n8; i < n; ++i) {
    x[i] = std::exp(x[i] - max_v);
    sum += x[i];
  }
  const __m256 inv = _mm256_set1_ps(1.0f / sum);
  for (int64_t i = 0; i < n8; i += 8) _mm256_storeu_ps(x + i, _mm256_mul_ps(_mm256_loadu_ps(x + i), inv));
  for (int64_t i = n8; i < n; ++i) x[i] *= 1.0f / sum;
}

void swiglu_avx2(const float* gate, const float* up, int64_t n, float* out) {
  const int64_t n8 = n / 8 * 8;
  const __m256 one = _mm256_set1_ps(1.0f);
  for (int64_t i = 0; i < n8; i += 8) {
    const __m256 g = _mm256_loadu_ps(gate + i);
    const __m256 silu = _mm256_div_ps(g, _mm256_add_ps(one, exp_ps(_mm256_sub_ps(_mm256_setzero_ps(), g))));
    _mm256_storeu_ps(out + i, _mm256_mul_ps(silu, _mm256_loadu_ps(up + i)));
  }
  for (int64_t i = n8; i < n; ++i) out[i] = gate[i] / (1.0f + std::exp(-gate[i])) * up[i];
}

void rmsnorm_avx2(const float* x, const float* weight, int64_t n, float eps, float* y) {
  const int64_t n8 = n / 8 * 8;
  __m256 s8 = _mm256_setzero_ps();
  for (int64_t i = 0; i < n8; i += 8) {
    const __m256 v = _mm256_loadu_ps(x + i);
    s8 = _mm256_fmadd_ps(v, v, s8);
  }
  double sum_sq = hsum(s8);
  for (int64_t i = n8; i < n; ++i) sum_sq += static_cast<double>(x[i]) * x[i];
  const float scale = static_cast<float>(1.0 / std::sqrt(sum_sq / static_cast<double>(n) + eps));
  for (int64_t i = 0; i < n; ++i) y[i] = x[i] * scale * (weight != nullptr ? weight[i] : 1.0f);
}

// Eight K/V elements as f32, from an f32 or an f16 (F16C) cache row.
inline __m256 load8(const float* p) { return _mm256_loadu_ps(p); }
inline __m256 load8(const uint16_t* p) { return _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p))); }
inline float to_f32(float x) { return x; }
inline float to_f32(uint16_t h) { return _cvtsh_ss(h); }

template <typename KV>
inline float dot_kv(const float* a, const KV* b, int64_t n) {
  const int64_t n8 = n / 8 * 8;
  __m256 s = _mm256_setzero_ps();
  for (int64_t i = 0; i < n8; i += 8) s = _mm256_fmadd_ps(_mm256_loadu_ps(a + i), load8(b + i), s);
  float r = hsum(s);
  for (int64_t i = n8; i < n; ++i) r += a[i] * to_f32(b[i]);
  return r;
}

template <typename KV>
void attend_head_avx2(const float* q, const KV* k, int64_t k_stride, const KV* v, int64_t v_stride, int64_t n_kv,
                      int64_t head_dim, float scale, float* scores, float* out) {
  for (int64_t j = 0; j < n_kv; ++j) scores[j] = dot_kv(q, k + j * k_stride, head_dim) * scale;
  softmax_avx2(scores, n_kv);
  const int64_t n8 = head_dim / 8 * 8;
  for (int64_t d = 0; d < head_dim; ++d) out[d] = 0.0f;
  for (int64_t j = 0; j < n_kv; ++j) {
    const KV* vj = v + j * v_stride;
    const __m256 p = _mm256_set1_ps(scores[j]);
    for (int64_t d = 0; d < n8; d += 8)
      _mm256_storeu_ps(out + d, _mm256_fmadd_ps(p, load8(vj + d), _mm256_loadu_ps(out + d)));
    for (int64_t d = n8; d < head_dim; ++d) out[d] += scores[j] * to_f32(vj[d]);
  }
}

template <typename KV>
void attend_heads_avx2(const float* q, int64_t n_q, const KV* k, int64_t k_stride, const KV* v, int64_t v_stride,
                       int64_t n_kv, int64_t head_dim, float scale, float* scores, float* out) {
  for (int64_t i = 0; i < n_q; ++i)
    attend_head_avx2(q + i * head_dim, k, k_stride, v, v_stride, n_kv, head_dim, scale, scores + i * n_kv,
                     out + i * head_dim);
}

void f32_to_f16_avx2(const float* src, uint16_t* dst, int64_t n) {
  int64_t i = 0;
  for (; i + 8 <= n; i += 8)
    _mm_storeu_si128(reinterpret_cast<__m128i*>(dst + i), _mm256_cvtps_ph(_mm256_loadu_ps(src + i), _MM_FROUND_TO_NEAREST_INT));
  for (; i < n; ++i) dst[i] = _cvtss_sh(src[i], _MM_FROUND_TO_NEAREST_INT);
}

// Tile shapes: 16 ymm registers hold R*T accumulators plus R weight vectors.
void q8_0_rows(const uint8_t* w, size_t ws, const uint8_t* act, size_t as, int64_t n_in, int64_t n_tokens, int64_t r0,
               int64_t r1, float* y, int64_t ldy) {
  if (n_tokens == 1) tile_loop<Q8_0Kernel, 4, 1>(w, ws, act, as, n_in, n_tokens, r0, r1, y, ldy);
  else tile_loop<Q8_0Kernel, 2, 4>(w, ws, act, as, n_in, n_tokens, r0, r1, y, ldy);
}
void q4_k_rows(const uint8_t* w, size_t ws, const uint8_t* act, size_t as, int64_t n_in, int64_t n_tokens, int64_t r0,
               int64_t r1, float* y, int64_t ldy) {
  tile_loop<Q4_KKernel, 2, 2>(w, ws, act, as, n_in, n_tokens, r0, r1, y, ldy);
}
void q6_k_rows(const uint8_t* w, size_t ws, const uint8_t* act, size_t as, int64_t n_in, int64_t n_tokens, int64_t r0,
               int64_t r1, float* y, int64_t ldy) {
  tile_loop<Q6_KKernel, 2, 2>(w, ws, act, as, n_in, n_tokens, r0, r1, y, ldy);
}
template <class Load>
void float_rows(const uint8_t* w, size_t ws, const uint8_t* act, size_t as, int64_t n_in, int64_t n_tokens, int64_t r0,
                int64_t r1, float* y, int64_t ldy) {
  if (n_tokens == 1) tile_loop<FloatKernel<Load>, 4, 1>(w, ws, act, as, n_in, n_tokens, r0, r1, y, ldy);
  else tile_loop<FloatKernel<Load>, 4, 2>(w, ws, act, as, n_in, n_tokens, r0, r1, y, ldy);
}

// AVX2 has no int8 dot product: vpmaddubsw + vpmaddwd + vpaddd give 32 multiply-adds (what the
// AVX2 quantized kernels use); 8 independent chains.
int64_t int8_peak_loop_avx2(int64_t iters) {
  constexpr int kChains = 8;
  __m256i acc[kChains];
  for (int c = 0; c < kChains; ++c) acc[c] = _mm256_set1_epi32(c);
  __m256i b[kChains];  // one weight vector per chain, so the chains' products are distinct
  for (int c = 0; c < kChains; ++c) b[c] = _mm256_set1_epi8(static_cast<char>(c + 1));
  const __m256i ones = _mm256_set1_epi16(1);
  __m256i x = _mm256_set1_epi8(static_cast<char>(iters | 1));
  for (int64_t i = 0; i < iters; ++i) {
    asm volatile("" : "+x"(x));  // x "changes" every round, so the products are not hoisted
    for (int c = 0; c < kChains; ++c)
      acc[c] = _mm256_add_epi32(acc[c], _mm256_madd_epi16(_mm256_maddubs_epi16(x, b[c]), ones));
  }
  __m256i sum = acc[0];
  for (int c = 1; c < kChains; ++c) sum = _mm256_add_epi32(sum, acc[c]);
  alignas(32) uint32_t lanes[8];  // unsigned: the sums wrap
  _mm256_store_si256(reinterpret_cast<__m256i*>(lanes), sum);
  volatile uint32_t sink = lanes[0] ^ lanes[7];
  (void)sink;
  return iters * kChains * 32;
}

KernelTable make_table() {
  KernelTable t;
  t.isa = Isa::kAvx2;
  t.int8_peak_loop = int8_peak_loop_avx2;
  t.rmsnorm = rmsnorm_avx2;
  t.swiglu = swiglu_avx2;
  t.softmax = softmax_avx2;
  t.attend_heads = attend_heads_avx2<float>;
  t.attend_heads_f16 = attend_heads_avx2<uint16_t>;
  t.f32_to_f16 = f32_to_f16_avx2;
  auto set = [&](DType type, MatmulKernel k) { t.matmul[static_cast<uint32_t>(type)] = k; };
  set(DType::F32, {DType::F32, nullptr, float_rows<LoadF32>});
  set(DType::F16, {DType::F32, nullptr, float_rows<LoadF16>});
  set(DType::BF16, {DType::F32, nullptr, float_rows<LoadBF16>});
  set(DType::Q8_0, {DType::Q8_0, quantize_act_q8_0, q8_0_rows});
  set(DType::Q4_K, {DType::Q8_K, quantize_act_q8_k, q4_k_rows});
  set(DType::Q6_K, {DType::Q8_K, quantize_act_q8_k, q6_k_rows});
  set(DType::Q4_0, {DType::F32, nullptr, dequant_rows<DType::Q4_0>});
  set(DType::Q4_1, {DType::F32, nullptr, dequant_rows<DType::Q4_1>});
  set(DType::Q5_0, {DType::F32, nullptr, dequant_rows<DType::Q5_0>});
  set(DType::Q5_1, {DType::F32, nullptr, dequant_rows<DType::Q5_1>});
  set(DType::Q5_K, {DType::F32, nullptr, dequant_rows<DType::Q5_K>});
  return t;
}

}  // namespace

const KernelTable& avx2_kernels() {
  static const KernelTable table = make_table();
  return table;
}

}  // namespace kaiyuan::kernels
