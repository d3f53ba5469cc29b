// MoE ModelSpec parsing: the HF config.json and the GGUF metadata of each MoE fixture (the
// converter's own translation of that config) must give the same spec, and the values stated in
// ../shared/fixtures/arch/<name>/README.md.
#include <gtest/gtest.h>

#include <cmath>

#include "format/gguf.h"
#include "format/hf_folder.h"
#include "model/spec.h"
#include "test_support.h"

namespace kaiyuan {
namespace {

ModelSpec hf_spec(const std::string& name) {
  auto hf = HfFolder::open(test::fixture_path("arch/" + name + "/hf"));
  EXPECT_TRUE(hf.is_ok()) << hf.status().message();
  auto spec = spec_from_hf_config((*hf)->config(), (*hf)->generation_config());
  EXPECT_TRUE(spec.is_ok()) << spec.status().message();
  return spec.is_ok() ? *spec : ModelSpec{};
}

ModelSpec gguf_spec(const std::string& name) {
  auto gguf = GgufFile::open(test::fixture_path("arch/" + name + "/model-q8_0.gguf"));
  EXPECT_TRUE(gguf.is_ok()) << gguf.status().message();
  auto spec = spec_from_gguf(**gguf);
  EXPECT_TRUE(spec.is_ok()) << spec.status().message();
  return spec.is_ok() ? *spec : ModelSpec{};
}

void expect_same(const ModelSpec& a, const ModelSpec& b) {
  EXPECT_EQ(a.arch, b.arch);
  EXPECT_EQ(a.head_dim, b.head_dim);
  EXPECT_EQ(a.rope_dim, b.rope_dim);
  EXPECT_EQ(a.rope_pairing, b.rope_pairing);
  EXPECT_NEAR(a.rope_theta / b.rope_theta, 1.0, 1e-6);  // GGUF stores freq_base as f32
  EXPECT_EQ(a.qk_norm, b.qk_norm);
  EXPECT_EQ(a.qk_norm_after_rope, b.qk_norm_after_rope);
  EXPECT_EQ(a.qk_norm_all_heads, b.qk_norm_all_heads);
  EXPECT_EQ(a.router.scoring, b.router.scoring);
  EXPECT_EQ(a.router.n_experts, b.router.n_experts);
  EXPECT_EQ(a.router.top_k, b.router.top_k);
  EXPECT_EQ(a.router.norm_topk_prob, b.router.norm_topk_prob);
  EXPECT_FLOAT_EQ(a.router.routed_scaling_factor, b.router.routed_scaling_factor);
  EXPECT_EQ(a.router.n_group, b.router.n_group);
  EXPECT_EQ(a.router.topk_group, b.router.topk_group);
  EXPECT_EQ(a.d_ff_expert, b.d_ff_expert);
  EXPECT_EQ(a.n_shared_experts, b.n_shared_experts);
  EXPECT_EQ(a.d_ff_shexp, b.d_ff_shexp);
  for (int64_t l = 0; l < a.n_layers; ++l) EXPECT_EQ(a.is_moe_layer(l), b.is_moe_layer(l)) << "layer " << l;
}

TEST(MoeSpec, Qwen3Moe) {
  const ModelSpec s = hf_spec("qwen3moe");
  EXPECT_EQ(s.arch, "qwen3moe");
  EXPECT_EQ(s.router.scoring, RouterScoring::kSoftmax);
  EXPECT_EQ(s.router.n_experts, 8);
  EXPECT_EQ(s.router.top_k, 2);
  EXPECT_TRUE(s.router.norm_topk_prob);
  EXPECT_EQ(s.d_ff_expert, 256);
  EXPECT_TRUE(s.qk_norm);
  EXPECT_TRUE(s.is_moe_layer(0) && s.is_moe_layer(1));
  expect_same(s, gguf_spec("qwen3moe"));
}

TEST(MoeSpec, Glm4Moe) {
  const ModelSpec s = hf_spec("glm4_moe");
  EXPECT_EQ(s.arch, "glm4moe");
  EXPECT_EQ(s.router.scoring, RouterScoring::kSigmoid);
  EXPECT_FLOAT_EQ(s.router.routed_scaling_factor, 2.5f);
  EXPECT_EQ(s.n_shared_experts, 1);
  EXPECT_EQ(s.rope_dim, 32);  // partial_rotary_factor 0.5 of head_dim 64
  EXPECT_TRUE(s.qk_norm);
  EXPECT_FALSE(s.is_moe_layer(0));  // first_k_dense_replace 1
  EXPECT_TRUE(s.is_moe_layer(1));
  expect_same(s, gguf_spec("glm4_moe"));
}

TEST(MoeSpec, MiniMaxM2) {
  const ModelSpec s = hf_spec("minimax_m2");
  EXPECT_EQ(s.arch, "minimax-m2");
  EXPECT_EQ(s.router.scoring, RouterScoring::kSigmoid);
  EXPECT_EQ(s.router.n_experts, 3);
  EXPECT_TRUE(s.qk_norm_all_heads);
  EXPECT_EQ(s.rope_dim, 32);
  EXPECT_EQ(s.n_shared_experts, 0);
  expect_same(s, gguf_spec("minimax_m2"));
}

TEST(MoeSpec, Ernie45Moe) {
  const ModelSpec s = hf_spec("ernie4_5_moe");
  EXPECT_EQ(s.arch, "ernie4_5-moe");
  EXPECT_EQ(s.rope_pairing, kernels::RopePairing::kInterleaved);
  EXPECT_EQ(s.router.scoring, RouterScoring::kSoftmax);
  EXPECT_TRUE(s.router.norm_topk_prob);
  EXPECT_TRUE(s.tied_embeddings);
  EXPECT_FALSE(s.is_moe_layer(0));  // moe_layer_start_index 1
  EXPECT_TRUE(s.is_moe_layer(1));
  expect_same(s, gguf_spec("ernie4_5_moe"));
}

TEST(MoeSpec, HunyuanMoe) {
  const ModelSpec s = hf_spec("hunyuan_moe");
  EXPECT_EQ(s.arch, "hunyuan-moe");
  // NTK alpha: 10000 x 1000^(64/62) (fixtures README: freq_base 12496091).
  EXPECT_NEAR(s.rope_theta, 1e4 * std::pow(1000.0, 64.0 / 62.0), 1e-3);
  EXPECT_NEAR(s.rope_theta, 12496091.0, 1.0);
  EXPECT_TRUE(s.qk_norm && s.qk_norm_after_rope);
  EXPECT_EQ(s.router.top_k, 2);
  EXPECT_EQ(s.n_shared_experts, 1);
  expect_same(s, gguf_spec("hunyuan_moe"));
}

TEST(MoeSpec, HostileMoeConfigsAreRejectedWithTheKeyNamed) {
  auto hf = HfFolder::open(test::fixture_path("arch/qwen3moe/hf"));
  ASSERT_TRUE(hf.is_ok());
  auto expect_error = [&](const char* key, nlohmann::json value, const std::string& needle) {
    nlohmann::json c = (*hf)->config();
    c[key] = std::move(value);
    auto spec = spec_from_hf_config(c, nlohmann::json::object());
    ASSERT_FALSE(spec.is_ok()) << key;
    EXPECT_NE(spec.status().message().find(needle), std::string::npos) << spec.status().message();
  };
  expect_error("num_experts_per_tok", 9, "expert_used_count");
  expect_error("num_experts_per_tok", 0, "expert_used_count");
  expect_error("num_experts", -3, "expert count");
  expect_error("moe_intermediate_size", "wide", "moe_intermediate_size");
  expect_error("norm_topk_prob", 3, "norm_topk_prob");
  expect_error("mlp_only_layers", nlohmann::json::array({7}), "mlp_only_layers");
}

}  // namespace
}  // namespace kaiyuan
