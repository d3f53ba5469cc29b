// The roofline probes give figures in a plausible range for any machine that runs the tests, and
// the int8 peak follows the forced ISA (KAIYUAN_ISA=scalar has no SIMD integer path: 0).
#include "kernels/roofline.h"

#include <gtest/gtest.h>

#include "kernels/dispatch.h"
#include "kernels/kernel_table.h"

namespace kaiyuan::kernels {
namespace {

TEST(Roofline, BandwidthIsMeasured) {
  const double gbs = measure_read_bandwidth(size_t{64} << 20, 2);
  EXPECT_GT(gbs, 0.05);    // even a loaded VM reads more than 50 MB/s
  EXPECT_LT(gbs, 10000.0);  // and no machine reads 10 TB/s from memory
}

TEST(Roofline, Int8PeakFollowsTheActiveKernels) {
  const double peak = measure_int8_peak(1);
  if (active_kernels().int8_peak_loop == nullptr) {
    EXPECT_EQ(peak, 0.0);
  } else {
    EXPECT_GT(peak, 0.1);
    EXPECT_LT(peak, 1e5);
  }
}

TEST(Roofline, Int8PeakLoopsCountTheirMultiplyAdds) {
  for (Isa isa : {Isa::kAvx2, Isa::kAvx512, Isa::kAmx}) {
    if (!cpu_supports(isa)) continue;
    const KernelTable& t = kernel_table(isa);
    ASSERT_NE(t.int8_peak_loop, nullptr) << isa_name(isa);
    const int64_t per_round = isa == Isa::kAmx ? 4 * 16 * 16 * 64 : isa == Isa::kAvx512 ? 12 * 64 : 8 * 32;
    EXPECT_EQ(t.int8_peak_loop(10), 10 * per_round) << isa_name(isa);
  }
}

}  // namespace
}  // namespace kaiyuan::kernels
