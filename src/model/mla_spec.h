// MlaSpec: the DeepSeek-V2/V3 / Kimi K2 (GGUF "deepseek2") parameters beyond ModelSpec's common
// ones: multi-head latent attention ranks and head splits, YaRN, and the MoE layout. Parsed from
// GGUF `deepseek2.*` keys or an HF config.json (model_type deepseek_v2 / deepseek_v3 / kimi_k2).
#pragma once

#include <cstdint>

#include <nlohmann/json.hpp>

#include "core/status.h"
#include "model/moe.h"
#include "model/yarn.h"

namespace kaiyuan {

class GgufFile;
struct ModelSpec;

struct MlaSpec {
  int64_t q_lora_rank = 0;        // 0: plain attn_q projection (DeepSeek-V2-Lite)
  int64_t kv_lora_rank = 0;       // width of the cached latent
  int64_t qk_nope_head_dim = 0;   // per-head q/k part without position
  int64_t qk_rope_head_dim = 0;   // per-head rotated part (k_pe shared by all heads)
  int64_t v_head_dim = 0;
  bool yarn = false;
  YarnParams yarn_params;
  // Softmax scale qk_head_dim^-0.5 x yarn softmax_factor (HF DeepseekV3Attention.softmax_scale).
  double softmax_scale = 0.0;

  // MoE: router.n_experts == 0 -> every layer dense. Layer l is MoE when l >= n_dense_lead and
  // l % moe_layer_freq == 0 (HF DeepseekV3 first_k_dense_replace / moe_layer_freq).
  RouterConfig router;
  // Softmax "group_limited_greedy" (DeepSeek-V2): groups ranked by their best expert, not by the
  // sigmoid top-2 sum route_token uses; done as a per-token selection mask.
  bool softmax_group_limited = false;
  int64_t d_ff_expert = 0;
  int64_t n_shared_experts = 0;
  int64_t n_dense_lead = 0;
  int64_t moe_layer_freq = 1;

  int64_t qk_head_dim() const { return qk_nope_head_dim + qk_rope_head_dim; }
  int64_t cache_width() const { return kv_lora_rank + qk_rope_head_dim; }  // latent + k_pe per token
  bool is_moe_layer(int64_t layer) const {
    return router.n_experts > 0 && layer >= n_dense_lead && layer % moe_layer_freq == 0;
  }
};

// Fill spec.mla and set the per-head view of the common fields (head_dim = qk_head_dim,
// n_kv_heads = n_heads, rope_dim = qk_rope_head_dim, interleaved pairing). Messages name the key.
Status parse_mla_gguf(const GgufFile& gguf, ModelSpec& spec);
Status parse_mla_hf(const nlohmann::json& config, ModelSpec& spec);

}  // namespace kaiyuan
