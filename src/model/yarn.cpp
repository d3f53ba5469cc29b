// YaRN frequencies and mscale (see yarn.h for the sources followed).
#include "model/yarn.h"

#include <algorithm>
#include <cmath>

namespace kaiyuan {
namespace {

// Dimension index whose frequency completes `n_rotations` turns over the original context
// (transformers find_correction_dim; ggml_rope_yarn_corr_dim).
double correction_dim(double n_rotations, int64_t rope_dim, double base, int64_t original_context) {
  return static_cast<double>(rope_dim) * std::log(static_cast<double>(original_context) / (n_rotations * 2.0 * M_PI)) /
         (2.0 * std::log(base));
}

}  // namespace

double yarn_mscale(double scale, double m) {
  if (scale <= 1.0) return 1.0;
  return 0.1 * m * std::log(scale) + 1.0;
}

std::vector<float> yarn_inv_freq(double base, int64_t rope_dim, const YarnParams& p) {
  const int64_t half = rope_dim / 2;
  double low = std::floor(correction_dim(p.beta_fast, rope_dim, base, p.original_context));
  double high = std::ceil(correction_dim(p.beta_slow, rope_dim, base, p.original_context));
  low = std::max(low, 0.0);
  high = std::min(high, static_cast<double>(rope_dim - 1));
  if (low == high) high += 0.001;  // avoid a zero-width ramp (transformers linear_ramp_factor)
  std::vector<float> inv(static_cast<size_t>(half));
  for (int64_t i = 0; i < half; ++i) {
    const double extrapolated = std::pow(base, -2.0 * static_cast<double>(i) / static_cast<double>(rope_dim));
    const double interpolated = extrapolated / p.factor;
    // ramp 0 -> keep the original frequency (high-frequency dims), 1 -> fully interpolated.
    const double ramp = std::clamp((static_cast<double>(i) - low) / (high - low), 0.0, 1.0);
    inv[static_cast<size_t>(i)] = static_cast<float>(interpolated * ramp + extrapolated * (1.0 - ramp));
  }
  return inv;
}

}  // namespace kaiyuan
