// MlaSpec parsing from the arch/deepseek_v3 fixture's GGUF metadata and HF config.json: both must
// give the numbers of deepseek_v3/README.md (kv_lora 256, q_lora 256, nope/rope/v 64, YaRN factor
// 4 with mscale_all_dim 1, sigmoid router over 4 groups keeping 2, top-2, x2.5, 1 shared expert,
// layer 0 dense), and the softmax scale (1 + 0.1 ln 4)^2 / sqrt(128) = 0.11459346.
#include "model/mla_spec.h"

#include <gtest/gtest.h>

#include "format/gguf.h"
#include "format/hf_folder.h"
#include "model/spec.h"
#include "support/test_support.h"

namespace kaiyuan {
namespace {

void expect_fixture_values(const ModelSpec& s) {
  const MlaSpec& m = s.mla;
  EXPECT_EQ(s.arch, "deepseek2");
  EXPECT_EQ(m.q_lora_rank, 256);
  EXPECT_EQ(m.kv_lora_rank, 256);
  EXPECT_EQ(m.qk_nope_head_dim, 64);
  EXPECT_EQ(m.qk_rope_head_dim, 64);
  EXPECT_EQ(m.v_head_dim, 64);
  EXPECT_EQ(m.cache_width(), 320);
  EXPECT_EQ(s.head_dim, 128);
  EXPECT_EQ(s.n_kv_heads, 4);
  EXPECT_EQ(s.rope_dim, 64);
  EXPECT_EQ(s.rope_pairing, kernels::RopePairing::kInterleaved);
  ASSERT_TRUE(m.yarn);
  EXPECT_DOUBLE_EQ(m.yarn_params.factor, 4.0);
  EXPECT_EQ(m.yarn_params.original_context, 1024);
  EXPECT_DOUBLE_EQ(m.yarn_params.beta_fast, 32.0);
  EXPECT_DOUBLE_EQ(m.yarn_params.beta_slow, 1.0);
  EXPECT_NEAR(m.yarn_params.rope_attn_factor, 1.0, 1e-12);
  EXPECT_NEAR(m.softmax_scale, 0.1145934591559475, 1e-7);  // GGUF log_mul is an f32 0.1
  EXPECT_EQ(m.router.scoring, RouterScoring::kSigmoid);
  EXPECT_EQ(m.router.n_experts, 8);
  EXPECT_EQ(m.router.top_k, 2);
  EXPECT_EQ(m.router.n_group, 4);
  EXPECT_EQ(m.router.topk_group, 2);
  EXPECT_TRUE(m.router.norm_topk_prob);
  EXPECT_FLOAT_EQ(m.router.routed_scaling_factor, 2.5f);
  EXPECT_EQ(m.d_ff_expert, 256);
  EXPECT_EQ(m.n_shared_experts, 1);
  EXPECT_EQ(m.n_dense_lead, 1);
  EXPECT_FALSE(m.is_moe_layer(0));
  EXPECT_TRUE(m.is_moe_layer(1));
  EXPECT_TRUE(m.is_moe_layer(2));
}

TEST(MlaSpec, FromGgufMetadata) {
  auto gguf = GgufFile::open(test::fixture_path("arch/deepseek_v3/model-q8_0.gguf"));
  ASSERT_TRUE(gguf.is_ok()) << gguf.status().message();
  auto spec = spec_from_gguf(**gguf);
  ASSERT_TRUE(spec.is_ok()) << spec.status().message();
  expect_fixture_values(*spec);
}

TEST(MlaSpec, FromHfConfig) {
  auto hf = HfFolder::open(test::fixture_path("arch/deepseek_v3/hf"));
  ASSERT_TRUE(hf.is_ok()) << hf.status().message();
  auto spec = spec_from_hf_config((*hf)->config(), (*hf)->generation_config());
  ASSERT_TRUE(spec.is_ok()) << spec.status().message();
  expect_fixture_values(*spec);
}

TEST(MlaSpec, HostileConfigsAreRejectedWithTheKeyNamed) {
  auto hf = HfFolder::open(test::fixture_path("arch/deepseek_v3/hf"));
  ASSERT_TRUE(hf.is_ok());
  const nlohmann::json base = (*hf)->config();
  auto parse_error = [&](const char* key, const nlohmann::json& value) {
    nlohmann::json c = base;
    c[key] = value;
    auto spec = spec_from_hf_config(c, nlohmann::json::object());
    EXPECT_FALSE(spec.is_ok()) << key;
    return spec.is_ok() ? std::string() : spec.status().message();
  };
  EXPECT_NE(parse_error("kv_lora_rank", -1).find("kv_lora_rank"), std::string::npos);
  EXPECT_NE(parse_error("qk_rope_head_dim", 63).find("odd"), std::string::npos);
  EXPECT_NE(parse_error("kv_lora_rank", "big").find("kv_lora_rank"), std::string::npos);
  EXPECT_NE(parse_error("topk_group", 9).find("group"), std::string::npos);
  parse_error("num_experts_per_tok", 0);
  // Strings of the wrong type are errors too, not a silent fallback to the default routing.
  EXPECT_NE(parse_error("scoring_func", 1).find("\"scoring_func\" must be a string"), std::string::npos);
  EXPECT_NE(parse_error("topk_method", nlohmann::json::array()).find("topk_method"), std::string::npos);
}

}  // namespace
}  // namespace kaiyuan
