#include "core/parallel.h"

#include <gtest/gtest.h>

#include <atomic>
#include <vector>

namespace kaiyuan {
namespace {

TEST(Parallel, CoversEveryIndexExactlyOnce) {
  for (int64_t n : {0, 1, 2, 3, 7, 64, 1001}) {
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

TEST(Parallel, AvailableCpusIsPositive) {
  EXPECT_GE(available_cpus(), 1);
  EXPECT_GE(num_threads(), 1);
}

}  // namespace
}  // namespace kaiyuan
