// Inputs found by fuzz/fuzz_hf_config (docs/FUZZING.md). The shared-expert width is a product of
// two counts read from the file, computed before validate() range-checks them: a huge
// n_shared_experts overflowed int64 (undefined behaviour; UBSan aborts the sanitizer build here).
// Now the product saturates and validate() rejects the count by name.
#include <gtest/gtest.h>

#include "format/gguf.h"
#include "format/gguf_writer.h"
#include "model/spec.h"

namespace kaiyuan {
namespace {

TEST(FuzzRegressions, HugeSharedExpertCountInConfigIsAnErrorNotAnOverflow) {
  // The fuzzer's input: the deepseek_v3 fixture's config.json with n_shared_experts mutated.
  const nlohmann::json config = nlohmann::json::parse(R"({
    "model_type": "deepseek_v3", "vocab_size": 512, "hidden_size": 256, "intermediate_size": 512,
    "num_hidden_layers": 3, "num_attention_heads": 4, "num_key_value_heads": 4,
    "max_position_embeddings": 4096, "rms_norm_eps": 1e-06, "rope_theta": 10000,
    "kv_lora_rank": 256, "q_lora_rank": 256, "qk_nope_head_dim": 64, "qk_rope_head_dim": 64, "v_head_dim": 64,
    "n_routed_experts": 8, "num_experts_per_tok": 2, "moe_intermediate_size": 256,
    "n_shared_experts": 177777777777777777, "first_k_dense_replace": 1,
    "n_group": 4, "topk_group": 2, "scoring_func": "sigmoid", "topk_method": "noaux_tc"})");
  auto spec = spec_from_hf_config(config, nlohmann::json::object());
  ASSERT_FALSE(spec.is_ok());
  EXPECT_NE(spec.status().message().find("shared expert count"), std::string::npos) << spec.status().message();
}

TEST(FuzzRegressions, HugeSharedExpertCountInGgufIsAnErrorNotAnOverflow) {
  // The same product on the GGUF side (expert_shared_feed_forward_length absent).
  GgufWriter w;
  ASSERT_TRUE(w.add_string("general.architecture", "qwen3moe").is_ok());
  ASSERT_TRUE(w.add_u32("qwen3moe.vocab_size", 512).is_ok());
  ASSERT_TRUE(w.add_u32("qwen3moe.embedding_length", 64).is_ok());
  ASSERT_TRUE(w.add_u32("qwen3moe.block_count", 2).is_ok());
  ASSERT_TRUE(w.add_u32("qwen3moe.attention.head_count", 4).is_ok());
  ASSERT_TRUE(w.add_u32("qwen3moe.context_length", 128).is_ok());
  ASSERT_TRUE(w.add_u32("qwen3moe.feed_forward_length", 128).is_ok());
  ASSERT_TRUE(w.add_u32("qwen3moe.expert_count", 8).is_ok());
  ASSERT_TRUE(w.add_u32("qwen3moe.expert_used_count", 2).is_ok());
  ASSERT_TRUE(w.add_u32("qwen3moe.expert_feed_forward_length", 256).is_ok());
  ASSERT_TRUE(w.add_u64("qwen3moe.expert_shared_count", 177777777777777777ull).is_ok());
  const std::vector<uint8_t> bytes = w.serialize();
  auto gguf = GgufFile::parse(bytes.data(), bytes.size(), "shared.gguf");
  ASSERT_TRUE(gguf.is_ok()) << gguf.status().message();
  auto spec = spec_from_gguf(**gguf);
  ASSERT_FALSE(spec.is_ok());
  EXPECT_NE(spec.status().message().find("n_shared_experts (expert_shared_count)"), std::string::npos) << spec.status().message();
}

// fuzz_hf_config: "tie_word_embeddings": 2 made nlohmann::json::value throw type_error out of
// spec_from_hf_config (library code must return an error, never throw).
TEST(FuzzRegressions, NonBooleanFlagsInConfigAreErrorsNotExceptions) {
  const nlohmann::json llama = nlohmann::json::parse(R"({
    "model_type": "llama", "vocab_size": 512, "hidden_size": 64, "intermediate_size": 172,
    "num_hidden_layers": 2, "num_attention_heads": 8, "num_key_value_heads": 2,
    "max_position_embeddings": 4096, "rms_norm_eps": 1e-05, "tie_word_embeddings": 2})");
  Result<ModelSpec> spec = Error("not run");
  EXPECT_NO_THROW(spec = spec_from_hf_config(llama, nlohmann::json::object()));
  ASSERT_FALSE(spec.is_ok());
  EXPECT_NE(spec.status().message().find("tie_word_embeddings"), std::string::npos) << spec.status().message();
}

// fuzz_hf_config (device campaign): a non-string rope_scaling "type" made json::value throw
// type_error out of spec_from_hf_config.
TEST(FuzzRegressions, NonStringRopeScalingTypeIsAnErrorNotAnException) {
  for (const char* scaling : {R"({"type": 2, "factor": 8.0})", R"({"rope_type": {"a": 1}})"}) {
    const nlohmann::json llama = nlohmann::json::parse(std::string(R"({
      "model_type": "llama", "vocab_size": 512, "hidden_size": 64, "intermediate_size": 172,
      "num_hidden_layers": 2, "num_attention_heads": 8, "num_key_value_heads": 2,
      "max_position_embeddings": 4096, "rms_norm_eps": 1e-05, "rope_scaling": )") + scaling + "}");
    Result<ModelSpec> spec = Error("not run");
    EXPECT_NO_THROW(spec = spec_from_hf_config(llama, nlohmann::json::object())) << scaling;
    ASSERT_FALSE(spec.is_ok()) << scaling;
    EXPECT_NE(spec.status().message().find("must be a string"), std::string::npos) << spec.status().message();
  }
}

}  // namespace
}  // namespace kaiyuan
