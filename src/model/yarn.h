// YaRN rotary scaling ("YaRN: Efficient Context Window Extension", Peng et al. 2023) as used by
// DeepSeek-V2/V3, Kimi K2 and Qwen long-context configs: per-frequency blend of interpolated and
// original frequencies, plus the attention-temperature correction (mscale).
#pragma once

#include <cstdint>
#include <vector>

namespace kaiyuan {

struct YarnParams {
  double factor = 1.0;             // context extension s (rope_scaling.factor)
  int64_t original_context = 0;    // original_max_position_embeddings
  double beta_fast = 32.0;         // rotations at which a frequency is kept unscaled
  double beta_slow = 1.0;          // rotations below which a frequency is fully interpolated
  // cos/sin multiplier (HF "attention_factor"): mscale(s, mscale) / mscale(s, mscale_all_dim).
  double rope_attn_factor = 1.0;
  // Multiplies the softmax scale qk_head_dim^-0.5: mscale(s, mscale_all_dim)^2 (DeepSeek).
  double softmax_factor = 1.0;
};

// transformers yarn_get_mscale: 0.1 * m * ln(s) + 1 for s > 1, else 1.
double yarn_mscale(double scale, double m);

// Inverse frequencies [rope_dim / 2]: theta_i = base^(-2i/rope_dim); dims with fewer than
// beta_slow rotations over the original context are divided by `factor`, dims with more than
// beta_fast are kept, a linear ramp (over floor/ceil-truncated correction dims) in between
// (transformers _compute_yarn_parameters; ggml rope_yarn_corr_dims / rope_yarn_ramp).
std::vector<float> yarn_inv_freq(double base, int64_t rope_dim, const YarnParams& p);

}  // namespace kaiyuan
