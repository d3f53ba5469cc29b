// Tile configuration and bf16 helpers shared by the AMX kernel files (x86_amx.cpp,
// x86_amx_attention.cpp). Internal linkage on purpose, as x86_tiles.h: only files compiled with
// the AMX flags include it.
#pragma once

#include <immintrin.h>

#include <cstdint>
#include <cstring>

#include "kernels/packed_layout.h"

namespace kaiyuan::kernels {
namespace {

constexpr int64_t kTileTokens = 16;  // tokens per tile: an operand's 16 rows

// Activations of one token chunk (about kAmxChunkBytes) stay in L2 while a row range's groups go
// by; each group is prepared once per chunk and stays in L1/L2 while the chunk's token tiles go by.
constexpr size_t kAmxChunkBytes = 1024 * 1024;

// Tokens per chunk whose bytes_per_token-byte rows fill about `budget` bytes: whole tiles, at least one.
inline int64_t chunk_tokens(size_t budget, size_t bytes_per_token) {
  const int64_t n = static_cast<int64_t>(budget / bytes_per_token) / kTileTokens * kTileTokens;
  return n < kTileTokens ? kTileTokens : n;
}

// Copies the first n token rows of a padded tile's results (16 tokens x kPackRows floats, as
// the tile kernels store a batch's last n % 16 tokens) to y (token t's rows at y + t * ldy).
inline void store_rows(const float* tile, int64_t n, float* y, int64_t ldy) {
  for (int64_t i = 0; i < n; ++i) std::memcpy(y + i * ldy, tile + i * kPackRows, kPackRows * sizeof(float));
}

inline float load_f32(const uint8_t* p) {
  float v;
  std::memcpy(&v, p, sizeof(v));
  return v;
}

// The 64-byte operand of LDTILECFG (palette 1).
struct alignas(64) TileConfig {
  uint8_t palette = 1;
  uint8_t start_row = 0;
  uint8_t reserved[14] = {};
  uint16_t colsb[16] = {};
  uint8_t rows[16] = {};
};

// Six full-size tiles (16 rows x 64 bytes). The bf16 kernels use 0, 1 for results (16 x 16 f32),
// 2, 3 for A operands (16 rows x 32 bf16) and 4, 5 for B operands (16 bf16 pairs x 16 columns),
// each operand's high and low halves; the int8 peak loop uses them at full K.
inline TileConfig full_tile_config() {
  TileConfig c;
  for (int t = 0; t < 6; ++t) c.rows[t] = 16, c.colsb[t] = 64;
  return c;
}

inline __m256i bf16_bits(__m512 x) { return reinterpret_cast<__m256i>(_mm512_cvtneps_pbh(x)); }
inline __m512 widen_bf16(__m256i b) { return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(b), 16)); }

// x = hi + lo + (at most 2^-16 x): the bf16 halves of 16 floats (an f16 value is exactly hi + lo).
inline void split16(__m512 x, __m256i& hi, __m256i& lo) {
  hi = bf16_bits(x);
  lo = bf16_bits(_mm512_sub_ps(x, widen_bf16(hi)));
}

// 16 dwords, dword i = a[i] | b[i] << 16: a B tile row of two bf16 rows interleaved.
inline __m512i interleave(__m256i a, __m256i b) {
  return _mm512_or_si512(_mm512_cvtepu16_epi32(a), _mm512_slli_epi32(_mm512_cvtepu16_epi32(b), 16));
}

// Rows r[0..15] of 16 dwords become columns: r[i] ends up holding element i of every input row.
inline void transpose16(__m512i (&r)[16]) {
  __m512i t[16];
  for (int i = 0; i < 16; i += 2) {  // per 128-bit lane L: rows i, i + 1 at columns 4L .. 4L + 3
    t[i] = _mm512_unpacklo_epi32(r[i], r[i + 1]);
    t[i + 1] = _mm512_unpackhi_epi32(r[i], r[i + 1]);
  }
  for (int i = 0; i < 16; i += 4) {  // r[i + c], lane L: column 4L + c of rows i .. i + 3
    r[i] = _mm512_unpacklo_epi64(t[i], t[i + 2]);
    r[i + 1] = _mm512_unpackhi_epi64(t[i], t[i + 2]);
    r[i + 2] = _mm512_unpacklo_epi64(t[i + 1], t[i + 3]);
    r[i + 3] = _mm512_unpackhi_epi64(t[i + 1], t[i + 3]);
  }
  for (int c = 0; c < 4; ++c) {  // lane L of the four row groups into column 4L + c
    const __m512i ab_lo = _mm512_shuffle_i32x4(r[c], r[4 + c], 0x44), ab_hi = _mm512_shuffle_i32x4(r[c], r[4 + c], 0xEE);
    const __m512i cd_lo = _mm512_shuffle_i32x4(r[8 + c], r[12 + c], 0x44), cd_hi = _mm512_shuffle_i32x4(r[8 + c], r[12 + c], 0xEE);
    t[c] = _mm512_shuffle_i32x4(ab_lo, cd_lo, 0x88);
    t[4 + c] = _mm512_shuffle_i32x4(ab_lo, cd_lo, 0xDD);
    t[8 + c] = _mm512_shuffle_i32x4(ab_hi, cd_hi, 0x88);
    t[12 + c] = _mm512_shuffle_i32x4(ab_hi, cd_hi, 0xDD);
  }
  for (int i = 0; i < 16; ++i) r[i] = t[i];
}

// Configures the calling thread's tiles for the duration of one kernel call and releases them
// after, so a thread that is not in an AMX kernel carries no tile state (context switches stay cheap).
class TileScope {
 public:
  explicit TileScope(const TileConfig& config) { _tile_loadconfig(&config); }
  ~TileScope() { _tile_release(); }
  TileScope(const TileScope&) = delete;
  TileScope& operator=(const TileScope&) = delete;
};

}  // namespace
}  // namespace kaiyuan::kernels
