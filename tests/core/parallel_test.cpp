#include "core/parallel.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <thread>
#include <vector>

namespace kaiyuan {
namespace {

TEST(Parallel, CoversEveryIndexExactlyOnce) {
  // Past 65535 items the chunk count is capped (the pool claims chunks in 16-bit fields).
  for (int64_t n : {0, 1, 2, 3, 7, 8, 9, 64, 1001, 65535, 65536, 131075, 1 << 20}) {
    std::vector<std::atomic<int>> hits(static_cast<size_t>(n));
    parallel_for(n, [&](int64_t b, int64_t e) {
      ASSERT_LE(0, b);
      ASSERT_LE(b, e);
      ASSERT_LE(e, n);
      for (int64_t i = b; i < e; ++i) hits[static_cast<size_t>(i)]++;
    });
    for (int64_t i = 0; i < n; ++i) EXPECT_EQ(hits[static_cast<size_t>(i)].load(), 1) << "n=" << n << " i=" << i;
  }
}

TEST(Parallel, ManyJobsInARow) {
  std::atomic<int64_t> total{0};
  for (int rep = 0; rep < 500; ++rep)
    parallel_for(10, [&](int64_t b, int64_t e) { total += e - b; });
  EXPECT_EQ(total.load(), 5000);
}

TEST(Parallel, BackToBackJobsOfChangingSizesNeverMixUp) {
  // Workers claim chunks of whatever job is current: a late one must never run a chunk of a job
  // that has ended, nor miss or repeat one of the next (run under TSan by make test-tsan).
  for (int rep = 0; rep < 3000; ++rep) {
    const int64_t n = 2 + rep % 37;
    std::vector<int> hits(static_cast<size_t>(n), 0);
    std::atomic<int64_t> calls{0};
    parallel_for(n, [&](int64_t b, int64_t e) {
      ASSERT_LT(b, e);
      calls++;
      for (int64_t i = b; i < e; ++i) hits[static_cast<size_t>(i)]++;  // ranges are disjoint
    });
    for (int64_t i = 0; i < n; ++i) ASSERT_EQ(hits[static_cast<size_t>(i)], 1) << "rep=" << rep << " i=" << i;
    ASSERT_LE(calls.load(), n);
  }
}

TEST(Parallel, IdleThreadsTakeOverTheRangeOfAThreadThatIsHeldUp) {
  // A thread held up inside its first piece (as if descheduled) must not hold up the rest of its
  // range: the others take it from the back. The piece holding unit 0 (the first piece of the
  // first thread's range, units [0, n / threads)) waits until other units of that range have been
  // run, which happens only if they are stolen (10 s limit instead of a hang without).
  if (num_threads() < 2) GTEST_SKIP() << "one thread: nothing to steal";
  constexpr int64_t n = 64;
  const int64_t first_range_end = n / num_threads();
  std::vector<std::atomic<int>> hits(n);
  std::atomic<bool> gave_up{false};
  parallel_for(n, [&](int64_t b, int64_t e) {
    if (b == 0) {
      const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
      const auto taken_past_me = [&] {
        for (int64_t i = e; i < first_range_end; ++i)
          if (hits[static_cast<size_t>(i)].load() > 0) return true;
        return e >= first_range_end;  // (a piece covering the whole range: nothing left to steal)
      };
      while (!taken_past_me()) {
        if (std::chrono::steady_clock::now() > deadline) {
          gave_up = true;
          break;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
      }
    }
    for (int64_t i = b; i < e; ++i) hits[static_cast<size_t>(i)]++;
  });
  EXPECT_FALSE(gave_up.load()) << "no other thread ran any unit past the held-up piece";
  for (int64_t i = 0; i < n; ++i) EXPECT_EQ(hits[static_cast<size_t>(i)].load(), 1) << i;
}

TEST(Parallel, AvailableCpusIsPositive) {
  EXPECT_GE(available_cpus(), 1);
  EXPECT_GE(num_threads(), 1);
}

}  // namespace
}  // namespace kaiyuan
