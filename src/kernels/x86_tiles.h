// Register-tile loop shared by the x86 kernel files, and their software prefetch: walks a block of
// rows x tokens in tiles of at most R_MAX x T_MAX and calls Kernel::template tile<R, T> with
// compile-time tile sizes, so each weight block is loaded once per tile of tokens. Internal
// linkage on purpose: every ISA file gets its own copy compiled with its own flags (a shared
// inline function could be linked from the AVX-512 object into an AVX2-only run).
#pragma once

#include <immintrin.h>

#include <array>
#include <cstddef>
#include <cstdint>
#include <utility>

namespace kaiyuan::kernels {
namespace {

// A small batch reads each weight once, straight from memory: fetching kPrefetchAhead bytes ahead
// of the block being read lets the next blocks' loads overlap this block's arithmetic (the
// hardware prefetcher stops at 4 KiB page boundaries). The quantized tiles prefetch the cache lines
// of the bytes they read kPrefetchAhead further on into L1, and kPrefetchFar further on into L2
// (past a matrix's end: a dropped hint). The second, L2 stream keeps more lines in flight than
// the L1 fill buffers allow: one thread's Q4_K_R16 decode tile read 12.6 GB/s without it and
// 21 GB/s with it; 8 and 16 KiB measured alike, 64 KiB worse (docs/BENCHMARKS.md).
constexpr size_t kPrefetchAhead = 4096;
constexpr size_t kPrefetchFar = 8192;

// The cache lines of [p, p + Bytes), into L1 (_MM_HINT_T0) or L2 (_MM_HINT_T1).
template <size_t Bytes, auto Hint = _MM_HINT_T0>  // auto: an enum in GCC, an int in Clang
inline void prefetch_lines(const uint8_t* p) {
  for (size_t off = 0; off < Bytes; off += 64) _mm_prefetch(reinterpret_cast<const char*>(p + off), Hint);
}

template <size_t Bytes>
inline void prefetch_ahead(const uint8_t* p) {
  prefetch_lines<Bytes, _MM_HINT_T0>(p + kPrefetchAhead);
  prefetch_lines<Bytes, _MM_HINT_T1>(p + kPrefetchFar);
}

// Part `part` of `Parts` of prefetch_ahead's lines for [p, p + Bytes): a large block's inner loop
// spreads them over its iterations instead of issuing them in one burst at its start, where they
// wait for fill buffers while the block's own loads queue behind them. Spreading the Q4_K_R16 and
// Q6_K_R16 groups' (37 and 53 lines) over their eight sub-blocks: batched decode of 8 sequences
// (`kaiyuan bench --parallel 8`, dense Q4_K_M) +7-10% for each, single-sequence decode +10% for
// Q6_K's (docs/BENCHMARKS.md).
template <size_t Bytes, int Parts>
inline void prefetch_ahead_part(const uint8_t* p, int part) {
  constexpr size_t kLines = (Bytes + 63) / 64, kPer = (kLines + Parts - 1) / Parts;
  for (size_t l = static_cast<size_t>(part) * kPer; l < static_cast<size_t>(part + 1) * kPer && l < kLines; ++l) {
    _mm_prefetch(reinterpret_cast<const char*>(p + kPrefetchAhead + 64 * l), _MM_HINT_T0);
    _mm_prefetch(reinterpret_cast<const char*>(p + kPrefetchFar + 64 * l), _MM_HINT_T1);
  }
}

struct TileArgs {
  const uint8_t* w;    // first row of the tile
  size_t w_stride;     // bytes between weight rows
  const uint8_t* act;  // first token of the tile
  size_t act_stride;   // bytes between activation rows
  int64_t n_in;
  float* y;            // y[t * ldy + r] relative to the tile's first row and token
  int64_t ldy;
};

template <class Kernel, int R, int T>
void call_tile(const TileArgs& a) {
  Kernel::template tile<R, T>(a);
}

template <class Kernel, int RMax, int TMax, size_t... I>
constexpr auto make_tile_table(std::index_sequence<I...>) {
  using Fn = void (*)(const TileArgs&);
  return std::array<Fn, sizeof...(I)>{&call_tile<Kernel, static_cast<int>(I / TMax) + 1, static_cast<int>(I % TMax) + 1>...};
}

// Activations of one token chunk stay in L2 (about kChunkBytes of them) while every row tile of the
// range streams past; each row tile's weights stay in L1 while the chunk's token tiles go by. The
// weights are re-read once per chunk, activations once per row tile.
constexpr size_t kChunkBytes = 256 * 1024;

template <class Kernel, int RMax, int TMax>
void tile_loop(const uint8_t* w, size_t w_stride, const uint8_t* act, size_t act_stride, int64_t n_in,
               int64_t n_tokens, int64_t r0, int64_t r1, float* y, int64_t ldy) {
  static constexpr auto kTiles = make_tile_table<Kernel, RMax, TMax>(std::make_index_sequence<RMax * TMax>{});
  int64_t chunk = static_cast<int64_t>(kChunkBytes / (act_stride == 0 ? 1 : act_stride)) / TMax * TMax;
  if (chunk < TMax) chunk = TMax;
  for (int64_t c0 = 0; c0 < n_tokens; c0 += chunk) {
    const int64_t c1 = n_tokens - c0 < chunk ? n_tokens : c0 + chunk;
    for (int64_t r = r0; r < r1; r += RMax) {
      const int64_t nr = r1 - r < RMax ? r1 - r : RMax;
      for (int64_t t = c0; t < c1; t += TMax) {
        const int64_t nt = c1 - t < TMax ? c1 - t : TMax;
        const TileArgs a{w + static_cast<size_t>(r) * w_stride, w_stride, act + static_cast<size_t>(t) * act_stride,
                         act_stride, n_in, y + t * ldy + r, ldy};
        kTiles[static_cast<size_t>((nr - 1) * TMax + (nt - 1))](a);
      }
    }
  }
}

}  // namespace
}  // namespace kaiyuan::kernels
