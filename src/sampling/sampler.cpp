// Sampler::sample: the chain penalties -> top-k -> top-p -> min-p -> temperature -> softmax ->
// seeded draw, in llama.cpp's default order (common/sampling.cpp, src/llama-sampling.cpp).
// Truncation steps (top-p, min-p) read probabilities at temperature 1 over the candidates that
// survived the previous step, as llama.cpp does; temperature only shapes the final draw.
#include <algorithm>
#include <cmath>
#include <limits>

#include "sampling/sampler.h"
#include "sampling/sanitize_logit.h"

namespace kaiyuan {
namespace {

using sampling_detail::sanitize_logit;

// Requests carry top_p / min_p as floats (0.8 arrives as 0.800000011920929) while sums of
// probabilities land a few ulps either side of the exact value, so "cumulative >= top_p" and
// "p >= min_p * p_max" are tested with this slack; otherwise a hand-computed boundary
// case (top_p = 0.5 + 0.3) would keep or drop a token depending on rounding.
constexpr double kProbabilitySlack = 1e-6;

// Uniform double in [0, 1) from the top 53 bits: exact and identical on every standard library,
// unlike std::uniform_real_distribution whose algorithm is implementation-defined.
double uniform_unit(std::mt19937_64& rng) {
  return static_cast<double>(rng() >> 11) * 0x1.0p-53;
}

}  // namespace

// Higher logit first, then lower id: a total order, so every selection and sort gives the same
// result whatever algorithm the standard library uses.
bool Sampler::ranks_before(const Candidate& a, const Candidate& b) {
  if (a.logit != b.logit) return a.logit > b.logit;
  return a.id < b.id;
}

Sampler::Sampler(SamplingParams params) : params_(params), rng_(params.seed) {}

int32_t Sampler::sample(std::span<const float> logits, std::span<const int32_t> history) {
  KY_CHECK(!logits.empty());
  // Greedy without penalties reads the row once: at 8 sequences a step, copying 151,936
  // candidates for each was 3% of a server's decode step.
  if (!(params_.temperature > 0.0f) && !penalties_apply(history)) return first_max(logits);
  load_candidates(logits);
  apply_penalties(history);
  const int32_t best = argmax();
  // `!(t > 0)` also sends a NaN temperature (rejected by validate) down the greedy path.
  if (!(params_.temperature > 0.0f)) return best;

  const double draw = uniform_unit(rng_);  // drawn on every stochastic call: one draw per call
  // Every logit is -inf: nothing to weigh, answer deterministically (argmax picks index 0).
  if (candidates_[static_cast<size_t>(best)].logit == -std::numeric_limits<float>::infinity()) {
    return best;
  }
  sorted_count_ = 0;
  apply_top_k();
  apply_top_p();
  apply_min_p();

  return draw_with_temperature(draw);
}

// Softmax at the requested temperature, computed relative to the max so it never overflows:
// weight = exp((logit - max) / T), then the inverse CDF at `unit_draw` over the candidates in
// their current (deterministic) order. The weight overwrites the logit; the chain ends here.
int32_t Sampler::draw_with_temperature(double unit_draw) {
  // Float exp: the draw needs no more, and double exp costs several times more per token.
  // (logit - max) may overflow to -inf (FLT_MAX vs -FLT_MAX), which exp maps to 0 as wanted.
  // Divide rather than multiply by 1/T: a denormal T would make 1/T = inf and 0 * inf = NaN.
  const float max = max_logit();
  const float temperature = params_.temperature;
  double total = 0.0;
  for (Candidate& c : candidates_) {
    c.logit = std::exp((c.logit - max) / temperature);
    total += c.logit;
  }
  const double target = unit_draw * total;
  double cumulative = 0.0;
  int32_t last_possible = candidates_.front().id;
  for (const Candidate& c : candidates_) {
    if (c.logit <= 0.0f) continue;
    cumulative += c.logit;
    last_possible = c.id;
    if (cumulative > target) return c.id;
  }
  return last_possible;  // rounding left target just above the sum
}

void Sampler::load_candidates(std::span<const float> logits) {
  candidates_.resize(logits.size());
  for (size_t i = 0; i < logits.size(); ++i) {
    candidates_[i] = Candidate{static_cast<int32_t>(i), sanitize_logit(logits[i])};
  }
}

// Repetition penalty as CTRL (arXiv:1909.05858) / llama.cpp's llama_sampler_penalties_apply:
// divide positive logits, multiply non-positive ones, so a repeated token always loses ground.
// Then OpenAI's: logit -= count * frequency_penalty + (count > 0) * presence_penalty.
// All three use the same window: the last `penalty_last_n` ids of the history.
bool Sampler::penalties_apply(std::span<const int32_t> history) const {
  if (params_.penalty_last_n == 0 || history.empty()) return false;
  return params_.repetition_penalty != 1.0f || params_.presence_penalty != 0.0f || params_.frequency_penalty != 0.0f;
}

void Sampler::apply_penalties(std::span<const int32_t> history) {
  const float repeat = params_.repetition_penalty;
  const float presence = params_.presence_penalty;
  const float frequency = params_.frequency_penalty;
  if (!penalties_apply(history)) return;

  size_t window_size = history.size();
  if (params_.penalty_last_n > 0) {
    window_size = std::min(window_size, static_cast<size_t>(params_.penalty_last_n));
  }
  // Count occurrences by sorting a copy of the window: O(w log w), no n_vocab-sized table.
  window_.clear();
  const size_t n_vocab = candidates_.size();
  for (int32_t id : history.last(window_size)) {
    if (id >= 0 && static_cast<size_t>(id) < n_vocab) window_.push_back(id);
  }
  std::sort(window_.begin(), window_.end());
  for (size_t run = 0; run < window_.size();) {
    const int32_t id = window_[run];
    size_t end = run;
    while (end < window_.size() && window_[end] == id) ++end;
    const float count = static_cast<float>(end - run);
    run = end;

    float& logit = candidates_[static_cast<size_t>(id)].logit;  // candidates_[i].id == i here
    if (repeat != 1.0f) logit = logit > 0.0f ? logit / repeat : logit * repeat;
    logit -= count * frequency + presence;
    logit = sanitize_logit(logit);  // FLT_MAX / 0.5 overflows; -inf * 0 would be NaN
  }
}

int32_t Sampler::first_max(std::span<const float> logits) {
  // Both loops over whole blocks of 16 compile to vector compares (GCC -O3 vectorizes them if it
  // does not unroll the block loop first; a plain index-tracking argmax it does not vectorize):
  // the largest raw value, NaN skipped by `v > m ? v : m`, then the first block holding it.
  constexpr size_t kBlock = 16;
  constexpr float kMinusInf = -std::numeric_limits<float>::infinity();
  const float* x = logits.data();
  const size_t n = logits.size(), n_whole = n / kBlock * kBlock;
  float lane_max[kBlock];
  std::fill(lane_max, lane_max + kBlock, kMinusInf);
  for (size_t i = 0; i < n_whole; i += kBlock) {
#pragma GCC unroll 1
    for (size_t l = 0; l < kBlock; ++l) lane_max[l] = x[i + l] > lane_max[l] ? x[i + l] : lane_max[l];
  }
  float raw_best = kMinusInf;
  for (float m : lane_max) raw_best = m > raw_best ? m : raw_best;
  for (size_t i = n_whole; i < n; ++i) raw_best = x[i] > raw_best ? x[i] : raw_best;
  const float best = sanitize_logit(raw_best);
  size_t start = 0;
  // +inf ranks equal to the largest float, NaN to -inf: those rare rows take the scalar scan.
  if (best != kMinusInf && best != std::numeric_limits<float>::max()) {
    for (; start < n_whole; start += kBlock) {
      int hit = 0;
#pragma GCC unroll 1
      for (size_t l = 0; l < kBlock; ++l) hit |= x[start + l] == best;
      if (hit) break;
    }
  }
  for (size_t i = start; i < n; ++i)
    if (sanitize_logit(x[i]) == best) return static_cast<int32_t>(i);
  return 0;  // unreachable: best is one of the sanitized values
}

int32_t Sampler::argmax() const {
  size_t best = 0;  // strict '>' keeps the first of equal maxima; all -inf gives 0
  for (size_t i = 1; i < candidates_.size(); ++i) {
    if (candidates_[i].logit > candidates_[best].logit) best = i;
  }
  return candidates_[best].id;
}

void Sampler::apply_top_k() {
  if (params_.top_k <= 0 || static_cast<size_t>(params_.top_k) >= candidates_.size()) return;
  const size_t k = static_cast<size_t>(params_.top_k);
  sort_prefix(k);
  candidates_.resize(k);
}

// Keeps the smallest set of best tokens (in the order ranks_before) whose cumulative
// probability reaches top_p; always at least one token.
void Sampler::apply_top_p() {
  const double top_p = params_.top_p;
  if (!(top_p < 1.0) || candidates_.size() <= 1) return;
  const float max = max_logit();
  double total = 0.0;
  for (const Candidate& c : candidates_) total += std::exp(c.logit - max);
  const double target = (top_p - kProbabilitySlack) * total;

  if (sorted_count_ == candidates_.size()) {  // after top-k: a prefix scan
    double cumulative = 0.0;
    size_t kept = 0;
    while (kept < candidates_.size()) {
      cumulative += std::exp(candidates_[kept].logit - max);
      ++kept;
      if (cumulative >= target) break;
    }
    candidates_.resize(kept);
    sorted_count_ = kept;
    return;
  }
  // Unsorted (top-k off, n_vocab candidates in id order): find the last token of the nucleus by
  // selection, then filter in place. O(n_vocab) expected, and the survivors stay in id order,
  // which does not depend on the standard library's selection algorithm.
  const Candidate last = last_of_nucleus(target, max);
  candidates_.erase(std::remove_if(candidates_.begin(), candidates_.end(),
                                   [&](const Candidate& c) { return ranks_before(last, c); }),
                    candidates_.end());
}

// Weighted quickselect over a scratch copy: halves [lo, hi) around its median until few remain.
// Invariant: every element of scratch_[0, lo) ranks before every element of [lo, hi), the mass
// of [0, lo) is below `target`, and the answer lies in [lo, hi).
Sampler::Candidate Sampler::last_of_nucleus(double target, float max) {
  scratch_.assign(candidates_.begin(), candidates_.end());
  auto weight = [&](size_t i) { return static_cast<double>(std::exp(scratch_[i].logit - max)); };
  size_t lo = 0;
  size_t hi = scratch_.size();
  double mass_before = 0.0;
  constexpr size_t kScanBelow = 32;
  while (hi - lo > kScanBelow) {
    const size_t mid = lo + (hi - lo) / 2;
    const auto at = [&](size_t i) { return scratch_.begin() + static_cast<std::ptrdiff_t>(i); };
    std::nth_element(at(lo), at(mid), at(hi), ranks_before);
    double upper = 0.0;  // mass of [lo, mid]
    for (size_t i = lo; i <= mid; ++i) upper += weight(i);
    if (mass_before + upper >= target) {
      hi = mid + 1;
    } else {
      mass_before += upper;
      lo = mid + 1;
    }
  }
  std::sort(scratch_.begin() + static_cast<std::ptrdiff_t>(lo),
            scratch_.begin() + static_cast<std::ptrdiff_t>(hi), ranks_before);
  for (size_t i = lo; i < hi; ++i) {
    mass_before += weight(i);
    if (mass_before >= target) return scratch_[i];
  }
  return scratch_[hi - 1];  // rounding kept the sum just below target: keep everything
}

// Keeps tokens with p >= min_p * p_max, i.e. logit - max_logit >= log(min_p) (llama.cpp's
// llama_sampler_min_p_apply compares logits the same way). The best token always survives.
void Sampler::apply_min_p() {
  const double min_p = params_.min_p;
  if (!(min_p > 0.0) || candidates_.size() <= 1) return;
  const double max = max_logit();
  const double threshold = std::log(min_p) - kProbabilitySlack;
  auto dropped = [&](const Candidate& c) { return static_cast<double>(c.logit) - max < threshold; };
  // The filter is monotone in the logit, so the survivors of the sorted prefix stay a sorted
  // prefix of the survivors; std::remove_if keeps relative order.
  const size_t sorted_survivors = static_cast<size_t>(std::count_if(
      candidates_.begin(), candidates_.begin() + static_cast<std::ptrdiff_t>(sorted_count_),
      [&](const Candidate& c) { return !dropped(c); }));
  candidates_.erase(std::remove_if(candidates_.begin(), candidates_.end(), dropped),
                    candidates_.end());
  sorted_count_ = sorted_survivors;
}

void Sampler::sort_prefix(size_t count) {
  count = std::min(count, candidates_.size());
  if (count <= sorted_count_) return;
  const auto first = candidates_.begin() + static_cast<std::ptrdiff_t>(sorted_count_);
  const auto middle = candidates_.begin() + static_cast<std::ptrdiff_t>(count);
  const size_t wanted = count - sorted_count_;
  const size_t remaining = candidates_.size() - sorted_count_;
  if (wanted * 16 <= remaining) {
    // Small prefix (top-k 40 of 150k): heap selection mostly costs one comparison per element.
    std::partial_sort(first, middle, candidates_.end(), ranks_before);
  } else {
    // Large prefix (a wide top-p): selection then sort, O(n + count log count).
    std::nth_element(first, middle, candidates_.end(), ranks_before);
    std::sort(first, middle, ranks_before);
  }
  sorted_count_ = count;
}

float Sampler::max_logit() const {
  if (sorted_count_ > 0) return candidates_.front().logit;
  float max = -std::numeric_limits<float>::infinity();
  for (const Candidate& c : candidates_) max = std::max(max, c.logit);
  return max;
}

}  // namespace kaiyuan
