// AMX (Advanced Matrix Extensions: Sapphire Rapids and later Xeons) prompt kernels for Q8_0 and
// BF16 (x86_amx_kquant.cpp has the K-quants'). One TDPBSSD multiplies a tile of 16 tokens x 32
// levels by 32 levels of 16 weight rows (8192 multiply-adds) where vpdpbusd does 64, so what is
// left of the cost is the per-block scaling of the 16 x 16 int32 results (Q8_0's scales change
// every 32 columns): a store of the result tile and, per token, a load, a conversion and a
// multiply-add by the scales. Blocks take four result tiles in turn, the scaling two blocks behind.
//
// Q8_0_R16's per-block 16 rows x 32 columns (packed_layout.h) is already the B tile layout (eight
// 64-byte rows, one per 4-column chunk, 4 bytes per weight row). Activations are the same Q8_U32
// blocks as the AVX-512 kernel uses, staged per chunk of tokens as signed levels in contiguous A
// tiles (TDPBSSD: no correction for the unsigned levels), so the integer products are those of the
// AVX-512 kernel and only the float sums' order differs.
// Batches of fewer than 16 tokens run the AVX-512 kernels; in a batch of 16 or more, the last
// n % 16 tokens run as one more tile padded with zero tokens, so every token of such a batch goes
// through the tile unit (and an MoE expert's last tokens need not be packed for the AVX-512 kernel).
#include <immintrin.h>

#include <algorithm>
#include <cstring>

#include "kernels/kernel_table.h"
#include "kernels/packed_layout.h"
#include "kernels/x86_amx_tiles.h"

namespace kaiyuan::kernels {
namespace {

static_assert(kTileTokens == kSourceTileTokens, "the source kernels' tiles are the tile kernels' tiles");

// Tiles 0-3: results (16 tokens x 16 rows of int32), used in turn by consecutive blocks; 4, 5:
// activations (16 tokens x 32 levels); 6, 7: weights (8 chunks x 16 rows x 4 levels), alternating.
TileConfig int8_config() {
  TileConfig c;
  for (int t : {0, 1, 2, 3}) c.rows[t] = 16, c.colsb[t] = 64;
  for (int t : {4, 5}) c.rows[t] = 16, c.colsb[t] = 32;
  for (int t : {6, 7}) c.rows[t] = 8, c.colsb[t] = 64;
  return c;
}

// Byte offsets i x stride of lane i, for gathering one value from each of 16 rows.
inline __m512i lane_offsets(size_t stride) {
  return _mm512_mullo_epi32(_mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15),
                            _mm512_set1_epi32(static_cast<int>(stride)));
}

// One tile of 16 tokens x one group of 16 rows. Kernel supplies the block count of the group's
// columns, the tile product of block b into result tile C (dot<C>), the scaling of block b's int32
// results (scale) and the store of the accumulators. `staged` is the tile's staged tokens (below).
// The tile unit's latencies (loads, product, store) are long: four result tiles in turn keep three
// blocks in flight while the vector unit scales the block before them.
template <class Kernel>
void run_tile(const Kernel& k, const uint8_t* staged, float* y, int64_t ldy) {
  constexpr int64_t kLag = 2;
  alignas(64) int32_t c[4][16 * 16];
  __m512 acc[16];
  for (auto& v : acc) v = _mm512_setzero_ps();
  const int64_t n = k.n_blocks();
  for (int64_t b = 0; b < n; ++b) {
    switch (b & 3) {
      case 0: k.template dot<0>(staged, b, c[0]); break;
      case 1: k.template dot<1>(staged, b, c[1]); break;
      case 2: k.template dot<2>(staged, b, c[2]); break;
      default: k.template dot<3>(staged, b, c[3]); break;
    }
    if (b >= kLag) k.scale(c[(b - kLag) & 3], staged, b - kLag, acc);
  }
  for (int64_t b = n - kLag < 0 ? 0 : n - kLag; b < n; ++b) k.scale(c[b & 3], staged, b, acc);
  k.store(acc, y, ldy);
}

// The last n_tail (< 16) tokens of a batch as a whole tile: their activation rows copied into the
// calling thread's scratch, the rest zeros (levels and scale 0: zero products, outputs dropped).
const uint8_t* padded_tail(const uint8_t* act, size_t as, int64_t n_tail) {
  uint8_t* out = thread_scratch(ScratchSlot::kPaddedTail, as * kTileTokens);
  std::memcpy(out, act, as * static_cast<size_t>(n_tail));
  std::memset(out + as * static_cast<size_t>(n_tail), 0, as * static_cast<size_t>(kTileTokens - n_tail));
  return out;
}

// Block b's product into result tile C, stored to `out` (the two operands alternate between tiles
// 4/5 (16 x 32 bytes) and 6/7 (8 x 64 bytes)). The tile intrinsics take literal register numbers,
// hence the macro.
#define KAIYUAN_AMX_BLOCK(C, A, B, a_ptr, as, b_ptr, out) \
  do {                                                    \
    _tile_zero(C);                                        \
    _tile_loadd(A, a_ptr, as);                            \
    _tile_loadd(B, b_ptr, 64);                            \
    _tile_dpbssd(C, A, B);                                \
    _tile_stored(C, out, 64);                             \
  } while (0)
#define KAIYUAN_AMX_DOT(a_ptr, as, b_ptr, out)                                   \
  do {                                                                           \
    if constexpr (C == 0) KAIYUAN_AMX_BLOCK(0, 4, 6, a_ptr, as, b_ptr, out);     \
    else if constexpr (C == 1) KAIYUAN_AMX_BLOCK(1, 5, 7, a_ptr, as, b_ptr, out); \
    else if constexpr (C == 2) KAIYUAN_AMX_BLOCK(2, 4, 6, a_ptr, as, b_ptr, out); \
    else KAIYUAN_AMX_BLOCK(3, 5, 7, a_ptr, as, b_ptr, out);                      \
  } while (0)

// Staged tokens: per tile of 16 tokens and block of 32 columns, 512 bytes of their levels made
// signed again (level + 128 of the Q8_U32 blocks, xor 0x80) in the layout the kernel's tile takes,
// then their 16 scales as one vector. Staged once per token chunk and shared by all of a thread's
// groups; the tile loads then read contiguous 64- or 32-byte rows instead of rows a token apart.
constexpr size_t kStagedBlock = 576;

// Stages n_tiles tiles of 16 tokens (Q8_U32 rows of `as` bytes) into `out`: for each tile and
// block, write_levels(first token's block, out) lays out the levels, then the scales follow.
template <class WriteLevels>
void stage_blocks(const uint8_t* act, size_t as, int64_t n_tiles, int64_t n_blocks, uint8_t* out, WriteLevels write_levels) {
  const __m512i scale_at = lane_offsets(as);
  for (int64_t tile = 0; tile < n_tiles; ++tile)
    for (int64_t b = 0; b < n_blocks; ++b, out += kStagedBlock) {
      const uint8_t* x = act + static_cast<size_t>(16 * tile) * as + b * 36;
      write_levels(x, out);
      _mm512_store_ps(out + 512, _mm512_i32gather_ps(scale_at, x + 32, 1));
    }
}

// Repacked Q8_0_R16 x staged tokens: A = the 16 tokens' 32 levels (16 rows of 32 bytes), B = the
// group's block as packed (packed_layout.h: eight 64-byte rows, one per 4-column chunk, 4 bytes
// per weight row). Result tile tokens x rows; per token and block one convert and one multiply-add
// by dw[rows] x dx[token].
struct Q8_0Amx {
  const uint8_t* wg = nullptr;
  int64_t nb = 0;

  static void stage(const uint8_t* act, size_t as, int64_t n_tiles, int64_t n_blocks, uint8_t* out) {
    const __m256i sign = _mm256_set1_epi8(static_cast<char>(0x80));
    stage_blocks(act, as, n_tiles, n_blocks, out, [&](const uint8_t* x, uint8_t* levels) {
      for (int t = 0; t < 16; ++t)
        _mm256_store_si256(reinterpret_cast<__m256i*>(levels + 32 * t),
                           _mm256_xor_si256(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(x + t * as)), sign));
    });
  }
  void prepare(const uint8_t* group, size_t, int64_t n_in) {
    wg = group;
    nb = n_in / 32;
  }
  int64_t n_blocks() const { return nb; }

  template <int C>
  void dot(const uint8_t* staged, int64_t b, int32_t* out) const {
    KAIYUAN_AMX_DOT(staged + b * kStagedBlock, 32, wg + b * kQ8_0R16GroupBlock, out);
  }

  void scale(const int32_t* c, const uint8_t* staged, int64_t b, __m512 (&acc)[16]) const {
    const __m512 dw = _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(wg + b * kQ8_0R16GroupBlock + 512)));
    const uint8_t* dx = staged + b * kStagedBlock + 512;
    for (int t = 0; t < 16; ++t)
      acc[t] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(_mm512_load_si512(c + 16 * t)), _mm512_mul_ps(dw, _mm512_set1_ps(load_f32(dx + 4 * t))),
                               acc[t]);
  }

  // acc[t] holds token t's 16 rows.
  static void store(const __m512 (&acc)[16], float* y, int64_t ldy) {
    for (int t = 0; t < 16; ++t) _mm512_storeu_ps(y + t * ldy, acc[t]);
  }
};

// ---- Q8_0 straight from the mapped rows (MoE experts: MatmulKernel::source_rows) ----------------
// The roles swap: A = 16 weight rows x 32 levels read from the mapped blocks themselves (34-byte
// blocks, f16 d then the levels; a tile load at the row stride), B = 16 tokens' levels in the
// 4-level chunk layout. The result tile is rows x tokens; per row and block one convert and one
// multiply-add by dx[tokens] x dw[row]: the same integer sums and scale products as Q8_0Amx (so the
// same floats, bit for bit), without packing the expert first. The accumulators are transposed
// once per tile into y.
struct Q8_0SourceAmx {
  const uint8_t* rows = nullptr;  // the group's first mapped row
  size_t ws = 0;
  const float* dw = nullptr;  // [block][16 rows]
  int64_t nb = 0;

  static void stage(const uint8_t* act, size_t as, int64_t n_tiles, int64_t n_blocks, uint8_t* out) {
    const __m256i sign = _mm256_set1_epi8(static_cast<char>(0x80));
    stage_blocks(act, as, n_tiles, n_blocks, out, [&](const uint8_t* x, uint8_t* levels) {
      __m512i rows[16];
      for (int t = 0; t < 16; ++t)
        rows[t] = _mm512_zextsi256_si512(_mm256_xor_si256(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(x + t * as)), sign));
      transpose16(rows);  // rows[p], p < 8: chunk p (levels 4p .. 4p + 3) of the 16 tokens
      for (int p = 0; p < 8; ++p) _mm512_store_si512(levels + 64 * p, rows[p]);
    });
  }

  void prepare(const uint8_t* group, size_t row_stride, int64_t n_in) {
    rows = group;
    ws = row_stride;
    nb = n_in / 32;
    auto* out = reinterpret_cast<float*>(thread_scratch(ScratchSlot::kPanel, static_cast<size_t>(nb) * 64));
    dw = out;
    const __m512i at = lane_offsets(ws);
    for (int64_t b = 0; b < nb; ++b) {  // the 16 rows' f16 d of block b (a dword gather, low halves)
      const __m512i d = _mm512_i32gather_epi32(at, group + b * 34, 1);
      _mm512_store_ps(out + 16 * b, _mm512_cvtph_ps(_mm512_cvtepi32_epi16(d)));
    }
  }
  int64_t n_blocks() const { return nb; }

  template <int C>
  void dot(const uint8_t* staged, int64_t b, int32_t* out) const {
    KAIYUAN_AMX_DOT(rows + b * 34 + 2, ws, staged + b * kStagedBlock, out);
  }

  void scale(const int32_t* c, const uint8_t* staged, int64_t b, __m512 (&acc)[16]) const {
    const __m512 dx = _mm512_load_ps(staged + b * kStagedBlock + 512);
    for (int i = 0; i < 16; ++i)
      acc[i] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(_mm512_load_si512(c + 16 * i)), _mm512_mul_ps(dx, _mm512_set1_ps(dw[16 * b + i])),
                               acc[i]);
  }

  // acc[i] holds row i's 16 tokens.
  static void store(const __m512 (&acc)[16], float* y, int64_t ldy) {
    __m512i t[16];
    for (int i = 0; i < 16; ++i) t[i] = _mm512_castps_si512(acc[i]);
    transpose16(t);
    for (int tok = 0; tok < 16; ++tok) _mm512_storeu_ps(y + tok * ldy, _mm512_castsi512_ps(t[tok]));
  }
};

// Rows [r0, r1) (whole groups of 16 rows of ws bytes each, from w) by n_tokens >= 16 tokens: per
// chunk of tokens (staged once, kept in L2), every group once, its token tiles in turn. The last
// n_tokens % 16 run as one more tile padded with zero tokens, staged with the last chunk.
template <class Kernel>
void q8_0_tiles(const uint8_t* w, size_t ws, const uint8_t* act, size_t as, int64_t n_in, int64_t n_tokens, int64_t r0,
                int64_t r1, float* y, int64_t ldy) {
  const int64_t nb = n_in / 32;
  const int64_t n16 = n_tokens / kTileTokens * kTileTokens, n_tail = n_tokens - n16;
  const size_t tile_bytes = static_cast<size_t>(nb) * kStagedBlock;
  const int64_t chunk = chunk_tokens(kAmxChunkBytes, as);
  static const TileConfig config = int8_config();
  TileScope tiles(config);
  Kernel k;
  for (int64_t c0 = 0; c0 < n16; c0 += chunk) {
    const int64_t c1 = n16 - c0 < chunk ? n16 : c0 + chunk;
    const bool padded = c1 == n16 && n_tail > 0;
    const int64_t n_full = (c1 - c0) / kTileTokens, n_tiles = n_full + (padded ? 1 : 0);
    uint8_t* staged = thread_scratch(ScratchSlot::kStaged, static_cast<size_t>(n_tiles) * tile_bytes);
    Kernel::stage(act + static_cast<size_t>(c0) * as, as, n_full, nb, staged);
    if (padded)
      Kernel::stage(padded_tail(act + static_cast<size_t>(n16) * as, as, n_tail), as, 1, nb,
                    staged + static_cast<size_t>(n_full) * tile_bytes);
    for (int64_t g = r0 / kPackRows; g < r1 / kPackRows; ++g) {
      k.prepare(w + static_cast<size_t>(g * kPackRows) * ws, ws, n_in);
      for (int64_t tile = 0; tile < n_full; ++tile)
        run_tile(k, staged + static_cast<size_t>(tile) * tile_bytes, y + (c0 + 16 * tile) * ldy + g * kPackRows, ldy);
      if (padded) {
        alignas(64) float out[kTileTokens * kPackRows];
        run_tile(k, staged + static_cast<size_t>(n_full) * tile_bytes, out, kPackRows);
        store_rows(out, n_tail, y + n16 * ldy + g * kPackRows, ldy);
      }
    }
  }
}

// MatmulKernel::rows for Q8_0_R16 (ws: a packed row's share of its group, group_bytes / 16).
// Batches of fewer than 16 tokens go to the AVX-512 kernel of the same layout and activations.
void q8_0_r16_rows(const uint8_t* w, size_t ws, const uint8_t* act, size_t as, int64_t n_in, int64_t n_tokens, int64_t r0,
                   int64_t r1, float* y, int64_t ldy) {
  static const MatmulRowsFn small = avx512_kernels().matmul[static_cast<uint32_t>(DType::Q8_0_R16)].rows;
  if (n_tokens < kTileTokens) return small(w, ws, act, as, n_in, n_tokens, r0, r1, y, ldy);
  q8_0_tiles<Q8_0Amx>(w, ws, act, as, n_in, n_tokens, r0, r1, y, ldy);
}

// MatmulKernel::source_rows for Q8_0 (n_tokens >= 16, matmul_packing_with's contract).
void q8_0_source_rows(const uint8_t* w, size_t ws, const uint8_t* act, size_t as, int64_t n_in, int64_t n_tokens,
                      int64_t r0, int64_t r1, float* y, int64_t ldy) {
  q8_0_tiles<Q8_0SourceAmx>(w, ws, act, as, n_in, n_tokens, r0, r1, y, ldy);
}

// ---- BF16_R16 x f32 activations --------------------------------------------------------------------
// Each activation is split into bf16 hi + lo (split16: 16 of f32's 24 significant bits, a residual of
// at most 2^-16 x), well inside the f32 path's tolerances; TDPBF16PS accumulates in f32. Two products
// per weight tile still leave 8x the multiply-adds per instruction of the AVX-512 FMA kernel.
// BF16_R16's column pairs are the B tile's layout, and the results accumulate in the tiles over all
// columns (no per-block scales), so the tile goes straight to y.

// Converts tokens [0, n) of x (rows of n_in f32) into hi and lo rows of n_in bf16.
void split_bf16(const float* x, size_t x_stride, int64_t n, int64_t n_in, uint16_t* hi, uint16_t* lo) {
  for (int64_t t = 0; t < n; ++t) {
    const float* row = x + static_cast<size_t>(t) * x_stride;
    for (int64_t k = 0; k < n_in; k += 16) {
      __m256i h, l;
      split16(_mm512_loadu_ps(row + k), h, l);
      _mm256_storeu_si256(reinterpret_cast<__m256i*>(hi + t * n_in + k), h);
      _mm256_storeu_si256(reinterpret_cast<__m256i*>(lo + t * n_in + k), l);
    }
  }
}

// 16 tokens x NG groups of 16 rows: per 32 columns, both activation halves times each group's tile.
template <int NG>
void bf16_tile(const uint8_t* wg, size_t group_bytes, const uint16_t* hi, const uint16_t* lo, int64_t n_in, float* y,
               int64_t ldy) {
  const size_t a_stride = static_cast<size_t>(n_in) * sizeof(uint16_t);
  _tile_zero(0);
  if constexpr (NG == 2) _tile_zero(1);
  for (int64_t k = 0; k < n_in; k += 32) {
    _tile_loadd(2, hi + k, a_stride);
    _tile_loadd(3, lo + k, a_stride);
    _tile_loadd(4, wg + k * 32, 64);
    _tile_dpbf16ps(0, 2, 4);
    _tile_dpbf16ps(0, 3, 4);
    if constexpr (NG == 2) {
      _tile_loadd(5, wg + group_bytes + k * 32, 64);
      _tile_dpbf16ps(1, 2, 5);
      _tile_dpbf16ps(1, 3, 5);
    }
  }
  _tile_stored(0, y, ldy * sizeof(float));
  if constexpr (NG == 2) _tile_stored(1, y + kPackRows, ldy * sizeof(float));
}

// About this many bytes of split activations per chunk of tokens (L2), re-used by every group.
constexpr size_t kBf16ChunkBytes = 1024 * 1024;

void bf16_amx_rows(const uint8_t* w, size_t ws, const uint8_t* act, size_t as, int64_t n_in, int64_t n_tokens,
                   int64_t r0, int64_t r1, float* y, int64_t ldy) {
  static const MatmulRowsFn fallback = avx512_kernels().matmul[static_cast<uint32_t>(DType::BF16_R16)].rows;
  const int64_t n16 = n_in % 32 == 0 ? n_tokens / kTileTokens * kTileTokens : 0;
  if (n16 > 0) {
    const size_t group_bytes = ws * kPackRows;
    const int64_t chunk = std::min(chunk_tokens(kBf16ChunkBytes, static_cast<size_t>(n_in) * 4), n16);
    auto* hi = reinterpret_cast<uint16_t*>(thread_scratch(ScratchSlot::kPanel, static_cast<size_t>(chunk * n_in) * 4));
    uint16_t* lo = hi + chunk * n_in;
    static const TileConfig config = full_tile_config();
    TileScope tiles(config);
    const float* x = reinterpret_cast<const float*>(act);
    const size_t x_stride = as / sizeof(float);
    for (int64_t c0 = 0; c0 < n16; c0 += chunk) {
      const int64_t c1 = n16 - c0 < chunk ? n16 : c0 + chunk;
      split_bf16(x + static_cast<size_t>(c0) * x_stride, x_stride, c1 - c0, n_in, hi, lo);
      int64_t g = r0 / kPackRows;
      const int64_t g1 = r1 / kPackRows;
      for (; g + 2 <= g1; g += 2)
        for (int64_t t = c0; t < c1; t += kTileTokens)
          bf16_tile<2>(w + static_cast<size_t>(g) * group_bytes, group_bytes, hi + (t - c0) * n_in, lo + (t - c0) * n_in,
                       n_in, y + t * ldy + g * kPackRows, ldy);
      if (g < g1)
        for (int64_t t = c0; t < c1; t += kTileTokens)
          bf16_tile<1>(w + static_cast<size_t>(g) * group_bytes, group_bytes, hi + (t - c0) * n_in, lo + (t - c0) * n_in,
                       n_in, y + t * ldy + g * kPackRows, ldy);
    }
  }
  if (n16 < n_tokens)
    fallback(w, ws, act + static_cast<size_t>(n16) * as, as, n_in, n_tokens - n16, r0, r1, y + n16 * ldy, ldy);
}

// The tile unit's int8 peak for `kaiyuan bench --roofline`: four independent full-size TDPBUSD
// (16 x 16 x 64 multiply-adds each) per round on register-only tiles.
int64_t int8_peak_loop_amx(int64_t iters) {
  static const TileConfig config = full_tile_config();
  TileScope tiles(config);
  _tile_zero(0);
  _tile_zero(1);
  _tile_zero(2);
  _tile_zero(3);
  _tile_zero(4);
  _tile_zero(5);
  for (int64_t i = 0; i < iters; ++i) {
    _tile_dpbusd(0, 4, 5);
    _tile_dpbusd(1, 4, 5);
    _tile_dpbusd(2, 4, 5);
    _tile_dpbusd(3, 4, 5);
  }
  return iters * 4 * 16 * 16 * 64;
}

KernelTable make_table() {
  KernelTable t = avx512_kernels();
  t.int8_peak_loop = int8_peak_loop_amx;
  t.isa = Isa::kAmx;
  t.matmul[static_cast<uint32_t>(DType::Q8_0_R16)].rows = q8_0_r16_rows;
  t.matmul[static_cast<uint32_t>(DType::Q8_0_R16)].source_rows = q8_0_source_rows;
  t.matmul[static_cast<uint32_t>(DType::BF16_R16)].rows = bf16_amx_rows;
  install_amx_attention(t);
  install_amx_kquant(t);
  return t;
}

}  // namespace

const KernelTable& amx_kernels() {
  static const KernelTable table = make_table();
  return table;
}

}  // namespace kaiyuan::kernels
