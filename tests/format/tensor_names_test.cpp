// hf_to_canonical_name against hand-written expectations taken from llama.cpp's
// gguf-py/gguf/tensor_mapping.py (the GGUF names its converter writes).
#include <gtest/gtest.h>

#include "format/tensor_names.h"

namespace kaiyuan {
namespace {

struct Case {
  const char* hf;
  const char* canonical;
};

TEST(TensorNames, DenseLlamaQwen) {
  const Case cases[] = {
      {"model.embed_tokens.weight", "token_embd.weight"},
      {"model.norm.weight", "output_norm.weight"},
      {"lm_head.weight", "output.weight"},
      {"model.layers.0.input_layernorm.weight", "blk.0.attn_norm.weight"},
      {"model.layers.17.post_attention_layernorm.weight", "blk.17.ffn_norm.weight"},
      {"model.layers.3.self_attn.q_proj.weight", "blk.3.attn_q.weight"},
      {"model.layers.3.self_attn.k_proj.weight", "blk.3.attn_k.weight"},
      {"model.layers.3.self_attn.v_proj.weight", "blk.3.attn_v.weight"},
      {"model.layers.3.self_attn.q_proj.bias", "blk.3.attn_q.bias"},
      {"model.layers.3.self_attn.k_proj.bias", "blk.3.attn_k.bias"},
      {"model.layers.3.self_attn.v_proj.bias", "blk.3.attn_v.bias"},
      {"model.layers.3.self_attn.o_proj.weight", "blk.3.attn_output.weight"},
      {"model.layers.3.self_attn.o_proj.bias", "blk.3.attn_output.bias"},
      {"model.layers.3.self_attn.q_norm.weight", "blk.3.attn_q_norm.weight"},
      {"model.layers.3.self_attn.k_norm.weight", "blk.3.attn_k_norm.weight"},
      {"model.layers.120.mlp.gate_proj.weight", "blk.120.ffn_gate.weight"},
      {"model.layers.120.mlp.up_proj.weight", "blk.120.ffn_up.weight"},
      {"model.layers.120.mlp.down_proj.weight", "blk.120.ffn_down.weight"},
  };
  for (const Case& c : cases) {
    auto got = hf_to_canonical_name(c.hf);
    ASSERT_TRUE(got.has_value()) << c.hf;
    EXPECT_EQ(*got, c.canonical) << c.hf;
  }
}

TEST(TensorNames, MixtureOfExperts) {
  const Case cases[] = {
      {"model.layers.1.mlp.gate.weight", "blk.1.ffn_gate_inp.weight"},
      {"model.layers.1.mlp.experts.0.gate_proj.weight", "blk.1.ffn_gate.0.weight"},
      {"model.layers.1.mlp.experts.7.up_proj.weight", "blk.1.ffn_up.7.weight"},
      {"model.layers.2.mlp.experts.255.down_proj.weight", "blk.2.ffn_down.255.weight"},
      {"model.layers.1.mlp.shared_expert.gate_proj.weight", "blk.1.ffn_gate_shexp.weight"},
      {"model.layers.1.mlp.shared_experts.up_proj.weight", "blk.1.ffn_up_shexp.weight"},
      {"model.layers.1.mlp.shared_experts.down_proj.weight", "blk.1.ffn_down_shexp.weight"},
      {"model.layers.1.mlp.shared_mlp.down_proj.weight", "blk.1.ffn_down_shexp.weight"},
      {"model.layers.1.mlp.shared_expert_gate.weight", "blk.1.ffn_gate_inp_shexp.weight"},
      {"model.layers.1.mlp.gate.e_score_correction_bias", "blk.1.exp_probs_b.bias"},
      {"model.layers.1.mlp.moe_statics.e_score_correction_bias", "blk.1.exp_probs_b.bias"},
      {"model.layers.0.block_sparse_moe.e_score_correction_bias", "blk.0.exp_probs_b.bias"},
      {"model.layers.0.block_sparse_moe.gate.weight", "blk.0.ffn_gate_inp.weight"},
      {"model.layers.0.block_sparse_moe.experts.2.w1.weight", "blk.0.ffn_gate.2.weight"},
      {"model.layers.0.block_sparse_moe.experts.2.w2.weight", "blk.0.ffn_down.2.weight"},
      {"model.layers.0.block_sparse_moe.experts.2.w3.weight", "blk.0.ffn_up.2.weight"},
      {"model.layers.0.mlp.gate.wg.weight", "blk.0.ffn_gate_inp.weight"},
      {"model.layers.0.self_attn.query_layernorm.weight", "blk.0.attn_q_norm.weight"},
      {"model.layers.0.self_attn.key_layernorm.weight", "blk.0.attn_k_norm.weight"},
  };
  for (const Case& c : cases) {
    auto got = hf_to_canonical_name(c.hf);
    ASSERT_TRUE(got.has_value()) << c.hf;
    EXPECT_EQ(*got, c.canonical) << c.hf;
  }
}

TEST(TensorNames, MultiHeadLatentAttention) {
  const Case cases[] = {
      {"model.layers.4.self_attn.q_a_proj.weight", "blk.4.attn_q_a.weight"},
      {"model.layers.4.self_attn.q_a_layernorm.weight", "blk.4.attn_q_a_norm.weight"},
      {"model.layers.4.self_attn.q_b_proj.weight", "blk.4.attn_q_b.weight"},
      {"model.layers.4.self_attn.kv_a_proj_with_mqa.weight", "blk.4.attn_kv_a_mqa.weight"},
      {"model.layers.4.self_attn.kv_a_layernorm.weight", "blk.4.attn_kv_a_norm.weight"},
      {"model.layers.4.self_attn.kv_b_proj.weight", "blk.4.attn_kv_b.weight"},
  };
  for (const Case& c : cases) {
    auto got = hf_to_canonical_name(c.hf);
    ASSERT_TRUE(got.has_value()) << c.hf;
    EXPECT_EQ(*got, c.canonical) << c.hf;
  }
}

TEST(TensorNames, UnknownNamesAreNullopt) {
  for (const char* hf : {"", "model", "model.layers.", "model.layers.0", "model.layers.x.input_layernorm.weight",
                         "model.layers.-1.input_layernorm.weight", "model.layers.0.input_layernorm",
                         "model.layers.0.input_layernorm.scale", "model.layers.0.self_attn.rotary_emb.inv_freq",
                         "model.layers.0.mlp.experts.x.gate_proj.weight", "model.layers.0.mlp.experts.0.gate_proj.bias",
                         "model.layers.0.mlp.experts.0.w1.weight", "model.embed_tokens.bias", "lm_head.bias",
                         "token_embd.weight", "transformer.h.0.attn.c_attn.weight", "model.layers.0..weight",
                         "model.layers.0.weight"}) {
    EXPECT_FALSE(hf_to_canonical_name(hf).has_value()) << hf;
  }
}

}  // namespace
}  // namespace kaiyuan
