// A DeepSeek-V2-Lite-style variant of the arch/deepseek_v3 fixture, built at test time: plain
// q_proj (no q LoRA), softmax "greedy" routing top-3 without renormalisation but x1.5, no selection
// bias, 2 layers, YaRN with mscale != mscale_all_dim (so cos/sin are scaled too). Its logits are
// checked against the float64 reference run on the same folder (data/mla_v2_lite_variant/README.md).
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>

#include "e2e/model_goldens.h"
#include "format/hf_folder.h"
#include "format/hf_test_files.h"
#include "kernels/kernel_table.h"
#include "model/yarn.h"
#include "support/test_support.h"

namespace kaiyuan::test {
namespace {

constexpr int kLayers = 2;

std::string data_dir() {
  const std::string here = __FILE__;
  return here.substr(0, here.rfind('/')) + "/data/mla_v2_lite_variant";
}

// Same renames as data/mla_v2_lite_variant/make_variant.py variant_name(); "" drops the tensor.
std::string variant_name(const std::string& name) {
  const std::string layers = "model.layers.";
  if (name.rfind(layers, 0) != 0) return name;
  const int layer = std::stoi(name.substr(layers.size()));
  if (layer >= kLayers) return "";
  if (name.find(".q_a_proj.") != std::string::npos || name.find(".q_a_layernorm.") != std::string::npos ||
      name.ends_with("e_score_correction_bias"))
    return "";
  std::string out = name;
  if (const size_t at = out.find(".q_b_proj."); at != std::string::npos) out.replace(at, 10, ".q_proj.");
  return out;
}

// Same config as make_variant.py variant_config().
nlohmann::json variant_config(nlohmann::json c) {
  c["architectures"] = {"DeepseekV2ForCausalLM"};
  c["model_type"] = "deepseek_v2";
  c["num_hidden_layers"] = kLayers;
  c["q_lora_rank"] = nullptr;
  c["scoring_func"] = "softmax";
  c["topk_method"] = "greedy";
  c["n_group"] = 1;
  c["topk_group"] = 1;
  c["num_experts_per_tok"] = 3;
  c["norm_topk_prob"] = false;
  c["routed_scaling_factor"] = 1.5;
  c["rope_scaling"] = {{"type", "yarn"},   {"factor", 4.0},   {"original_max_position_embeddings", 1024},
                       {"beta_fast", 32},  {"beta_slow", 1},  {"mscale", 1.0},
                       {"mscale_all_dim", 0.707}};
  return c;
}

std::string build_variant_folder() {
  const std::string src = fixture_path("arch/deepseek_v3/hf");
  const std::string dir = temp_dir() + "/mla_v2_lite_variant";
  std::filesystem::create_directories(dir);
  auto file = SafetensorsFile::open(src + "/model.safetensors");
  EXPECT_TRUE(file.is_ok()) << file.status().message();
  if (!file.is_ok()) return dir;
  std::vector<TensorView> views;
  for (TensorView v : file->tensors()) {
    v.name = variant_name(v.name);
    if (!v.name.empty()) views.push_back(v);
  }
  write_binary_file(dir + "/model.safetensors", safetensors_from_views(views));
  write_binary_file(dir + "/config.json", variant_config(read_json(src + "/config.json")).dump(2));
  return dir;
}

class MlaVariant : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    // f32 activations (the exact path) for the 1e-4 comparison.
    ASSERT_TRUE(kernels::set_isa_for_testing(kernels::Isa::kScalar));
    auto loaded = load_model(build_variant_folder());
    ASSERT_TRUE(loaded.is_ok()) << loaded.status().message();
    model_ = new LoadedModel(std::move(loaded).value());
  }
  static void TearDownTestSuite() {
    delete model_;
    model_ = nullptr;
  }
  static LoadedModel* model_;
};
LoadedModel* MlaVariant::model_ = nullptr;

TEST_F(MlaVariant, SpecIsTheV2LiteShape) {
  ASSERT_NE(model_, nullptr);
  const MlaSpec& m = model_->model->spec().mla;
  EXPECT_EQ(m.q_lora_rank, 0);
  EXPECT_EQ(m.router.scoring, RouterScoring::kSoftmax);
  EXPECT_EQ(m.router.top_k, 3);
  EXPECT_FALSE(m.router.norm_topk_prob);
  EXPECT_FLOAT_EQ(m.router.routed_scaling_factor, 1.5f);
  // cos/sin x mscale(4, 1) / mscale(4, 0.707); softmax x mscale(4, 0.707)^2.
  EXPECT_NEAR(m.yarn_params.rope_attn_factor, (1 + 0.1 * std::log(4.0)) / (1 + 0.0707 * std::log(4.0)), 1e-12);
  EXPECT_NEAR(m.softmax_scale, std::pow(1 + 0.0707 * std::log(4.0), 2) / std::sqrt(128.0), 1e-12);
}

TEST_F(MlaVariant, LogitsMatchFloat64Reference) {
  ASSERT_NE(model_, nullptr);
  const auto prompts = read_json(fixture_path("arch/deepseek_v3/prompts.json"))["prompts"];
  for (int i : {0, 1}) {
    const auto ids = prompts[i].get<std::vector<int32_t>>();
    const NpyArray golden = read_npy(data_dir() + "/logits_" + std::to_string(i) + ".npy");
    const std::vector<float> logits = forward_all(*model_->model, ids);
    EXPECT_LE(max_abs_diff(logits, golden.data), 1e-4f * max_abs(golden.data)) << "prompt " << i;
  }
}

TEST_F(MlaVariant, DecodeStepByStepEqualsOneBatch) {
  ASSERT_NE(model_, nullptr);
  Model& model = *model_->model;
  const int64_t n_vocab = model.spec().n_vocab;
  const auto ids = read_json(fixture_path("arch/deepseek_v3/prompts.json"))["prompts"][0].get<std::vector<int32_t>>();
  const std::vector<float> full = forward_all(model, ids);
  auto cache = model.create_cache(static_cast<int64_t>(ids.size()), 1);
  ASSERT_TRUE(cache.is_ok());
  std::vector<float> logits;
  for (size_t t = 0; t < ids.size(); ++t) {
    Batch batch;
    batch.add(ids[t], static_cast<int32_t>(t), 0, true);
    ASSERT_TRUE(model.forward(batch, *cache, logits).is_ok());
    for (int64_t v = 0; v < n_vocab; ++v)
      ASSERT_NEAR(logits[v], full[t * n_vocab + v], 1e-5f * max_abs(full)) << "position " << t;
  }
}

}  // namespace
}  // namespace kaiyuan::test
