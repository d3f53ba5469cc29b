// weight_footprint on the qwen3moe fixture: its routed experts are 2 layers x 3 projections x 8
// experts x [256, 256] (fixtures/arch/qwen3moe/README.md), and top-2 routing touches 2/8 of them.
#include <gtest/gtest.h>

#include "format/gguf.h"
#include "model/weight_footprint.h"
#include "test_support.h"

namespace kaiyuan {
namespace {

TEST(WeightFootprint, Qwen3MoeCountsTopKOfTheRoutedExperts) {
  auto gguf = GgufFile::open(test::fixture_path("arch/qwen3moe/model-q8_0.gguf"));
  ASSERT_TRUE(gguf.is_ok()) << gguf.status().message();
  auto spec = spec_from_gguf(**gguf);
  ASSERT_TRUE(spec.is_ok()) << spec.status().message();
  const WeightFootprint f = weight_footprint(*spec, **gguf);
  const int64_t experts = 2 * 3 * 8 * 256 * 256;
  EXPECT_EQ(f.expert_params, experts);
  EXPECT_EQ(f.active_params, f.total_params - experts / 8 * 6);
  // Per token: 2/8 of the expert bytes, one embedding row, everything else once.
  double expert_bytes = 0, embd_bytes = 0;
  for (const TensorView& t : (*gguf)->tensors()) {
    if (t.name.find("_exps.") != std::string::npos) expert_bytes += static_cast<double>(t.nbytes);
    if (t.name == "token_embd.weight") embd_bytes = static_cast<double>(t.nbytes);
  }
  EXPECT_NEAR(f.bytes_per_token, f.total_bytes - expert_bytes * 6 / 8 - embd_bytes * 511 / 512, 1.0);
}

}  // namespace
}  // namespace kaiyuan
