// Mixture-of-experts routing, shared by every MoE family (Qwen3-MoE, DeepSeek/Kimi, GLM-4.5,
// ERNIE-4.5, HunYuan, MiniMax-M2). Pure functions on one token's router logits.
#pragma once

#include <cstdint>
#include <vector>

namespace kaiyuan {

enum class RouterScoring { kSoftmax, kSigmoid };

struct RouterConfig {
  RouterScoring scoring = RouterScoring::kSoftmax;
  int64_t n_experts = 0;
  int64_t top_k = 0;
  bool norm_topk_prob = true;          // renormalise the chosen weights to sum to 1
  float routed_scaling_factor = 1.0f;  // multiplies the final weights (DeepSeek, GLM)
  int64_t n_group = 1;                 // group-limited top-k (DeepSeek-V3): experts split in n_group
  int64_t topk_group = 1;              // groups kept
};

struct ExpertChoice {
  int32_t expert;
  float weight;
};

// Chooses config.top_k experts for one token. `selection_bias` (e_score_correction_bias /
// exp_probs_b; may be null) is added to the scores ONLY to choose experts; the weights are the
// unbiased scores of the chosen ones (renormalised if norm_topk_prob, times routed_scaling_factor).
// Ties: lower expert index first. `out` receives top_k entries, highest biased score first.
void route_token(const RouterConfig& config, const float* router_logits, const float* selection_bias,
                 ExpertChoice* out);

}  // namespace kaiyuan
