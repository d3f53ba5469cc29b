// HF -> canonical (GGUF) tensor names. The table follows llama.cpp's gguf-py/gguf/tensor_mapping.py
// and the renames in convert_hf_to_gguf.py; only per-expert tensors differ: llama.cpp stacks
// experts into one "ffn_*_exps" tensor, we keep one tensor per expert ("blk.N.ffn_gate.E.weight").
#include "format/tensor_names.h"

#include <array>
#include <utility>

namespace kaiyuan {
namespace {

using Rename = std::pair<std::string_view, std::string_view>;

// Whole-model tensors (exact names).
constexpr std::array<Rename, 3> kGlobal = {{
    {"model.embed_tokens.weight", "token_embd.weight"},
    {"model.norm.weight", "output_norm.weight"},
    {"lm_head.weight", "output.weight"},
}};

// Per-layer modules: "model.layers.N.<hf>.<suffix>" -> "blk.N.<canonical>.<suffix>".
constexpr std::array<Rename, 32> kLayer = {{
    {"input_layernorm", "attn_norm"},
    {"post_attention_layernorm", "ffn_norm"},
    {"self_attn.q_proj", "attn_q"},
    {"self_attn.k_proj", "attn_k"},
    {"self_attn.v_proj", "attn_v"},
    {"self_attn.o_proj", "attn_output"},
    {"self_attn.q_norm", "attn_q_norm"},
    {"self_attn.k_norm", "attn_k_norm"},
    {"self_attn.query_layernorm", "attn_q_norm"},  // HunYuan
    {"self_attn.key_layernorm", "attn_k_norm"},    // HunYuan
    // DeepSeek-V2/V3 multi-head latent attention.
    {"self_attn.q_a_proj", "attn_q_a"},
    {"self_attn.q_a_layernorm", "attn_q_a_norm"},
    {"self_attn.q_b_proj", "attn_q_b"},
    {"self_attn.kv_a_proj_with_mqa", "attn_kv_a_mqa"},
    {"self_attn.kv_a_layernorm", "attn_kv_a_norm"},
    {"self_attn.kv_b_proj", "attn_kv_b"},
    {"mlp.gate_proj", "ffn_gate"},
    {"mlp.up_proj", "ffn_up"},
    {"mlp.down_proj", "ffn_down"},
    // MoE routers.
    {"mlp.gate", "ffn_gate_inp"},
    {"mlp.gate.wg", "ffn_gate_inp"},             // HunYuan
    {"block_sparse_moe.gate", "ffn_gate_inp"},  // Mixtral, MiniMax
    {"mlp.shared_expert_gate", "ffn_gate_inp_shexp"},  // Qwen2-MoE
    // Shared experts: Qwen2-MoE "shared_expert", DeepSeek/GLM/ERNIE "shared_experts", HunYuan "shared_mlp".
    {"mlp.shared_expert.gate_proj", "ffn_gate_shexp"},
    {"mlp.shared_expert.up_proj", "ffn_up_shexp"},
    {"mlp.shared_expert.down_proj", "ffn_down_shexp"},
    {"mlp.shared_experts.gate_proj", "ffn_gate_shexp"},
    {"mlp.shared_experts.up_proj", "ffn_up_shexp"},
    {"mlp.shared_experts.down_proj", "ffn_down_shexp"},
    {"mlp.shared_mlp.gate_proj", "ffn_gate_shexp"},
    {"mlp.shared_mlp.up_proj", "ffn_up_shexp"},
    {"mlp.shared_mlp.down_proj", "ffn_down_shexp"},
}};

// Router selection bias, written "blk.N.exp_probs_b.bias" (convert_hf_to_gguf.py renames
// "e_score_correction_bias" to "e_score_correction.bias" before mapping).
constexpr std::array<std::string_view, 3> kScoreBias = {
    "mlp.gate.e_score_correction_bias",           // DeepSeek-V3, GLM-4.5
    "mlp.moe_statics.e_score_correction_bias",    // ERNIE-4.5
    "block_sparse_moe.e_score_correction_bias",   // MiniMax-M2
};

// Per-expert projections: "<prefix>E.<hf>.weight" -> "blk.N.<canonical>.E.weight".
// Mixtral-style w1/w3/w2 are gate/up/down (modeling_mixtral.py: w2(act(w1(x)) * w3(x))).
struct ExpertRename {
  std::string_view prefix, hf, canonical;
};
constexpr std::array<ExpertRename, 6> kExpert = {{
    {"mlp.experts.", "gate_proj", "ffn_gate"},
    {"mlp.experts.", "up_proj", "ffn_up"},
    {"mlp.experts.", "down_proj", "ffn_down"},
    {"block_sparse_moe.experts.", "w1", "ffn_gate"},
    {"block_sparse_moe.experts.", "w3", "ffn_up"},
    {"block_sparse_moe.experts.", "w2", "ffn_down"},
}};

bool is_index(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s)
    if (c < '0' || c > '9') return false;
  return true;
}

// Splits "<module>.weight" / "<module>.bias" into module and suffix.
bool split_param(std::string_view name, std::string_view& module, std::string_view& suffix) {
  for (std::string_view s : {std::string_view(".weight"), std::string_view(".bias")}) {
    if (name.size() > s.size() && name.ends_with(s)) {
      module = name.substr(0, name.size() - s.size());
      suffix = s;
      return true;
    }
  }
  return false;
}

std::optional<std::string> map_expert(std::string_view blk, std::string_view rest) {
  for (const ExpertRename& r : kExpert) {
    if (!rest.starts_with(r.prefix)) continue;
    std::string_view tail = rest.substr(r.prefix.size());  // "E.<hf>.weight"
    const size_t dot = tail.find('.');
    if (dot == std::string_view::npos || !is_index(tail.substr(0, dot))) continue;
    if (tail.substr(dot + 1) != std::string(r.hf) + ".weight") continue;
    return std::string(blk) + std::string(r.canonical) + "." + std::string(tail.substr(0, dot)) + ".weight";
  }
  return std::nullopt;
}

std::optional<std::string> map_layer(std::string_view layer, std::string_view rest) {
  const std::string blk = "blk." + std::string(layer) + ".";
  for (std::string_view bias : kScoreBias)
    if (rest == bias) return blk + "exp_probs_b.bias";
  if (auto expert = map_expert(blk, rest)) return expert;

  std::string_view module, suffix;
  if (!split_param(rest, module, suffix)) return std::nullopt;
  for (const Rename& r : kLayer)
    if (module == r.first) return blk + std::string(r.second) + std::string(suffix);
  return std::nullopt;
}

}  // namespace

std::optional<std::string> hf_to_canonical_name(std::string_view hf_name) {
  for (const Rename& r : kGlobal)
    if (hf_name == r.first) return std::string(r.second);

  constexpr std::string_view kLayers = "model.layers.";
  if (!hf_name.starts_with(kLayers)) return std::nullopt;
  std::string_view rest = hf_name.substr(kLayers.size());  // "N.<module>.<suffix>"
  const size_t dot = rest.find('.');
  if (dot == std::string_view::npos || !is_index(rest.substr(0, dot))) return std::nullopt;
  return map_layer(rest.substr(0, dot), rest.substr(dot + 1));
}

}  // namespace kaiyuan
