// How the sampler and the log-prob helpers read one raw logit: a model that overflowed must not
// crash generation or poison a softmax with NaN.
#pragma once

#include <cmath>
#include <limits>

namespace kaiyuan::sampling_detail {

// NaN -> -inf (never chosen); +inf -> the largest float, so that softmax gives every +inf token
// the same share instead of inf - inf = NaN.
inline float sanitize_logit(float logit) {
  if (std::isnan(logit)) return -std::numeric_limits<float>::infinity();
  if (logit == std::numeric_limits<float>::infinity()) return std::numeric_limits<float>::max();
  return logit;
}

}  // namespace kaiyuan::sampling_detail
