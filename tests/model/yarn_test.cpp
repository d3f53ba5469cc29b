// YaRN frequencies and mscale against values worked out by hand from the formulas of
// transformers _compute_yarn_parameters / ggml rope_yarn (base 10000, 64 rotary dims, original
// context 1024, factor 4, betas 32 / 1: the arch/deepseek_v3 fixture's config).
#include "model/yarn.h"

#include <gtest/gtest.h>

#include <cmath>

namespace kaiyuan {
namespace {

YarnParams fixture_params() {
  YarnParams p;
  p.factor = 4.0;
  p.original_context = 1024;
  p.beta_fast = 32.0;
  p.beta_slow = 1.0;
  return p;
}

TEST(Yarn, MscaleIsOneTenthMLogSPlusOne) {
  EXPECT_NEAR(yarn_mscale(4.0, 1.0), 1.0 + 0.1 * std::log(4.0), 1e-12);  // 1.13862943...
  EXPECT_NEAR(yarn_mscale(40.0, 0.707), 1.0 + 0.0707 * std::log(40.0), 1e-12);
  EXPECT_EQ(yarn_mscale(1.0, 1.0), 1.0);  // no extension: no correction
  EXPECT_EQ(yarn_mscale(0.5, 1.0), 1.0);
}

TEST(Yarn, FrequenciesBlendBetweenCorrectionDims) {
  // Correction dims: 64 ln(1024 / (2 pi beta)) / (2 ln 10000) = 5.656 (beta 32) -> floor 5, and
  // 17.697 (beta 1) -> ceil 18. Below 5 frequencies are kept, from 18 on divided by 4, between
  // them blended with ramp (i - 5) / 13.
  const std::vector<float> inv = yarn_inv_freq(10000.0, 64, fixture_params());
  ASSERT_EQ(inv.size(), 32u);
  auto theta = [](int i) { return std::pow(10000.0, -2.0 * i / 64.0); };
  EXPECT_FLOAT_EQ(inv[0], 1.0f);
  EXPECT_FLOAT_EQ(inv[5], static_cast<float>(theta(5)));  // 0.23713737
  // i = 10: ramp 5/13, weight of the original 8/13: theta (8/13 + 5/13 / 4) = 0.04001275
  EXPECT_NEAR(inv[10], 0.04001274813854407, 1e-8);
  EXPECT_NEAR(inv[18], 0.0014058533129758727, 1e-9);  // fully interpolated: theta(18) / 4
  EXPECT_NEAR(inv[31], 3.33380358040831e-05, 1e-11);
  for (int i = 0; i < 5; ++i) EXPECT_FLOAT_EQ(inv[i], static_cast<float>(theta(i))) << i;
  for (int i = 18; i < 32; ++i) EXPECT_FLOAT_EQ(inv[i], static_cast<float>(theta(i) / 4.0)) << i;
}

TEST(Yarn, FactorOneLeavesFrequenciesUnscaled) {
  YarnParams p = fixture_params();
  p.factor = 1.0;
  const std::vector<float> inv = yarn_inv_freq(10000.0, 64, p);
  for (int i = 0; i < 32; ++i) EXPECT_FLOAT_EQ(inv[i], static_cast<float>(std::pow(10000.0, -i / 32.0))) << i;
}

}  // namespace
}  // namespace kaiyuan
