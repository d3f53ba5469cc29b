// HF checkpoint tensor names -> the canonical (GGUF) names every model binds against.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace kaiyuan {

// "model.layers.3.self_attn.q_proj.weight" -> "blk.3.attn_q.weight"; nullopt when unknown.
// Covers the dense Llama/Qwen family: embed_tokens -> token_embd, norm -> output_norm,
// lm_head -> output, input_layernorm -> attn_norm, post_attention_layernorm -> ffn_norm,
// q/k/v/o_proj -> attn_q/attn_k/attn_v/attn_output (weight and bias), q_norm/k_norm ->
// attn_q_norm/attn_k_norm, gate/up/down_proj -> ffn_gate/ffn_up/ffn_down.
std::optional<std::string> hf_to_canonical_name(std::string_view hf_name);

}  // namespace kaiyuan
