// Expert selection for one token: scoring (softmax or sigmoid), selection-only bias, optional
// group-limited choice (DeepSeek-V3 noaux_tc), renormalisation and scaling. Follows the HF
// modeling code of each family (Qwen3MoeSparseMoeBlock, DeepseekV3MoEGate/Glm4MoeTopkRouter,
// Ernie4_5_MoeStatics, MiniMaxM2SparseMoeBlock) and llama.cpp build_moe_ffn.
#include "model/moe.h"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "core/status.h"

namespace kaiyuan {
namespace {

// Expert a ranks before b: higher score first, lower index on ties (a stable descending sort,
// as torch.topk on CPU and the reference's argsort(kind="stable")).
bool ranks_before(const float* score, int32_t a, int32_t b) {
  return score[a] > score[b] || (score[a] == score[b] && a < b);
}

}  // namespace

void route_token(const RouterConfig& config, const float* router_logits, const float* selection_bias,
                 ExpertChoice* out) {
  const int64_t n = config.n_experts;
  const int64_t k = config.top_k;
  // Small fixed-size work arrays would cap n_experts; routing is per token and cheap next to the
  // expert matmuls, so thread-local vectors keep it allocation-free after the first call.
  thread_local std::vector<float> prob, select;
  thread_local std::vector<int32_t> order;
  thread_local std::vector<uint8_t> allowed;
  thread_local std::vector<float> group_score;
  thread_local std::vector<int32_t> groups;
  // Callers validate the config once (ModelSpec::validate, moe_ffn); a bad one here is a bug.
  KY_CHECK(n > 0 && k >= 1 && k <= n);
  prob.resize(static_cast<size_t>(n));
  select.resize(static_cast<size_t>(n));

  // Unbiased scores: these become the weights.
  if (config.scoring == RouterScoring::kSoftmax) {
    float max_v = -INFINITY;
    for (int64_t e = 0; e < n; ++e) max_v = std::max(max_v, router_logits[e]);
    double sum = 0.0;
    for (int64_t e = 0; e < n; ++e) {
      prob[e] = std::exp(router_logits[e] - max_v);
      sum += prob[e];
    }
    for (int64_t e = 0; e < n; ++e) prob[e] = static_cast<float>(prob[e] / sum);
  } else {
    for (int64_t e = 0; e < n; ++e) prob[e] = 1.0f / (1.0f + std::exp(-router_logits[e]));
  }
  // Selection scores: biased (e_score_correction_bias / exp_probs_b) for choosing only.
  for (int64_t e = 0; e < n; ++e) select[e] = prob[e] + (selection_bias != nullptr ? selection_bias[e] : 0.0f);

  // Group-limited selection (DeepSeek-V3 noaux_tc): a group's score is the sum of its two best
  // selection scores; only experts of the topk_group best groups compete.
  allowed.assign(static_cast<size_t>(n), 1);
  const int64_t n_group = std::max<int64_t>(1, config.n_group);
  if (n_group > 1 && config.topk_group < n_group) {
    const int64_t per = n / n_group;
    group_score.resize(static_cast<size_t>(n_group));
    for (int64_t g = 0; g < n_group; ++g) {
      float best = -INFINITY, second = -INFINITY;
      for (int64_t e = g * per; e < (g + 1) * per; ++e) {
        if (select[e] > best) {
          second = best;
          best = select[e];
        } else if (select[e] > second) {
          second = select[e];
        }
      }
      group_score[g] = per >= 2 ? best + second : best;
    }
    groups.resize(static_cast<size_t>(n_group));
    std::iota(groups.begin(), groups.end(), 0);
    std::partial_sort(groups.begin(), groups.begin() + config.topk_group, groups.end(),
                      [&](int32_t a, int32_t b) { return ranks_before(group_score.data(), a, b); });
    allowed.assign(static_cast<size_t>(n), 0);
    for (int64_t i = 0; i < config.topk_group; ++i)
      std::fill(allowed.begin() + groups[i] * per, allowed.begin() + (groups[i] + 1) * per, 1);
  }

  order.clear();
  for (int32_t e = 0; e < n; ++e)
    if (allowed[e]) order.push_back(e);
  KY_CHECK(static_cast<size_t>(k) <= order.size());
  std::partial_sort(order.begin(), order.begin() + k, order.end(),
                    [&](int32_t a, int32_t b) { return ranks_before(select.data(), a, b); });

  double sum = 0.0;
  for (int64_t i = 0; i < k; ++i) sum += prob[order[i]];
  // Renormalise over the chosen experts (HF: / (sum + 1e-20) for sigmoid routers; ERNIE clamps the
  // sum at moe_norm_min 1e-12: the same for any sum that is not vanishingly small).
  const double norm = config.norm_topk_prob ? 1.0 / (sum + 1e-20) : 1.0;
  for (int64_t i = 0; i < k; ++i) {
    out[i].expert = order[i];
    out[i].weight = static_cast<float>(prob[order[i]] * norm * config.routed_scaling_factor);
  }
}

}  // namespace kaiyuan
