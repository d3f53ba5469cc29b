// AVX-512 packers: 16 mapped rows -> one group of a repacked layout (packed_layout.h), byte for
// byte what the portable packer writes. Fast enough to run per batch (matmul_packing_with packs
// MoE experts on the fly): each packed line holds one 4-byte chunk of each of 16 rows, which is a
// 16 x 8 dword transpose of the rows' chunks, done in registers instead of 128 scalar moves.
#pragma GCC diagnostic ignored "-Wuninitialized"
#if !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif
#include <immintrin.h>

#include <cstddef>
#include <cstring>

#include "kernels/packed_layout.h"
#include "kernels/kernel_table.h"
#include "kernels/quant/quant.h"

namespace kaiyuan::kernels {
namespace {

// rows[i] holds 8 dwords (chunks) of row i; stores line c (dword c of rows 0..15, in row order)
// at out + 64 * c for c in 0..7 and returns the lines' per-row byte sums when Sum (Q8_0's wsum).
// Rows k and k + 8 share a register (halves), a 4x4 dword transpose per 128-bit lane leaves line
// 4q + m's rows in lanes q (rows 0-3, 4-7) and 2 + q (8-11, 12-15) of two registers, and two lane
// shuffles put them in order.
template <bool Sum>
__m512i transpose_store(const __m256i (&rows)[16], uint8_t* out) {
  __m512i z[8], t[8], u[8];
  for (int k = 0; k < 8; ++k) z[k] = _mm512_inserti64x4(_mm512_castsi256_si512(rows[k]), rows[k + 8], 1);
  for (int k = 0; k < 8; k += 2) {
    t[k] = _mm512_unpacklo_epi32(z[k], z[k + 1]);
    t[k + 1] = _mm512_unpackhi_epi32(z[k], z[k + 1]);
  }
  for (int k = 0; k < 8; k += 4) {  // u[k + m]: dword m of each lane, rows k..k+3 (+8 in the upper half)
    u[k + 0] = _mm512_unpacklo_epi64(t[k], t[k + 2]);
    u[k + 1] = _mm512_unpackhi_epi64(t[k], t[k + 2]);
    u[k + 2] = _mm512_unpacklo_epi64(t[k + 1], t[k + 3]);
    u[k + 3] = _mm512_unpackhi_epi64(t[k + 1], t[k + 3]);
  }
  __m512i sum = _mm512_setzero_si512();
  const __m512i ones = _mm512_set1_epi8(1);
  for (int m = 0; m < 4; ++m) {
    const __m512i lo = _mm512_shuffle_i32x4(u[m], u[4 + m], 0x88);  // lanes 0, 2 of each: chunk m
    const __m512i hi = _mm512_shuffle_i32x4(u[m], u[4 + m], 0xDD);  // lanes 1, 3: chunk 4 + m
    const __m512i line_lo = _mm512_shuffle_i32x4(lo, lo, 0xD8), line_hi = _mm512_shuffle_i32x4(hi, hi, 0xD8);
    _mm512_storeu_si512(out + 64 * m, line_lo);
    _mm512_storeu_si512(out + 64 * (4 + m), line_hi);
    if constexpr (Sum) sum = _mm512_dpbusd_epi32(_mm512_dpbusd_epi32(sum, ones, line_lo), ones, line_hi);
  }
  return sum;
}

inline void copy_u16(const uint8_t* src, uint8_t* dst) { std::memcpy(dst, src, 2); }

void pack_q8_0_group(const uint8_t* src, size_t stride, int64_t cols, uint8_t* dst) {
  constexpr size_t kBlock = sizeof(quant::BlockQ8_0);
  for (int64_t b = 0; b < cols / quant::kQK; ++b) {
    uint8_t* out = dst + static_cast<size_t>(b) * kQ8_0R16GroupBlock;
    __m256i rows[16];
    for (int i = 0; i < kPackRows; ++i) {
      const uint8_t* blk = src + static_cast<size_t>(i) * stride + static_cast<size_t>(b) * kBlock;
      rows[i] = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(blk + 2));
      copy_u16(blk, out + 512 + 2 * i);
    }
    const __m512i sums = transpose_store<true>(rows, out);  // 16 rows' sums of 32 levels, |sum| <= 4096
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(out + 544), _mm512_cvtepi32_epi16(sums));
  }
}

// Sub-blocks 2p and 2p + 1 as Q4_K_R16/Q6_K_R16 nibble bytes, from the 32 bytes at q whose low
// nibbles are sub-block 2p's 32 levels (column k in byte k) and high nibbles 2p + 1's: packed byte
// k holds a sub-block's columns k and 16 + k. Returns [2p's 16 bytes, 2p + 1's].
inline __m256i nibble_pairs(const uint8_t* q) {
  const __m128i low = _mm_set1_epi8(0x0F), high = _mm_set1_epi8(static_cast<char>(0xF0));
  const __m128i a = _mm_loadu_si128(reinterpret_cast<const __m128i*>(q));
  const __m128i c = _mm_loadu_si128(reinterpret_cast<const __m128i*>(q + 16));
  const __m128i even = _mm_or_si128(_mm_and_si128(a, low), _mm_and_si128(_mm_slli_epi16(c, 4), high));
  const __m128i odd = _mm_or_si128(_mm_and_si128(_mm_srli_epi16(a, 4), low), _mm_and_si128(c, high));
  return _mm256_inserti128_si256(_mm256_castsi128_si256(even), odd, 1);
}

// ggml get_scale_min_k4 for all eight sub-blocks of a block_q4_K's 12 scale bytes.
inline void scales_mins_k4(const uint8_t* q, uint8_t* sc, uint8_t* mn) {
  for (int j = 0; j < 4; ++j) {
    sc[j] = q[j] & 63;
    mn[j] = q[j + 4] & 63;
    sc[j + 4] = static_cast<uint8_t>((q[j + 8] & 0xF) | ((q[j] >> 6) << 4));
    mn[j + 4] = static_cast<uint8_t>((q[j + 8] >> 4) | ((q[j + 4] >> 6) << 4));
  }
}

void pack_q4_k_group(const uint8_t* src, size_t stride, int64_t cols, uint8_t* dst) {
  constexpr size_t kBlock = sizeof(quant::BlockQ4_K);
  for (int64_t b = 0; b < cols / quant::kQK_K; ++b) {
    uint8_t* out = dst + static_cast<size_t>(b) * kQ4_KR16GroupBlock;
    const uint8_t* blk[16];
    for (int i = 0; i < kPackRows; ++i) {
      blk[i] = src + static_cast<size_t>(i) * stride + static_cast<size_t>(b) * kBlock;
      uint8_t sc[8], mn[8];
      scales_mins_k4(blk[i] + 4, sc, mn);
      for (int j = 0; j < 8; ++j) {
        out[2048 + 16 * j + i] = sc[j];
        out[2176 + 16 * j + i] = mn[j];
      }
      copy_u16(blk[i], out + 2304 + 2 * i);
      copy_u16(blk[i] + 2, out + 2336 + 2 * i);
    }
    // 64-column pair p: qs[32p..32p+31] holds sub-blocks 2p and 2p + 1, the 8 lines at 512p.
    for (int p = 0; p < 4; ++p) {
      __m256i rows[16];
      for (int i = 0; i < kPackRows; ++i) rows[i] = nibble_pairs(blk[i] + 16 + 32 * p);
      transpose_store<false>(rows, out + 512 * p);
    }
  }
}

// Q6_K_R16's top-2-bit bytes of the four sub-blocks of one 128-column half of a block_q6_K, from
// its 32 qh bytes: field r (bits 2r, 2r + 1) of qh[l] is the top of column 32r + l. The packed
// dword (r, b) byte l holds, in field h, the top of column 32r + 16b + 4h + l, i.e. field r of
// qh[16b + 4h + l]: in each 128-bit lane (b) a 4 x 4 transpose of 2-bit fields between the lane's
// dwords (h) and the fields (r), done as two swap stages (4-bit blocks, then 2-bit fields).
// Returns the dwords in packed order: (r, b) at 2r + b.
inline __m256i q6_k_top_bits(const uint8_t* qh) {
  __m256i x = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(qh));
  const __m256i m1 = _mm256_setr_epi32(0x0F0F0F0F, 0x0F0F0F0F, 0, 0, 0x0F0F0F0F, 0x0F0F0F0F, 0, 0);
  const __m256i m2 = _mm256_setr_epi32(0x33333333, 0, 0x33333333, 0, 0x33333333, 0, 0x33333333, 0);
  __m256i t = _mm256_and_si256(_mm256_xor_si256(_mm256_srli_epi32(x, 4), _mm256_bsrli_epi128(x, 8)), m1);
  x = _mm256_xor_si256(x, _mm256_or_si256(_mm256_slli_epi32(t, 4), _mm256_bslli_epi128(t, 8)));
  t = _mm256_and_si256(_mm256_xor_si256(_mm256_srli_epi32(x, 2), _mm256_bsrli_epi128(x, 4)), m2);
  x = _mm256_xor_si256(x, _mm256_or_si256(_mm256_slli_epi32(t, 2), _mm256_bslli_epi128(t, 4)));
  return _mm256_permutevar8x32_epi32(x, _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7));
}

void pack_q6_k_group(const uint8_t* src, size_t stride, int64_t cols, uint8_t* dst) {
  constexpr size_t kBlock = sizeof(quant::BlockQ6_K);
  constexpr size_t kQh = offsetof(quant::BlockQ6_K, qh), kScales = offsetof(quant::BlockQ6_K, scales),
                   kD = offsetof(quant::BlockQ6_K, d);
  for (int64_t b = 0; b < cols / quant::kQK_K; ++b) {
    uint8_t* out = dst + static_cast<size_t>(b) * kQ6_KR16GroupBlock;
    const uint8_t* blk[16];
    for (int i = 0; i < kPackRows; ++i) {
      blk[i] = src + static_cast<size_t>(i) * stride + static_cast<size_t>(b) * kBlock;
      for (int s = 0; s < 16; ++s) out[3072 + 16 * s + i] = blk[i][kScales + s];
      copy_u16(blk[i] + kD, out + 3328 + 2 * i);
    }
    // Half h's ql[64h..64h+31] holds sub-blocks 4h (low nibbles) and 4h + 2 (high), ql[64h+32..]
    // 4h + 1 and 4h + 3: lines of sub-blocks 4h, 4h + 1 at 1024h, of 4h + 2, 4h + 3 at 1024h + 512.
    for (int h = 0; h < 2; ++h) {
      __m256i lo_pair[16], hi_pair[16];
      for (int i = 0; i < kPackRows; ++i) {
        const __m256i first = nibble_pairs(blk[i] + 64 * h), second = nibble_pairs(blk[i] + 64 * h + 32);
        lo_pair[i] = _mm256_permute2x128_si256(first, second, 0x20);
        hi_pair[i] = _mm256_permute2x128_si256(first, second, 0x31);
      }
      transpose_store<false>(lo_pair, out + 1024 * h);
      transpose_store<false>(hi_pair, out + 1024 * h + 512);
      __m256i top[16];
      for (int i = 0; i < kPackRows; ++i) top[i] = q6_k_top_bits(blk[i] + kQh + 32 * h);
      transpose_store<false>(top, out + 2048 + 512 * h);
    }
  }
}

}  // namespace

PackGroupFn avx512_packer(DType packed) {
  if (packed == DType::Q8_0_R16) return pack_q8_0_group;
  if (packed == DType::Q4_K_R16) return pack_q4_k_group;
  if (packed == DType::Q6_K_R16) return pack_q6_k_group;
  return nullptr;
}

}  // namespace kaiyuan::kernels
