// Sampler::top_logprobs / logprob_of: log-softmax of the raw logits, as OpenAI's `logprobs`
// report them (before penalties and temperature).
#include <algorithm>
#include <cmath>
#include <limits>

#include "sampling/sampler.h"
#include "sampling/sanitize_logit.h"

namespace kaiyuan {
namespace {

using sampling_detail::sanitize_logit;

// max and log(sum exp(logit - max)), accumulated in double so 150k-token vocabularies keep
// float precision in the result.
struct LogSoftmaxNorm {
  double max = -std::numeric_limits<double>::infinity();
  double log_sum = 0.0;
  bool all_minus_inf = true;
};

LogSoftmaxNorm log_softmax_norm(std::span<const float> logits) {
  LogSoftmaxNorm norm;
  for (float raw : logits) norm.max = std::max(norm.max, static_cast<double>(sanitize_logit(raw)));
  norm.all_minus_inf = std::isinf(norm.max) && norm.max < 0;
  if (norm.all_minus_inf) {
    norm.log_sum = std::log(static_cast<double>(logits.size()));
    return norm;
  }
  double sum = 0.0;
  for (float raw : logits) sum += std::exp(static_cast<double>(sanitize_logit(raw)) - norm.max);
  norm.log_sum = std::log(sum);
  return norm;
}

float logprob_with(const LogSoftmaxNorm& norm, float raw) {
  // Every logit is -inf: no token is preferred, so read the distribution as uniform.
  if (norm.all_minus_inf) return static_cast<float>(-norm.log_sum);
  return static_cast<float>(static_cast<double>(sanitize_logit(raw)) - norm.max - norm.log_sum);
}

// Most likely first; equal log-probs keep the lower id first so results do not depend on the
// standard library's heap algorithm.
bool more_likely(const Sampler::TokenLogprob& a, const Sampler::TokenLogprob& b) {
  if (a.logprob != b.logprob) return a.logprob > b.logprob;
  return a.id < b.id;
}

}  // namespace

std::vector<Sampler::TokenLogprob> Sampler::top_logprobs(std::span<const float> logits, int n) {
  std::vector<TokenLogprob> best;
  if (n <= 0 || logits.empty()) return best;
  const size_t keep = std::min(static_cast<size_t>(n), logits.size());
  const LogSoftmaxNorm norm = log_softmax_norm(logits);
  // A heap of the `keep` best seen so far, least likely on top: O(n_vocab log keep), `keep` memory.
  best.reserve(keep + 1);
  for (size_t i = 0; i < logits.size(); ++i) {
    TokenLogprob token{static_cast<int32_t>(i), logprob_with(norm, logits[i])};
    if (best.size() < keep) {
      best.push_back(token);
      std::push_heap(best.begin(), best.end(), more_likely);
    } else if (more_likely(token, best.front())) {
      std::pop_heap(best.begin(), best.end(), more_likely);
      best.back() = token;
      std::push_heap(best.begin(), best.end(), more_likely);
    }
  }
  std::sort_heap(best.begin(), best.end(), more_likely);
  return best;
}

float Sampler::logprob_of(std::span<const float> logits, int32_t id) {
  if (id < 0 || static_cast<size_t>(id) >= logits.size()) {
    return -std::numeric_limits<float>::infinity();
  }
  return logprob_with(log_softmax_norm(logits), logits[static_cast<size_t>(id)]);
}

}  // namespace kaiyuan
