// Attention of a run of prompt tokens over an f16 KV cache on the AMX tile unit (Isa::kAmx): the
// flash-attention loop of x86_avx512.cpp's attend_block (keys in chunks, an online softmax per query
// vector, causal limits per query vector), with S = Q K^T and O += P V as bf16 tile products
// accumulated in f32.
//
// Precision: an f16 cache entry (11 significant bits) is exactly bf16 hi + lo; the queries and the
// probabilities are split the same way (hi = x rounded to bf16, lo = the rest rounded again: 16
// bits, a residual of at most 2^-16 x), and each product takes all four hi/lo terms, so the only
// error beyond f32 rounding is that residual of q and p: within the f32 kernels' tolerances
// (tests/kernels/small_ops_isa_test.cpp), at four tile products per 16 x 16 x 32 block, still
// several times the f32 FMA rate. An f32 cache would carry the same residual on K and V as well
// (measured: up to 3e-5 on unit-scale outputs, over the tests' 2e-5), so it keeps the AVX-512
// kernel: it is the exact-math mode (docs/DESIGN.md, KV cache type).
//
// Layouts, per call (one KV head and the query heads sharing it):
//   K^T as B tiles: for 16 keys and 32 dimensions, 16 rows (dimension pairs) of 16 keys x 2 bf16,
//     staged once per call and used by every block of queries;
//   V as B tiles: for 32 keys and 16 dimensions, 16 rows (key pairs) of 16 dimensions x 2 bf16;
//   a block of 16 query vectors (scaled) as A rows of D bf16, and its probabilities of a 32-key
//     chunk as A rows of 32 bf16.
// Blocks of fewer than 16 query vectors, and head sizes that are not a multiple of 32, use the
// AVX-512 kernels.
#include <immintrin.h>

#include <algorithm>
#include <cmath>
#include <cstdint>

#include "kernels/kernel_table.h"
#include "kernels/x86_amx_tiles.h"
#include "kernels/x86_avx512_math.h"

namespace kaiyuan::kernels {
namespace {

constexpr int64_t kLanes = 16;  // query vectors per block: the tiles' rows
constexpr int64_t kChunk = 32;  // keys per chunk: one bf16 tile's depth

inline __m512 load16(const uint16_t* p) { return _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(p))); }

struct Staged {
  const uint32_t* kt_hi;  // [key tile][dim step][16 pairs][16 keys] dwords
  const uint32_t* kt_lo;
  const uint32_t* vb_hi;  // [chunk][dim tile][16 key pairs][16 dims] dwords
  const uint32_t* vb_lo;
  int64_t d_steps;        // D / 32
};

// Keys and values [0, n_all) of the cache in B tile layouts, zero past n_all up to whole chunks.
Staged stage(const uint16_t* k, int64_t ks, const uint16_t* v, int64_t vs, int64_t n_all, int64_t D) {
  const int64_t n_pad = (n_all + kChunk - 1) / kChunk * kChunk;
  const size_t words = static_cast<size_t>(n_pad * D / 2);
  auto* buf = reinterpret_cast<uint32_t*>(thread_scratch(ScratchSlot::kStaged, 4 * words * sizeof(uint32_t)));
  uint32_t* kt_hi = buf;
  uint32_t* kt_lo = buf + words;
  uint32_t* vb_hi = buf + 2 * words;
  uint32_t* vb_lo = buf + 3 * words;
  const int64_t d_steps = D / 32;
  // Per 16 keys and 32 dimensions: the keys' 16 dword pairs as rows, transposed into the tile's
  // rows of one pair for 16 keys.
  for (int64_t j0 = 0; j0 < n_pad; j0 += 16)
    for (int64_t ds = 0; ds < d_steps; ++ds) {
      __m512i hi[16], lo[16];
      for (int n = 0; n < 16; ++n) {
        __m256i h0 = _mm256_setzero_si256(), l0 = h0, h1 = h0, l1 = h0;
        if (j0 + n < n_all) {
          const uint16_t* row = k + (j0 + n) * ks + 32 * ds;
          split16(load16(row), h0, l0);
          split16(load16(row + 16), h1, l1);
        }
        hi[n] = _mm512_inserti64x4(_mm512_castsi256_si512(h0), h1, 1);
        lo[n] = _mm512_inserti64x4(_mm512_castsi256_si512(l0), l1, 1);
      }
      transpose16(hi);
      transpose16(lo);
      uint32_t* th = kt_hi + ((j0 / 16) * d_steps + ds) * 256;
      uint32_t* tl = kt_lo + ((j0 / 16) * d_steps + ds) * 256;
      for (int p = 0; p < 16; ++p) {
        _mm512_store_si512(th + 16 * p, hi[p]);
        _mm512_store_si512(tl + 16 * p, lo[p]);
      }
    }
  const int64_t d_tiles = D / 16;
  for (int64_t j = 0; j < n_pad; j += 2) {
    uint32_t* rh = vb_hi + ((j / kChunk) * d_tiles * 16 + (j % kChunk) / 2) * 16;
    uint32_t* rl = vb_lo + ((j / kChunk) * d_tiles * 16 + (j % kChunk) / 2) * 16;
    for (int64_t dt = 0; dt < d_tiles; ++dt) {
      __m256i h0 = _mm256_setzero_si256(), l0 = h0, h1 = h0, l1 = h0;
      if (j < n_all) split16(load16(v + j * vs + 16 * dt), h0, l0);
      if (j + 1 < n_all) split16(load16(v + (j + 1) * vs + 16 * dt), h1, l1);
      _mm512_store_si512(rh + dt * 256, interleave(h0, h1));
      _mm512_store_si512(rl + dt * 256, interleave(l0, l1));
    }
  }
  return {kt_hi, kt_lo, vb_hi, vb_lo, d_steps};
}

struct QueryBlock {
  const float* q[kLanes];
  float* out[kLanes];
  int32_t n_kv[kLanes];  // keys query vector l sees; unused lanes see key 0 and are discarded
  int m;                 // query vectors in use
};

// One block of 16 query vectors against the staged keys.
void attend_block_amx(const QueryBlock& blk, const Staged& st, int64_t D, float scale) {
  const int64_t d_tiles = D / 16;
  alignas(64) uint16_t q_hi[kLanes * 256], q_lo[kLanes * 256];  // [lane][D]
  alignas(64) float s[kLanes * kChunk];                          // [lane][32 keys]
  alignas(64) uint16_t p_hi[kLanes * kChunk], p_lo[kLanes * kChunk];
  alignas(64) float pv[kLanes * 16];
  alignas(64) float o[kLanes * 256];  // [lane][D] unnormalized outputs
  alignas(64) float run_max[kLanes], run_sum[kLanes], alpha[kLanes];

  int32_t n_blk = 1;
  for (int l = 0; l < kLanes; ++l) {
    const bool used = l < blk.m;
    for (int64_t d = 0; d < D; d += 16) {
      __m256i hi = _mm256_setzero_si256(), lo = hi;
      if (used) split16(_mm512_mul_ps(_mm512_loadu_ps(blk.q[l] + d), _mm512_set1_ps(scale)), hi, lo);
      _mm256_store_si256(reinterpret_cast<__m256i*>(q_hi + l * D + d), hi);
      _mm256_store_si256(reinterpret_cast<__m256i*>(q_lo + l * D + d), lo);
    }
    if (used) n_blk = std::max(n_blk, blk.n_kv[l]);
    run_max[l] = -INFINITY;
    run_sum[l] = 0.0f;
  }
  std::fill(o, o + kLanes * D, 0.0f);
  const size_t q_stride = static_cast<size_t>(D) * sizeof(uint16_t);
  const __m512i iota = _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);

  for (int64_t j0 = 0; j0 < n_blk; j0 += kChunk) {
    // S for the chunk's two 16-key tiles: rows are query vectors, columns keys.
    for (int h = 0; h < 2; ++h) {
      const int64_t tile = (j0 + 16 * h) / 16;
      _tile_zero(0);
      for (int64_t ds = 0; ds < st.d_steps; ++ds) {
        _tile_loadd(2, q_hi + 32 * ds, q_stride);
        _tile_loadd(3, q_lo + 32 * ds, q_stride);
        _tile_loadd(4, st.kt_hi + (tile * st.d_steps + ds) * 256, 64);
        _tile_loadd(5, st.kt_lo + (tile * st.d_steps + ds) * 256, 64);
        _tile_dpbf16ps(0, 2, 4);
        _tile_dpbf16ps(0, 2, 5);
        _tile_dpbf16ps(0, 3, 4);
        _tile_dpbf16ps(0, 3, 5);
      }
      _tile_stored(0, s + 16 * h, kChunk * sizeof(float));
    }
    // Online softmax per query vector; keys it may not see get probability 0. The running maxima,
    // sums and rescale factors of the 16 query vectors are one vector each.
    alignas(64) float cmax[kLanes], esum[kLanes];
    __mmask16 seen[kLanes][2];
    for (int l = 0; l < kLanes; ++l) {
      const __m512i limit = _mm512_set1_epi32(l < blk.m ? blk.n_kv[l] : 1);
      seen[l][0] = _mm512_cmplt_epi32_mask(_mm512_add_epi32(iota, _mm512_set1_epi32(static_cast<int32_t>(j0))), limit);
      seen[l][1] = _mm512_cmplt_epi32_mask(_mm512_add_epi32(iota, _mm512_set1_epi32(static_cast<int32_t>(j0 + 16))), limit);
      const __m512 ninf = _mm512_set1_ps(-INFINITY);
      cmax[l] = _mm512_reduce_max_ps(_mm512_max_ps(_mm512_mask_load_ps(ninf, seen[l][0], s + l * kChunk),
                                                   _mm512_mask_load_ps(ninf, seen[l][1], s + l * kChunk + 16)));
    }
    // A lane's first chunk always holds key 0, which it sees: new_max is finite, and alpha is
    // exp512's clamped e^-87 (times an o and a sum that are still 0) where run_max was -inf.
    const __m512 old_max = _mm512_load_ps(run_max);
    const __m512 new_max = _mm512_max_ps(old_max, _mm512_load_ps(cmax));
    _mm512_store_ps(alpha, exp512(_mm512_sub_ps(old_max, new_max)));
    _mm512_store_ps(run_max, new_max);
    for (int l = 0; l < kLanes; ++l) {
      const __m512 nm = _mm512_set1_ps(run_max[l]);
      const __m512 e0 = _mm512_maskz_mov_ps(seen[l][0], exp512(_mm512_sub_ps(_mm512_load_ps(s + l * kChunk), nm)));
      const __m512 e1 = _mm512_maskz_mov_ps(seen[l][1], exp512(_mm512_sub_ps(_mm512_load_ps(s + l * kChunk + 16), nm)));
      esum[l] = _mm512_reduce_add_ps(_mm512_add_ps(e0, e1));
      __m256i h0, l0, h1, l1;
      split16(e0, h0, l0);
      split16(e1, h1, l1);
      _mm256_store_si256(reinterpret_cast<__m256i*>(p_hi + l * kChunk), h0);
      _mm256_store_si256(reinterpret_cast<__m256i*>(p_hi + l * kChunk + 16), h1);
      _mm256_store_si256(reinterpret_cast<__m256i*>(p_lo + l * kChunk), l0);
      _mm256_store_si256(reinterpret_cast<__m256i*>(p_lo + l * kChunk + 16), l1);
    }
    _mm512_store_ps(run_sum, _mm512_fmadd_ps(_mm512_load_ps(run_sum), _mm512_load_ps(alpha), _mm512_load_ps(esum)));
    // O = alpha O + P V, 16 dimensions at a time.
    _tile_loadd(2, p_hi, kChunk * sizeof(uint16_t));
    _tile_loadd(3, p_lo, kChunk * sizeof(uint16_t));
    const int64_t chunk = j0 / kChunk;
    for (int64_t dt = 0; dt < d_tiles; ++dt) {
      _tile_zero(1);
      _tile_loadd(4, st.vb_hi + (chunk * d_tiles + dt) * 256, 64);
      _tile_loadd(5, st.vb_lo + (chunk * d_tiles + dt) * 256, 64);
      _tile_dpbf16ps(1, 2, 4);
      _tile_dpbf16ps(1, 2, 5);
      _tile_dpbf16ps(1, 3, 4);
      _tile_dpbf16ps(1, 3, 5);
      _tile_stored(1, pv, 16 * sizeof(float));
      for (int l = 0; l < kLanes; ++l) {
        float* ol = o + l * D + 16 * dt;
        _mm512_store_ps(ol, _mm512_fmadd_ps(_mm512_load_ps(ol), _mm512_set1_ps(alpha[l]), _mm512_load_ps(pv + 16 * l)));
      }
    }
  }
  for (int l = 0; l < blk.m; ++l) {
    const __m512 inv = _mm512_set1_ps(1.0f / run_sum[l]);
    for (int64_t d = 0; d < D; d += 16) _mm512_storeu_ps(blk.out[l] + d, _mm512_mul_ps(_mm512_load_ps(o + l * D + d), inv));
  }
}

// All n_tok x n_q query vectors of a run in blocks of 16 (token-major, as attend_run_blocks).
void attend_tokens_f16_amx(const float* q, int64_t q_stride, int64_t n_tok, int64_t n_q, const uint16_t* k, int64_t ks,
                           const uint16_t* v, int64_t vs, int64_t n_kv0, int64_t head_dim, float scale, float* scores,
                           float* out, int64_t out_stride) {
  const bool has_kernel = head_dim % 32 == 0 && head_dim <= 256;
  if (n_tok * n_q < kLanes || !has_kernel) {
    avx512_kernels().attend_tokens_f16(q, q_stride, n_tok, n_q, k, ks, v, vs, n_kv0, head_dim, scale, scores, out,
                                       out_stride);
    return;
  }
  static const TileConfig config = full_tile_config();
  TileScope tiles(config);
  // Token t sees n_kv0 + t keys: rows past the last one are not the cache's (and NaN * 0 is NaN).
  const Staged st = stage(k, ks, v, vs, n_kv0 + n_tok - 1, head_dim);
  const int64_t total = n_tok * n_q;
  for (int64_t i0 = 0; i0 < total; i0 += kLanes) {
    QueryBlock blk;
    blk.m = static_cast<int>(std::min<int64_t>(kLanes, total - i0));
    for (int l = 0; l < blk.m; ++l) {
      const int64_t tok = (i0 + l) / n_q, head = (i0 + l) % n_q;
      blk.q[l] = q + tok * q_stride + head * head_dim;
      blk.out[l] = out + tok * out_stride + head * head_dim;
      blk.n_kv[l] = static_cast<int32_t>(n_kv0 + tok);
    }
    attend_block_amx(blk, st, head_dim, scale);
  }
}

}  // namespace

void install_amx_attention(KernelTable& t) { t.attend_tokens_f16 = attend_tokens_f16_amx; }

}  // namespace kaiyuan::kernels
