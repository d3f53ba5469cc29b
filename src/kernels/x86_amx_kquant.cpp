// AMX tile kernels for the K-quant layouts (Q4_K_R16, Q6_K_R16) on batches of 16 or more tokens
// (Q4_K: 32; MatmulKernel::batch), with Q8_S256 activations: one scale per 256 columns, as
// ggml's Q8_K.
//
// Why not the Q8_S32 blocks the AVX-512 kernels take: with a scale per 32 columns on both sides,
// every 16 x 16 x 32 tile product needs a result-tile store and a scaling of its 256 int32 sums by
// vector instructions, and on the tile unit those cost about twice the product itself (tile and
// vector instructions do not overlap; docs/DESIGN.md "AMX tiles"). With one activation scale per
// super-block, a row's sub-block scale folds into its levels: sc x q is an integer (Q4_K: 0..945,
// Q6_K: within +-4096) whose low and high bytes make two B tiles, so a super-block is eight full
// K = 64 products into two int32 tiles (low bytes, and high bytes worth 256 each), one store of
// each and one scaling per token: a quarter of the stores and an eighth of the scalings.
//
// Q4_K's mins (dmin m_j times the 32-column level sums) are one bf16 tile product per super-block,
// summed over the whole row in f32 tiles after the integer products: the activations carry bf16
// hi/lo of d x each level sum, the panel bf16 hi/lo of dmin m_j (each product is then within
// 2^-17 of exact).
//
// Each group of 16 rows is widened once per token chunk into a panel (below) that the chunk's
// token tiles share, and each call stages its tokens' activations into contiguous A tiles. A
// batch's last n % 16 tokens run as one more tile, padded with zero tokens.
#include <immintrin.h>

#include <algorithm>
#include <cstring>

#include "kernels/kernel_table.h"
#include "kernels/packed_layout.h"
#include "kernels/x86_amx_tiles.h"

namespace kaiyuan::kernels {
namespace {

// Panel of one group and super-block: the four 64-column chunks' B tiles (16 rows of 64 bytes:
// row r holds columns 4r .. 4r + 3 of the chunk for the 16 weight rows) of the scaled levels' low
// bytes, then of their high bytes; Q4_K's mins tile (rows j < 8: dmin m_j's bf16 hi twice per
// weight row, rows 8 + j: its lo twice); the 16 rows' d as f32.
constexpr size_t kBTile = 1024;
constexpr size_t kPanelHigh = 4 * kBTile;
constexpr size_t kPanelMins = 8 * kBTile;
constexpr size_t kPanelScale = 9 * kBTile;
constexpr size_t kPanelSuper = kPanelScale + 64;

// Tiles 0-3: int32 results of a super-block's products (low and high bytes of two token tiles, or
// of the even and odd chunks of one), then the f32 mins; 4, 5: activations of token tiles 0 and 1
// (16 tokens x 64 levels, or x 16 bf16 pairs); 6, 7: the low- and high-byte weights (or the mins
// of even and odd super-blocks). All full size.
TileConfig kquant_config() {
  TileConfig c;
  for (int t = 0; t < 8; ++t) c.rows[t] = 16, c.colsb[t] = 64;
  return c;
}

// 16 bytes (one per weight row) as 16-bit words, each row's value in both words of its dword.
template <bool kSigned>
inline __m512i scale_words(const uint8_t* p) {
  const __m128i b = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
  const __m512i w = _mm512_and_si512(kSigned ? _mm512_cvtepi8_epi32(b) : _mm512_cvtepu8_epi32(b), _mm512_set1_epi32(0xFFFF));
  return _mm512_or_si512(w, _mm512_slli_epi32(w, 16));
}

// Levels q (64 bytes of one B tile row set; unsigned, or signed when kSigned) times their rows'
// scale words sc, as 16-bit products, stored as low bytes at `lo` and high bytes at `hi`.
template <bool kSigned>
inline void store_scaled(__m512i q, __m512i sc, uint8_t* lo, uint8_t* hi) {
  const __m512i low_byte = _mm512_set1_epi16(0x00FF);
  const __m512i qe = kSigned ? _mm512_srai_epi16(_mm512_slli_epi16(q, 8), 8) : _mm512_and_si512(q, low_byte);
  const __m512i qo = kSigned ? _mm512_srai_epi16(q, 8) : _mm512_srli_epi16(q, 8);
  const __m512i ve = _mm512_mullo_epi16(qe, sc), vo = _mm512_mullo_epi16(qo, sc);
  _mm512_store_si512(lo, _mm512_or_si512(_mm512_and_si512(ve, low_byte), _mm512_slli_epi16(vo, 8)));
  _mm512_store_si512(hi, _mm512_or_si512(_mm512_srli_epi16(ve, 8), _mm512_andnot_si512(low_byte, vo)));
}

// Row r (< 16) of chunk p's B tiles in the panel of one super-block.
inline size_t panel_row(int p, int r) { return kBTile * p + 64 * r; }

// Q4_K_R16: sc_j q (0..945) in bytes, TDPBSUD for both (signed levels by unsigned bytes); the
// mins into tile 4.
struct Q4_KTiles {
  static constexpr bool kMins = true, kSignedHigh = false;
  const uint8_t* panel = nullptr;
  int64_t n_super = 0;

  void prepare(const uint8_t* group, int64_t cols) {
    n_super = cols / 256;
    uint8_t* out = thread_scratch(ScratchSlot::kPanel, static_cast<size_t>(n_super) * kPanelSuper);
    panel = out;
    const __m512i m4 = _mm512_set1_epi8(0x0F);
    for (int64_t sb = 0; sb < n_super; ++sb, out += kPanelSuper) {
      const uint8_t* blk = group + sb * kQ4_KR16GroupBlock;
      const __m512 dmin = _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(blk + 2336)));
      for (int j = 0; j < 8; ++j) {
        const int p = j / 2, r0 = 8 * (j % 2);  // sub-block j: rows r0 .. r0 + 7 of chunk p
        const __m512i sc = scale_words<false>(blk + 2048 + 16 * j);
        for (int h = 0; h < 4; ++h) {  // low nibbles: chunk h of the sub-block; high: chunk h + 4
          const __m512i raw = _mm512_loadu_si512(blk + 256 * j + 64 * h);
          store_scaled<false>(_mm512_and_si512(raw, m4), sc, out + panel_row(p, r0 + h), out + kPanelHigh + panel_row(p, r0 + h));
          store_scaled<false>(_mm512_and_si512(_mm512_srli_epi16(raw, 4), m4), sc, out + panel_row(p, r0 + h + 4),
                              out + kPanelHigh + panel_row(p, r0 + h + 4));
        }
        const __m512 mins = _mm512_mul_ps(
            dmin, _mm512_cvtepi32_ps(_mm512_cvtepu8_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(blk + 2176 + 16 * j)))));
        __m256i hi, lo;
        split16(mins, hi, lo);
        _mm512_store_si512(out + kPanelMins + 64 * j, interleave(hi, hi));
        _mm512_store_si512(out + kPanelMins + 64 * (8 + j), interleave(lo, lo));
      }
      _mm512_store_ps(out + kPanelScale, _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(blk + 2304))));
    }
  }
};

// Q6_K_R16: sc_s (q - 32) (within +-4096) in bytes: the low byte unsigned (TDPBSUD), the high byte
// signed (TDPBSSD). No mins.
struct Q6_KTiles {
  static constexpr bool kMins = false, kSignedHigh = true;
  const uint8_t* panel = nullptr;
  int64_t n_super = 0;

  // Bits 2c, 2c + 1 of each byte moved to bits 4, 5 (16-bit shifts: the mask drops what crosses bytes).
  static __m512i top_bits(__m512i packed, int c) {
    const __m512i m = _mm512_set1_epi8(0x30);
    switch (c) {
      case 0: return _mm512_and_si512(_mm512_slli_epi16(packed, 4), m);
      case 1: return _mm512_and_si512(_mm512_slli_epi16(packed, 2), m);
      case 2: return _mm512_and_si512(packed, m);
      default: return _mm512_and_si512(_mm512_srli_epi16(packed, 2), m);
    }
  }

  void prepare(const uint8_t* group, int64_t cols) {
    n_super = cols / 256;
    uint8_t* out = thread_scratch(ScratchSlot::kPanel, static_cast<size_t>(n_super) * kPanelSuper);
    panel = out;
    const __m512i m4 = _mm512_set1_epi8(0x0F), offset = _mm512_set1_epi8(32);
    for (int64_t sb = 0; sb < n_super; ++sb, out += kPanelSuper) {
      const uint8_t* blk = group + sb * kQ6_KR16GroupBlock;
      for (int j = 0; j < 8; ++j) {
        const int p = j / 2, r0 = 8 * (j % 2);
        // Chunks 0-3 are 16-column sub-block 2j, chunks 4-7 sub-block 2j + 1.
        const __m512i sc0 = scale_words<true>(blk + 3072 + 32 * j), sc1 = scale_words<true>(blk + 3072 + 32 * j + 16);
        const __m512i ha = _mm512_loadu_si512(blk + 2048 + 128 * j), hb = _mm512_loadu_si512(blk + 2048 + 128 * j + 64);
        for (int h = 0; h < 4; ++h) {
          const __m512i nib = _mm512_loadu_si512(blk + 256 * j + 64 * h);
          const __m512i q0 = _mm512_or_si512(_mm512_and_si512(nib, m4), top_bits(ha, h));
          const __m512i q1 = _mm512_or_si512(_mm512_and_si512(_mm512_srli_epi16(nib, 4), m4), top_bits(hb, h));
          store_scaled<true>(_mm512_sub_epi8(q0, offset), sc0, out + panel_row(p, r0 + h), out + kPanelHigh + panel_row(p, r0 + h));
          store_scaled<true>(_mm512_sub_epi8(q1, offset), sc1, out + panel_row(p, r0 + h + 4),
                             out + kPanelHigh + panel_row(p, r0 + h + 4));
        }
      }
      _mm512_store_ps(out + kPanelScale, _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(blk + 3328))));
    }
  }
};

// Activations staged per token chunk (each thread its own copy): per tile of 16 tokens and
// super-block, the four 64-level A tiles and the pairs' A tile as contiguous 1 KB (tile rows at a
// 64-byte stride load faster than rows a token stride apart: 7 against 9 ns a product with both
// in L1), then the 16 tokens' d.
constexpr size_t kStagedPairs = 4 * kBTile;
constexpr size_t kStagedScale = 5 * kBTile;
constexpr size_t kStagedSuper = kStagedScale + 64;

// The first n_tiles tiles of 16 tokens of `act`, staged into `out`; tokens from n_valid on are
// zeros (zero levels, pairs and d: their products are zero). A block's five 64-byte rows are its
// four level chunks and its pairs, in the staged order.
static_assert(kQ8S256Pairs == 4 * 64 && kStagedPairs == 4 * kBTile, "pairs follow the four level chunks");
void stage_tokens(const uint8_t* act, size_t as, int64_t n_super, int64_t n_tiles, int64_t n_valid, uint8_t* out) {
  for (int64_t tile = 0; tile < n_tiles; ++tile)
    for (int64_t sb = 0; sb < n_super; ++sb, out += kStagedSuper)
      for (int t = 0; t < 16; ++t) {
        const int64_t token = 16 * tile + t;
        if (token >= n_valid) {
          for (int p = 0; p < 5; ++p) _mm512_store_si512(out + kBTile * p + 64 * t, _mm512_setzero_si512());
          std::memset(out + kStagedScale + 4 * t, 0, 4);
          continue;
        }
        const uint8_t* x = act + static_cast<size_t>(token) * as + sb * kQ8S256Block;
        for (int p = 0; p < 5; ++p) _mm512_store_si512(out + kBTile * p + 64 * t, _mm512_loadu_si512(x + 64 * p));
        std::memcpy(out + kStagedScale + 4 * t, x + kQ8S256Scale, 4);
      }
}

// The int32 results of one super-block: [pair][low, high bytes][16 x 16]. With two token tiles,
// pair i is token tile i; with one, the pairs are the even and odd 64-column chunks (partial sums).
using SuperResults = int32_t[2][2][16 * 16];

// Super-block sb's products into `out`. A tile product's latency is several times its issue
// interval, so four independent accumulators (tiles 0-3) keep the unit busy: per 64-column chunk,
// the weights' low and high bytes (tiles 6, 7) times one or two token tiles (4, 5). The tile
// intrinsics take literal register numbers, hence the spelled-out tiles.
template <class Kernel, int NT>
void super_products(const uint8_t* w, const uint8_t* a0, const uint8_t* a1, SuperResults& out) {
  constexpr size_t as = 64;
  _tile_zero(0);
  _tile_zero(1);
  _tile_zero(2);
  _tile_zero(3);
  for (int p = 0; p < 4; ++p) {
    _tile_loadd(6, w + kBTile * p, 64);
    _tile_loadd(7, w + kPanelHigh + kBTile * p, 64);
    if (NT == 2 || p % 2 == 0) {
      _tile_loadd(4, a0 + kBTile * p, as);
      _tile_dpbsud(0, 4, 6);
      if constexpr (Kernel::kSignedHigh) _tile_dpbssd(1, 4, 7);
      else _tile_dpbsud(1, 4, 7);
    }
    if (NT == 2 || p % 2 == 1) {
      _tile_loadd(5, (NT == 2 ? a1 : a0) + kBTile * p, as);
      _tile_dpbsud(2, 5, 6);
      if constexpr (Kernel::kSignedHigh) _tile_dpbssd(3, 5, 7);
      else _tile_dpbsud(3, 5, 7);
    }
  }
  _tile_stored(0, out[0][0], 64);
  _tile_stored(1, out[0][1], 64);
  _tile_stored(2, out[1][0], 64);
  _tile_stored(3, out[1][1], 64);
}

// acc[i][t] += (lo + 256 hi) x d[rows] x dx[t] for super-block sb's results (NT = 1: both pairs
// are partial sums of the one token tile).
template <int NT>
void scale_super(const SuperResults& c, const uint8_t* panel, const uint8_t* const (&a)[2], int64_t sb,
                 __m512 (&acc)[2][16]) {
  const __m512 d = _mm512_load_ps(panel + sb * kPanelSuper + kPanelScale);
  const auto sum = [&](int i, int t) {
    return _mm512_add_epi32(_mm512_load_si512(c[i][0] + 16 * t), _mm512_slli_epi32(_mm512_load_si512(c[i][1] + 16 * t), 8));
  };
  for (int i = 0; i < NT; ++i)
    for (int t = 0; t < 16; ++t) {
      const __m512i s = NT == 2 ? sum(i, t) : _mm512_add_epi32(sum(0, t), sum(1, t));
      const float dx = load_f32(a[i] + sb * kStagedSuper + kStagedScale + 4 * t);
      acc[i][t] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(s), _mm512_mul_ps(d, _mm512_set1_ps(dx)), acc[i][t]);
    }
}

// Q4_K's mins of NT token tiles over the whole row, subtracted from acc: bf16 products of the
// activations' pairs (tiles 4, 5) by the panels' mins (6 for even super-blocks, 7 for odd), into
// f32 tiles 0, 1 (token tile 0, even / odd) and 2, 3 (token tile 1).
template <int NT>
void subtract_mins(const uint8_t* panel, int64_t n_super, const uint8_t* const (&act)[2], __m512 (&acc)[2][16]) {
  constexpr size_t as = 64;
  _tile_zero(0);
  _tile_zero(1);
  _tile_zero(2);
  _tile_zero(3);
  for (int64_t sb = 0; sb < n_super; ++sb) {
    const uint8_t* w = panel + sb * kPanelSuper + kPanelMins;
    const uint8_t* a = act[0] + sb * kStagedSuper + kStagedPairs;
    const uint8_t* a1 = act[1] + sb * kStagedSuper + kStagedPairs;
    if (sb % 2 == 0) {
      _tile_loadd(6, w, 64);
      _tile_loadd(4, a, as);
      _tile_dpbf16ps(0, 4, 6);
      if (NT == 2) {
        _tile_loadd(5, a1, as);
        _tile_dpbf16ps(2, 5, 6);
      }
    } else {
      _tile_loadd(7, w, 64);
      _tile_loadd(4, a, as);
      _tile_dpbf16ps(1, 4, 7);
      if (NT == 2) {
        _tile_loadd(5, a1, as);
        _tile_dpbf16ps(3, 5, 7);
      }
    }
  }
  alignas(64) float m[4][16 * 16];
  _tile_stored(0, m[0], 64);
  _tile_stored(1, m[1], 64);
  _tile_stored(2, m[2], 64);
  _tile_stored(3, m[3], 64);
  for (int i = 0; i < NT; ++i)
    for (int t = 0; t < 16; ++t)
      acc[i][t] = _mm512_sub_ps(acc[i][t], _mm512_add_ps(_mm512_load_ps(m[2 * i] + 16 * t), _mm512_load_ps(m[2 * i + 1] + 16 * t)));
}

// NT (1 or 2) tiles of 16 tokens x one group of 16 rows into y (token t's 16 rows at y + t * ldy).
// The scaling runs one super-block behind the products (their results alternate between two buffers).
template <class Kernel, int NT>
void run_tiles(const Kernel& k, const uint8_t* staged, float* y, int64_t ldy) {
  const uint8_t* const a[2] = {staged, staged + k.n_super * kStagedSuper};  // the two token tiles
  alignas(64) SuperResults c[2];
  __m512 acc[2][16];
  for (auto& row : acc)
    for (auto& v : row) v = _mm512_setzero_ps();
  const int64_t n = k.n_super;
  for (int64_t sb = 0; sb < n; ++sb) {
    super_products<Kernel, NT>(k.panel + sb * kPanelSuper, a[0] + sb * kStagedSuper, a[1] + sb * kStagedSuper, c[sb & 1]);
    if (sb >= 1) scale_super<NT>(c[(sb - 1) & 1], k.panel, a, sb - 1, acc);
  }
  if (n > 0) scale_super<NT>(c[(n - 1) & 1], k.panel, a, n - 1, acc);
  if constexpr (Kernel::kMins) subtract_mins<NT>(k.panel, n, a, acc);
  for (int i = 0; i < NT; ++i)
    for (int t = 0; t < 16; ++t) _mm512_storeu_ps(y + (16 * i + t) * ldy, acc[i][t]);
}

// Rows [r0, r1) are whole groups of 16 (matmul_driver's row grain). Whole tiles of 16 tokens by
// token chunks (staged once per chunk); the last n % 16 tokens as one more tile padded with zero
// tokens, staged with the last chunk and run with its panels.
template <class Kernel>
void kquant_rows(const uint8_t* w, size_t ws, const uint8_t* act, size_t as, int64_t n_in, int64_t n_tokens, int64_t r0,
                 int64_t r1, float* y, int64_t ldy) {
  const int64_t n_super = n_in / 256, n16 = n_tokens / kTileTokens * kTileTokens, n_tail = n_tokens - n16;
  const size_t tile_bytes = static_cast<size_t>(n_super) * kStagedSuper;
  const int64_t chunk = (chunk_tokens(kAmxChunkBytes, as) + kTileTokens) / (2 * kTileTokens) * (2 * kTileTokens);  // pairs of tiles
  const size_t group_bytes = ws * kPackRows;
  static const TileConfig config = kquant_config();
  TileScope tiles(config);
  Kernel k;
  int64_t c0 = 0;
  do {
    const int64_t c1 = std::min(n16, c0 + chunk);
    const bool last = c1 == n16;
    const int64_t n_tiles = (c1 - c0) / kTileTokens + (last && n_tail > 0 ? 1 : 0);
    uint8_t* staged = thread_scratch(ScratchSlot::kStaged, static_cast<size_t>(n_tiles) * tile_bytes);
    stage_tokens(act + static_cast<size_t>(c0) * as, as, n_super, n_tiles, n_tokens - c0, staged);
    for (int64_t g = r0 / kPackRows; g < r1 / kPackRows; ++g) {
      k.prepare(w + static_cast<size_t>(g) * group_bytes, n_in);
      int64_t t = c0;
      const auto tile_of = [&](int64_t token) { return staged + static_cast<size_t>((token - c0) / kTileTokens) * tile_bytes; };
      for (; t + 2 * kTileTokens <= c1; t += 2 * kTileTokens)
        run_tiles<Kernel, 2>(k, tile_of(t), y + t * ldy + g * kPackRows, ldy);
      if (t < c1) run_tiles<Kernel, 1>(k, tile_of(t), y + t * ldy + g * kPackRows, ldy);
      if (last && n_tail > 0) {
        alignas(64) float out[kTileTokens * kPackRows];
        run_tiles<Kernel, 1>(k, tile_of(n16), out, kPackRows);
        store_rows(out, n_tail, y + n16 * ldy + g * kPackRows, ldy);
      }
    }
    c0 = c1;
  } while (c0 < n16);
}

// f32 activations -> Q8_S256, bit-identical to quantize_act_ref (the same products and roundings;
// the pairs and d through the same finish_q8_s256_block).
void quantize_act_q8_s256(const float* x, uint8_t* dst, int64_t n) {
  for (int64_t b = 0; b < n / 256; ++b, x += 256, dst += kQ8S256Block) {
    __m512 v[16];
    __m512 amax = _mm512_setzero_ps();
    for (int i = 0; i < 16; ++i) {
      v[i] = _mm512_loadu_ps(x + 16 * i);
      amax = _mm512_max_ps(amax, _mm512_abs_ps(v[i]));
    }
    const float d = _mm512_reduce_max_ps(amax) / 127.0f;
    const __m512 id = _mm512_set1_ps(d != 0.0f ? 1.0f / d : 0.0f);
    int32_t sums[8];
    for (int j = 0; j < 8; ++j) {
      const __m512i q0 = _mm512_cvtps_epi32(_mm512_mul_ps(v[2 * j], id));
      const __m512i q1 = _mm512_cvtps_epi32(_mm512_mul_ps(v[2 * j + 1], id));
      _mm_storeu_si128(reinterpret_cast<__m128i*>(dst + 32 * j), _mm512_cvtepi32_epi8(q0));
      _mm_storeu_si128(reinterpret_cast<__m128i*>(dst + 32 * j + 16), _mm512_cvtepi32_epi8(q1));
      sums[j] = _mm512_reduce_add_epi32(_mm512_add_epi32(q0, q1));
    }
    finish_q8_s256_block(d, sums, dst);
  }
}

}  // namespace

// From how many tokens the tiles beat the AVX-512 kernels (one thread, 3072 x 1024, the panel
// widening included; Gmac/s AVX-512 vs tiles): Q4_K 16: 170 vs 147-151, 24: 166-180 vs 150-162,
// 28: 172 vs 177, 32: 167 vs 219; Q6_K 12: 112 vs 102, 16: 125 vs 150.
constexpr int64_t kQ4_KMinTokens = 2 * kTileTokens, kQ6_KMinTokens = kTileTokens;

void install_amx_kquant(KernelTable& t) {
  static const MatmulKernel q4_k = {DType::Q8_S256, quantize_act_q8_s256, kquant_rows<Q4_KTiles>};
  static const MatmulKernel q6_k = {DType::Q8_S256, quantize_act_q8_s256, kquant_rows<Q6_KTiles>};
  t.matmul[static_cast<uint32_t>(DType::Q4_K_R16)].batch = &q4_k;
  t.matmul[static_cast<uint32_t>(DType::Q4_K_R16)].batch_min_tokens = kQ4_KMinTokens;
  t.matmul[static_cast<uint32_t>(DType::Q6_K_R16)].batch = &q6_k;
  t.matmul[static_cast<uint32_t>(DType::Q6_K_R16)].batch_min_tokens = kQ6_KMinTokens;
}

}  // namespace kaiyuan::kernels
