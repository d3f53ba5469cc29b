// Tile configuration and scratch shared by the AMX kernel files (x86_amx.cpp,
// x86_amx_attention.cpp). Internal linkage on purpose, as x86_tiles.h: only files compiled with
// the AMX flags include it.
#pragma once

#include <immintrin.h>

#include <cstdint>
#include <cstdlib>
#include <memory>

namespace kaiyuan::kernels {
namespace {

// The 64-byte operand of LDTILECFG (palette 1).
struct alignas(64) TileConfig {
  uint8_t palette = 1;
  uint8_t start_row = 0;
  uint8_t reserved[14] = {};
  uint16_t colsb[16] = {};
  uint8_t rows[16] = {};
};

// Tiles 0, 1: results (16 x 16 f32); 2, 3: A operands (16 rows x 32 bf16); 4, 5: B operands (16
// bf16 pairs x 16 columns): the bf16 kernels' high and low halves of each operand.
inline TileConfig bf16_config() {
  TileConfig c;
  for (int t = 0; t < 6; ++t) c.rows[t] = 16, c.colsb[t] = 64;
  return c;
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

// 64-byte aligned scratch that only grows, one per thread and Slot (buffers a kernel needs at once
// take different slots).
template <int Slot = 0>
uint8_t* panel_scratch(size_t bytes) {
  struct FreeAligned {
    void operator()(uint8_t* p) const { std::free(p); }
  };
  thread_local std::unique_ptr<uint8_t, FreeAligned> buf;
  thread_local size_t capacity = 0;
  if (capacity < bytes) {
    capacity = (bytes + 63) / 64 * 64;
    buf.reset(static_cast<uint8_t*>(std::aligned_alloc(64, capacity)));
    if (!buf) std::abort();  // nothing sensible to do without it
  }
  return buf.get();
}

}  // namespace
}  // namespace kaiyuan::kernels
