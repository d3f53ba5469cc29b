#include "kernels/roofline.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstring>

#include "core/huge_page_arena.h"
#include "core/parallel.h"
#include "kernels/kernel_table.h"

namespace kaiyuan::kernels {
namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

// Four independent sums so the loop streams (the compiler vectorises it), fetching 4 KiB ahead
// into L1 and 8 KiB ahead into L2 as the matmul kernels do (x86_tiles.h prefetch_ahead); the
// result is kept so the reads cannot be dropped.
uint64_t sum_words(const uint64_t* p, size_t n) {
  uint64_t s0 = 0, s1 = 0, s2 = 0, s3 = 0;
  size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    __builtin_prefetch(p + i + 512);
    __builtin_prefetch(p + i + 1024, 0, 2);
    s0 += p[i] + p[i + 4];
    s1 += p[i + 1] + p[i + 5];
    s2 += p[i + 2] + p[i + 6];
    s3 += p[i + 3] + p[i + 7];
  }
  for (; i < n; ++i) s0 += p[i];
  return s0 + s1 + s2 + s3;
}

}  // namespace

double measure_read_bandwidth(size_t bytes, int reps) {
  const size_t words = bytes / sizeof(uint64_t);
  // On huge pages, as the repacked weights and KV cache are (model/repacked_source.h): 2 threads
  // read 34-36 GB/s there against 26-29 GB/s on 4 KiB pages on the bench host.
  HugePageArena arena;
  auto* buffer = reinterpret_cast<uint64_t*>(arena.allocate(words * sizeof(uint64_t)));
  if (buffer == nullptr) return 0.0;
  for (size_t i = 0; i < words; ++i) buffer[i] = i;  // touched: every page is resident
  const int64_t parts = num_threads();
  std::atomic<uint64_t> sink{0};
  double best = 0.0;
  for (int r = 0; r < std::max(1, reps); ++r) {
    const auto t0 = Clock::now();
    parallel_for(parts, [&](int64_t begin, int64_t end) {
      uint64_t s = 0;
      for (int64_t p = begin; p < end; ++p) {
        const size_t lo = words * static_cast<size_t>(p) / static_cast<size_t>(parts);
        const size_t hi = words * static_cast<size_t>(p + 1) / static_cast<size_t>(parts);
        s += sum_words(buffer + lo, hi - lo);
      }
      sink.fetch_add(s, std::memory_order_relaxed);
    });
    best = std::max(best, static_cast<double>(words * sizeof(uint64_t)) / seconds_since(t0) / 1e9);
  }
  return sink.load() == 1 ? 0.0 : best;  // (never 1: the buffer's sum is far larger)
}

double measure_int8_peak(int reps) {
  const KernelTable& t = active_kernels();
  if (t.int8_peak_loop == nullptr) return 0.0;
  const int64_t threads = num_threads();
  constexpr int64_t kIters = 1 << 21;
  t.int8_peak_loop(kIters / 16);  // warm-up (clock ramp, AVX-512 license)
  double best = 0.0;
  for (int r = 0; r < std::max(1, reps); ++r) {
    std::atomic<int64_t> macs{0};
    const auto t0 = Clock::now();
    parallel_for(threads, [&](int64_t begin, int64_t end) {
      for (int64_t i = begin; i < end; ++i) macs.fetch_add(t.int8_peak_loop(kIters), std::memory_order_relaxed);
    });
    best = std::max(best, static_cast<double>(macs.load()) / seconds_since(t0) / 1e9);
  }
  return best;
}

}  // namespace kaiyuan::kernels
