// The sampler chain: turns one row of logits into the next token id.
// Order follows llama.cpp's default chain (common/sampling.cpp):
//   penalties -> top-k -> top-p -> min-p -> temperature -> softmax -> seeded draw.
// One Sampler per sequence; it is not thread-safe (it owns an RNG and scratch buffers).
#pragma once

#include <cstdint>
#include <random>
#include <span>
#include <vector>

#include "core/status.h"

namespace kaiyuan {

struct SamplingParams {
  float temperature = 0.8f;         // <= 0: greedy (argmax, first max wins on ties)
  int32_t top_k = 40;               // <= 0: disabled
  float top_p = 0.95f;              // >= 1: disabled
  float min_p = 0.05f;              // <= 0: disabled (keep tokens with p >= min_p * p_max)
  float repetition_penalty = 1.0f;  // 1: disabled. CTRL / llama.cpp: logit > 0 ? logit / rp : logit * rp
  float presence_penalty = 0.0f;    // OpenAI: logit -= presence if the token appeared
  float frequency_penalty = 0.0f;   // OpenAI: logit -= frequency * count
  int32_t penalty_last_n = 64;      // window for all penalties (-1 = whole history, 0 = disabled)
  uint64_t seed = 0;                // same seed + same logits => same choices
};

// Rejects nonsense with a message naming the parameter: NaN/inf anywhere, temperature < 0,
// top_p outside (0, 1], min_p outside [0, 1], repetition_penalty <= 0, presence/frequency
// penalties outside [-2, 2] (OpenAI's range), penalty_last_n < -1.
Status validate(const SamplingParams& p);

class Sampler {
 public:
  // `params` should have passed validate(); sample() does not crash on invalid ones, but their
  // results are unspecified.
  explicit Sampler(SamplingParams params);

  // Picks the next token from logits[n_vocab] given the ids so far (prompt + generated, used by
  // the penalties; ids outside [0, n_vocab) are ignored). Works on a private copy, never writes
  // `logits`. NaN logits count as -inf, +inf as the largest float; if every logit is -inf the
  // answer is 0. Deterministic for a given seed and call sequence: each non-greedy call consumes
  // exactly one 64-bit draw. `logits` must not be empty (internal invariant, checked).
  int32_t sample(std::span<const float> logits, std::span<const int32_t> history);

  // Log-probabilities (log-softmax of the raw logits, before penalties and temperature), for the
  // OpenAI `logprobs` fields. NaN counts as -inf; if every logit is -inf the distribution is
  // taken as uniform.
  struct TokenLogprob {
    int32_t id;
    float logprob;
  };
  // The min(n, n_vocab) most likely tokens, most likely first (ties: lower id first).
  static std::vector<TokenLogprob> top_logprobs(std::span<const float> logits, int n);
  // log p(id); -inf for an id outside [0, n_vocab).
  static float logprob_of(std::span<const float> logits, int32_t id);

  const SamplingParams& params() const { return params_; }

 private:
  struct Candidate {
    int32_t id;
    float logit;
  };

  void load_candidates(std::span<const float> logits);
  bool penalties_apply(std::span<const int32_t> history) const;
  void apply_penalties(std::span<const int32_t> history);
  // argmax() of the sanitized logits straight from the row, without the candidate copy.
  static int32_t first_max(std::span<const float> logits);
  int32_t argmax() const;
  void apply_top_k();
  void apply_top_p();
  void apply_min_p();
  int32_t draw_with_temperature(double unit_draw);
  Candidate last_of_nucleus(double target_mass, float max_logit);
  // Ensures candidates_[0, count) holds the `count` best candidates in descending order.
  void sort_prefix(size_t count);
  static bool ranks_before(const Candidate& a, const Candidate& b);
  float max_logit() const;

  SamplingParams params_;
  std::mt19937_64 rng_;
  std::vector<Candidate> candidates_;   // [n_vocab] at first, shrinks as the chain filters
  size_t sorted_count_ = 0;             // candidates_[0, sorted_count_) is the sorted best prefix
  std::vector<Candidate> scratch_;      // top-p's selection works on a copy of candidates_
  std::vector<int32_t> window_;         // scratch: sorted copy of the penalty window
};

}  // namespace kaiyuan
