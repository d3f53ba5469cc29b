// Sampler chain tests. Expectations are hand-computed from the definitions (softmax of known
// probabilities, CTRL/OpenAI penalty arithmetic) or recomputed here in double; statistical tests
// use fixed seeds so they are deterministic, with bounds several standard deviations wide.
#include "sampling/sampler.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <numeric>
#include <random>
#include <set>
#include <string>
#include <vector>

namespace kaiyuan {
namespace {

constexpr float kInf = std::numeric_limits<float>::infinity();
constexpr float kNaN = std::numeric_limits<float>::quiet_NaN();

// Only the step under test is active: no top-k / top-p / min-p / penalties, temperature 1.
SamplingParams plain_params() {
  SamplingParams p;
  p.temperature = 1.0f;
  p.top_k = 0;
  p.top_p = 1.0f;
  p.min_p = 0.0f;
  return p;
}

SamplingParams greedy_params() {
  SamplingParams p = plain_params();
  p.temperature = 0.0f;
  return p;
}

// Logits whose softmax is exactly `probs` (up to float rounding).
std::vector<float> logits_of(const std::vector<double>& probs) {
  std::vector<float> logits;
  for (double p : probs) logits.push_back(static_cast<float>(std::log(p)));
  return logits;
}

// Deterministic pseudo-random logits in [lo, hi).
std::vector<float> random_logits(size_t n, uint32_t seed, float lo = -8.0f, float hi = 8.0f) {
  std::mt19937 rng(seed);
  std::vector<float> logits(n);
  for (float& l : logits) l = lo + (hi - lo) * static_cast<float>(rng() >> 8) * 0x1.0p-24f;
  return logits;
}

// Frequency of each token over `draws` samplers seeded 1000, 1001, ... (one draw each).
std::vector<double> frequencies(SamplingParams params, const std::vector<float>& logits,
                                int draws = 4000) {
  std::vector<double> freq(logits.size(), 0.0);
  for (int i = 0; i < draws; ++i) {
    params.seed = 1000 + static_cast<uint64_t>(i);
    Sampler sampler(params);
    const int32_t id = sampler.sample(logits, {});
    EXPECT_GE(id, 0);
    EXPECT_LT(id, static_cast<int32_t>(logits.size()));
    if (id >= 0 && id < static_cast<int32_t>(logits.size())) freq[static_cast<size_t>(id)] += 1.0;
  }
  for (double& f : freq) f /= draws;
  return freq;
}

// With 4000 draws the standard deviation of a frequency is at most 0.008: 0.035 is > 4 sigma.
void expect_frequencies(const std::vector<double>& got, const std::vector<double>& want) {
  ASSERT_EQ(got.size(), want.size());
  for (size_t i = 0; i < want.size(); ++i) {
    if (want[i] == 0.0) {
      EXPECT_EQ(got[i], 0.0) << "token " << i << " must never be drawn";
    } else {
      EXPECT_NEAR(got[i], want[i], 0.035) << "token " << i;
    }
  }
}

int32_t greedy(const std::vector<float>& logits, std::vector<int32_t> history = {},
               SamplingParams params = greedy_params()) {
  Sampler sampler(params);
  return sampler.sample(logits, history);
}

// ---- greedy ---------------------------------------------------------------------------------

TEST(SamplerGreedy, PicksArgmax) {
  EXPECT_EQ(greedy({0.1f, 2.5f, -1.0f, 2.4f}), 1);
  EXPECT_EQ(greedy({-3.0f, -2.0f, -5.0f}), 1);
  EXPECT_EQ(greedy({7.0f}), 0);
}

TEST(SamplerGreedy, FirstMaxWinsOnTies) {
  EXPECT_EQ(greedy({1.0f, 3.0f, 3.0f, 2.0f}), 1);
  EXPECT_EQ(greedy({5.0f, 5.0f, 5.0f}), 0);
}

TEST(SamplerGreedy, IgnoresTruncationParametersAndConsumesNoRandomness) {
  SamplingParams p = greedy_params();
  p.top_k = 2;
  p.top_p = 0.3f;
  p.min_p = 0.9f;
  const std::vector<float> logits = random_logits(1000, 7);
  const auto expected = static_cast<int32_t>(
      std::max_element(logits.begin(), logits.end()) - logits.begin());
  Sampler sampler(p);
  for (int i = 0; i < 5; ++i) EXPECT_EQ(sampler.sample(logits, {}), expected);
}

TEST(SamplerTopK, TopKOneEqualsGreedyAtAnyTemperature) {
  for (uint32_t trial = 0; trial < 20; ++trial) {
    const std::vector<float> logits = random_logits(500, trial);
    const auto expected = static_cast<int32_t>(
        std::max_element(logits.begin(), logits.end()) - logits.begin());
    for (float temperature : {0.1f, 1.0f, 5.0f, 1000.0f}) {
      SamplingParams p = plain_params();
      p.top_k = 1;
      p.temperature = temperature;
      p.seed = trial;
      Sampler sampler(p);
      EXPECT_EQ(sampler.sample(logits, {}), expected) << "trial " << trial << " T " << temperature;
    }
  }
  // Ties: top-k keeps the lower id, like greedy.
  SamplingParams p = plain_params();
  p.top_k = 1;
  Sampler sampler(p);
  EXPECT_EQ(sampler.sample(std::vector<float>{1.0f, 4.0f, 4.0f}, {}), 1);
}

TEST(SamplerTopK, KeepsOnlyTheKBestAndTemperatureActsAfterwards) {
  // p = [0.1, 0.4, 0.2, 0.3]; top-k 2 keeps tokens 1 and 3. At T = 1000 the survivors are near
  // uniform (0.3/0.4)^(1/1000) ~ 1, so each gets ~0.5 and tokens 0 and 2 never appear.
  SamplingParams p = plain_params();
  p.top_k = 2;
  p.temperature = 1000.0f;
  expect_frequencies(frequencies(p, logits_of({0.1, 0.4, 0.2, 0.3})), {0.0, 0.5, 0.0, 0.5});
}

// ---- top-p ----------------------------------------------------------------------------------

TEST(SamplerTopP, KeepsSmallestSetReachingP) {
  // Token order is shuffled so the implementation must sort: p(3)=0.5, p(0)=0.3, p(2)=0.15,
  // p(1)=0.05. top_p 0.7: 0.5 < 0.7 <= 0.5 + 0.3, so {3, 0} renormalised to 0.625 / 0.375.
  const std::vector<float> logits = logits_of({0.3, 0.05, 0.15, 0.5});
  SamplingParams p = plain_params();
  p.top_p = 0.7f;
  expect_frequencies(frequencies(p, logits), {0.375, 0.0, 0.0, 0.625});
  // Exactly on the boundary: 0.5 + 0.3 >= 0.8 already, so still two tokens.
  p.top_p = 0.8f;
  expect_frequencies(frequencies(p, logits), {0.375, 0.0, 0.0, 0.625});
  // Just above: the third token (0.15) joins; renormalised over 0.95.
  p.top_p = 0.81f;
  expect_frequencies(frequencies(p, logits), {0.3 / 0.95, 0.0, 0.15 / 0.95, 0.5 / 0.95});
  // Tiny top_p keeps the single best token.
  p.top_p = 0.01f;
  expect_frequencies(frequencies(p, logits), {0.0, 0.0, 0.0, 1.0});
}

TEST(SamplerTopP, KeptSetIsExactlyTheNucleus) {
  // 120 tokens with top-k off (the selection path). For each target size the test picks top_p
  // halfway between the mass of the best size-1 and the best size tokens (computed here in
  // double by a full sort), so the nucleus holds exactly `size` tokens. At T = 1e30 every kept
  // token is equally likely, so 14 * size draws see each of them (a miss has odds e^-14 per token)
  // and the set of drawn tokens is the kept set. Sizes include the selection's split points
  // (medians at index 60, then 30: nuclei of 61 and 31 tokens).
  const std::vector<float> logits = random_logits(120, 42, -2.0f, 2.0f);
  std::vector<int32_t> order(logits.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(),
                   [&](int32_t a, int32_t b) { return logits[a] > logits[b]; });
  double total = 0.0;
  for (float l : logits) total += std::exp(static_cast<double>(l));
  std::vector<double> mass_of_best = {0.0};  // mass_of_best[k]: the k best tokens
  for (int32_t id : order) {
    mass_of_best.push_back(mass_of_best.back() +
                           std::exp(static_cast<double>(logits[static_cast<size_t>(id)])) / total);
  }
  for (size_t size : {1u, 2u, 30u, 31u, 32u, 60u, 61u, 62u, 90u, 119u, 120u}) {
    SamplingParams p = plain_params();
    p.temperature = 1e30f;
    p.top_p = static_cast<float>((mass_of_best[size - 1] + mass_of_best[size]) / 2.0);
    p.seed = size;
    Sampler sampler(p);
    std::set<int32_t> drawn;
    for (size_t i = 0; i < 14 * size + 50; ++i) drawn.insert(sampler.sample(logits, {}));
    EXPECT_EQ(drawn, std::set<int32_t>(order.begin(), order.begin() + static_cast<long>(size)))
        << "nucleus of " << size << " tokens, top_p " << p.top_p;
  }
}

TEST(SamplerTopP, TopKRenormalisesBeforeTopP) {
  // p = [0.4, 0.3, 0.2, 0.1]. top-k 2 leaves [0.4, 0.3] -> [0.571, 0.429]; top_p 0.5 then keeps
  // only token 0. (top-p on the full distribution would have kept two tokens.)
  SamplingParams p = plain_params();
  p.top_k = 2;
  p.top_p = 0.5f;
  expect_frequencies(frequencies(p, logits_of({0.4, 0.3, 0.2, 0.1})), {1.0, 0.0, 0.0, 0.0});
}

// ---- min-p ----------------------------------------------------------------------------------

TEST(SamplerMinP, KeepsTokensAboveFractionOfMax) {
  const std::vector<float> logits = logits_of({0.15, 0.5, 0.05, 0.3});
  SamplingParams p = plain_params();
  // threshold 0.2 * 0.5 = 0.1: drops 0.05, keeps three renormalised over 0.95.
  p.min_p = 0.2f;
  expect_frequencies(frequencies(p, logits), {0.15 / 0.95, 0.5 / 0.95, 0.0, 0.3 / 0.95});
  // threshold 0.3 * 0.5 = 0.15: p = 0.15 is kept (>=).
  p.min_p = 0.3f;
  expect_frequencies(frequencies(p, logits), {0.15 / 0.95, 0.5 / 0.95, 0.0, 0.3 / 0.95});
  // threshold 0.5 * 0.5 = 0.25: two tokens, 0.625 / 0.375.
  p.min_p = 0.5f;
  expect_frequencies(frequencies(p, logits), {0.0, 0.625, 0.0, 0.375});
  // min_p 1 keeps only the max.
  p.min_p = 1.0f;
  expect_frequencies(frequencies(p, logits), {0.0, 1.0, 0.0, 0.0});
}

TEST(SamplerMinP, RunsAfterTopP) {
  // p = [0.4, 0.3, 0.2, 0.1], top_p 0.75 keeps [0.4, 0.3, 0.2] (0.7 < 0.75); min_p 0.3 keeps
  // p >= 0.12, i.e. the same three: 0.4/0.9, 0.3/0.9, 0.2/0.9. Had min-p run first, the
  // renormalised [0.444, 0.333] would already reach 0.75 and token 2 would never appear.
  SamplingParams p = plain_params();
  p.top_p = 0.75f;
  p.min_p = 0.3f;
  expect_frequencies(frequencies(p, logits_of({0.4, 0.3, 0.2, 0.1})),
                     {0.4 / 0.9, 0.3 / 0.9, 0.2 / 0.9, 0.0});
}

// ---- temperature ----------------------------------------------------------------------------

TEST(SamplerTemperature, SharpensAndFlattensAsPowerOfProbabilities) {
  // softmax(log(p) / T) = p^(1/T) / sum.
  const std::vector<double> probs = {0.5, 0.3, 0.15, 0.05};
  const std::vector<float> logits = logits_of(probs);
  std::vector<double> first_token;
  for (float temperature : {0.5f, 1.0f, 2.0f}) {
    std::vector<double> want;
    double total = 0.0;
    for (double prob : probs) total += std::pow(prob, 1.0 / temperature);
    for (double prob : probs) want.push_back(std::pow(prob, 1.0 / temperature) / total);
    SamplingParams p = plain_params();
    p.temperature = temperature;
    const std::vector<double> got = frequencies(p, logits);
    expect_frequencies(got, want);
    first_token.push_back(got[0]);
  }
  // 0.685 at T=0.5, 0.5 at T=1, 0.379 at T=2: well separated.
  EXPECT_GT(first_token[0], first_token[1] + 0.1);
  EXPECT_GT(first_token[1], first_token[2] + 0.07);
}

// ---- penalties ------------------------------------------------------------------------------

TEST(SamplerPenalties, RepetitionPenaltyDividesPositiveLogits) {
  SamplingParams p = greedy_params();
  p.repetition_penalty = 1.5f;
  // 2.0 / 1.5 = 1.333 < 1.4: flips to token 1.
  EXPECT_EQ(greedy({2.0f, 1.4f}, {}, p), 0);
  EXPECT_EQ(greedy({2.0f, 1.4f}, {0}, p), 1);
  // 2.0 / 1.5 = 1.333 > 1.3: stays.
  EXPECT_EQ(greedy({2.0f, 1.3f}, {0}, p), 0);
}

TEST(SamplerPenalties, RepetitionPenaltyMultipliesNegativeLogits) {
  SamplingParams p = greedy_params();
  p.repetition_penalty = 1.5f;
  // -1.0 * 1.5 = -1.5 < -1.2: flips (dividing would give -0.667 and keep token 0).
  EXPECT_EQ(greedy({-1.0f, -1.2f}, {0}, p), 1);
  // -1.0 * 1.5 = -1.5 > -1.6: stays.
  EXPECT_EQ(greedy({-1.0f, -1.6f}, {0}, p), 0);
  // A penalty below 1 rewards repeats: -1.2 * 0.5 = -0.6 > -1.0.
  p.repetition_penalty = 0.5f;
  EXPECT_EQ(greedy({-1.0f, -1.2f}, {1}, p), 1);
}

TEST(SamplerPenalties, RepetitionPenaltyIgnoresCount) {
  SamplingParams p = greedy_params();
  p.repetition_penalty = 1.5f;
  // Applied once however often the token appeared: 2.0 / 1.5 = 1.333 > 1.3 (twice would be 0.889).
  EXPECT_EQ(greedy({2.0f, 1.3f}, {0, 0, 0}, p), 0);
}

TEST(SamplerPenalties, PenaltyWindow) {
  SamplingParams p = greedy_params();
  p.repetition_penalty = 1.5f;
  p.penalty_last_n = 1;
  // Only the last id (1) is in the window: token 0 keeps 2.0.
  EXPECT_EQ(greedy({2.0f, 1.4f}, {0, 1}, p), 0);
  EXPECT_EQ(greedy({2.0f, 1.4f}, {1, 0}, p), 1);
  p.penalty_last_n = 0;  // disabled
  EXPECT_EQ(greedy({2.0f, 1.4f}, {1, 0}, p), 0);
  // Token 2 fills the rest of the history; its logit is too low to matter.
  const std::vector<int32_t> history = {0, 2, 2, 2, 2, 2, 2, 2, 2, 2};
  p.penalty_last_n = -1;  // whole history: 2.0 / 1.5 = 1.333 < 1.4
  EXPECT_EQ(greedy({2.0f, 1.4f, 0.1f}, history, p), 1);
  p.penalty_last_n = 9;  // the same history, with the 0 just outside the window
  EXPECT_EQ(greedy({2.0f, 1.4f, 0.1f}, history, p), 0);
}

TEST(SamplerPenalties, IgnoresOutOfRangeHistoryIds) {
  SamplingParams p = greedy_params();
  p.repetition_penalty = 1.5f;
  p.frequency_penalty = 1.0f;
  EXPECT_EQ(greedy({2.0f, 1.4f}, {-5, 2, 1000000, std::numeric_limits<int32_t>::max()}, p), 0);
}

TEST(SamplerPenalties, PresencePenalty) {
  SamplingParams p = greedy_params();
  // logits [1.0, 0.7, 0.5], token 0 seen three times.
  p.presence_penalty = 0.2f;  // 1.0 - 0.2 = 0.8 > 0.7
  EXPECT_EQ(greedy({1.0f, 0.7f, 0.5f}, {0, 0, 0}, p), 0);
  p.presence_penalty = 0.4f;  // 1.0 - 0.4 = 0.6 < 0.7, independent of the count
  EXPECT_EQ(greedy({1.0f, 0.7f, 0.5f}, {0}, p), 1);
  EXPECT_EQ(greedy({1.0f, 0.7f, 0.5f}, {0, 0, 0}, p), 1);
  p.presence_penalty = -0.5f;  // negative rewards: 0.7 + 0.5 = 1.2 > 1.0
  EXPECT_EQ(greedy({1.0f, 0.7f, 0.5f}, {1}, p), 1);
}

TEST(SamplerPenalties, FrequencyPenaltyScalesWithCount) {
  SamplingParams p = greedy_params();
  p.frequency_penalty = 0.12f;
  EXPECT_EQ(greedy({1.0f, 0.7f, 0.5f}, {0}, p), 0);        // 1 - 0.12 = 0.88
  EXPECT_EQ(greedy({1.0f, 0.7f, 0.5f}, {0, 0}, p), 0);     // 1 - 0.24 = 0.76
  EXPECT_EQ(greedy({1.0f, 0.7f, 0.5f}, {0, 2, 0, 0}, p), 1);  // 1 - 0.36 = 0.64
  p.penalty_last_n = 2;  // a window of 2 sees two 0s: 1 - 0.24 = 0.76
  EXPECT_EQ(greedy({1.0f, 0.7f, 0.5f}, {0, 2, 0, 0}, p), 0);
}

TEST(SamplerPenalties, PresenceAndFrequencyAdd) {
  SamplingParams p = greedy_params();
  p.presence_penalty = 0.1f;
  p.frequency_penalty = 0.05f;
  EXPECT_EQ(greedy({1.0f, 0.7f}, {0, 0, 0}, p), 0);        // 1 - 0.1 - 0.15 = 0.75
  EXPECT_EQ(greedy({1.0f, 0.7f}, {0, 0, 0, 0, 0}, p), 1);  // 1 - 0.1 - 0.25 = 0.65
}

TEST(SamplerPenalties, RepetitionThenOpenAIPenalties) {
  // llama.cpp order: (2.0 / 2) - 0.3 = 0.7 < 0.8 -> token 1.
  // The other order would give (2.0 - 0.3) / 2 = 0.85 > 0.8 -> token 0.
  SamplingParams p = greedy_params();
  p.repetition_penalty = 2.0f;
  p.presence_penalty = 0.3f;
  EXPECT_EQ(greedy({2.0f, 0.8f}, {0}, p), 1);
}

TEST(SamplerPenalties, DoNotModifyCallerLogits) {
  SamplingParams p = plain_params();
  p.repetition_penalty = 1.3f;
  p.presence_penalty = 0.5f;
  p.frequency_penalty = 0.5f;
  p.top_k = 3;
  const std::vector<float> original = random_logits(100, 3);
  std::vector<float> logits = original;
  Sampler sampler(p);
  for (int i = 0; i < 10; ++i) sampler.sample(logits, std::vector<int32_t>{1, 2, 3, 3});
  EXPECT_EQ(logits, original);
}

// ---- determinism ----------------------------------------------------------------------------

std::vector<int32_t> sequence(uint64_t seed, const std::vector<float>& logits, int n) {
  SamplingParams p = plain_params();
  p.temperature = 1.5f;
  p.seed = seed;
  Sampler sampler(p);
  std::vector<int32_t> out;
  for (int i = 0; i < n; ++i) out.push_back(sampler.sample(logits, {}));
  return out;
}

TEST(SamplerDeterminism, SameSeedSameSequenceDifferentSeedDifferent) {
  const std::vector<float> logits = random_logits(50, 9, -1.0f, 1.0f);
  const std::vector<int32_t> a = sequence(123, logits, 200);
  EXPECT_EQ(a, sequence(123, logits, 200));
  EXPECT_NE(a, sequence(124, logits, 200));
  EXPECT_NE(a, sequence(0, logits, 200));
  // The sequence is not constant (the draws do advance).
  EXPECT_GT(std::set<int32_t>(a.begin(), a.end()).size(), 10u);
}

TEST(SamplerDeterminism, DrawIsTop53BitsOfMt19937_64AndOnePerCall) {
  // With n equal logits the draw u lands on token floor(u * n). u must be the portable
  // (x >> 11) * 2^-53 of successive std::mt19937_64(seed) outputs, one per stochastic call, also
  // when only one token is possible.
  constexpr uint64_t kSeed = 5489;
  std::mt19937_64 reference(kSeed);
  SamplingParams p = plain_params();
  p.seed = kSeed;
  Sampler sampler(p);
  const std::vector<float> uniform(7, 0.25f);
  const std::vector<float> certain = {-kInf, -kInf, 3.0f, -kInf};
  for (int i = 0; i < 200; ++i) {
    if (i % 10 == 3) {
      reference();
      EXPECT_EQ(sampler.sample(certain, {}), 2);
      continue;
    }
    const double u = static_cast<double>(reference() >> 11) * 0x1.0p-53;
    EXPECT_EQ(sampler.sample(uniform, {}), static_cast<int32_t>(std::floor(u * 7.0))) << i;
  }
}

// ---- NaN / inf ------------------------------------------------------------------------------

TEST(SamplerNonFinite, NaNIsNeverChosen) {
  const std::vector<float> logits = {kNaN, 1.0f, kNaN, 0.5f};
  EXPECT_EQ(greedy(logits), 1);
  expect_frequencies(frequencies(plain_params(), logits, 2000),
                     {0.0, 1.0 / (1.0 + std::exp(-0.5)), 0.0, std::exp(-0.5) / (1.0 + std::exp(-0.5))});
}

TEST(SamplerNonFinite, AllMinusInfOrNaNGivesZero) {
  for (const std::vector<float>& logits : {std::vector<float>{-kInf, -kInf, -kInf},
                                           std::vector<float>{kNaN, kNaN},
                                           std::vector<float>{-kInf, kNaN, -kInf}}) {
    EXPECT_EQ(greedy(logits), 0);
    SamplingParams p;  // defaults: top-k, top-p, min-p all on
    p.repetition_penalty = 1.2f;
    p.presence_penalty = 0.5f;
    Sampler sampler(p);
    EXPECT_EQ(sampler.sample(logits, std::vector<int32_t>{0, 1}), 0);
  }
}

TEST(SamplerNonFinite, PlusInfDominates) {
  EXPECT_EQ(greedy({1.0f, kInf, 2.0f}), 1);
  expect_frequencies(frequencies(plain_params(), {1.0f, kInf, 2.0f}, 500), {0.0, 1.0, 0.0});
  // Two +inf tokens share the mass.
  expect_frequencies(frequencies(plain_params(), {kInf, 0.0f, kInf}, 2000), {0.5, 0.0, 0.5});
  // Penalties on +inf must not produce NaN.
  SamplingParams p = plain_params();
  p.repetition_penalty = 0.5f;
  p.presence_penalty = -2.0f;
  Sampler sampler(p);
  EXPECT_EQ(sampler.sample(std::vector<float>{kInf, 0.0f}, std::vector<int32_t>{0}), 0);
}

// Greedy without penalties takes a path of its own (Sampler::first_max); a penalty that matches
// nothing (an out-of-range id) sends the same row through the candidate path, which must agree:
// ties across the eight lanes, NaN, +inf against the largest float, rows not a multiple of eight.
TEST(SamplerNonFinite, GreedyShortcutAgreesWithCandidatePath) {
  SamplingParams slow = greedy_params();
  slow.repetition_penalty = 1.5f;
  const std::vector<int32_t> no_match = {-1};
  const float kMax = std::numeric_limits<float>::max();
  std::mt19937 rng(7);
  for (size_t n : {size_t{1}, size_t{7}, size_t{9}, size_t{64}, size_t{1001}, size_t{151936}}) {
    for (int trial = 0; trial < 12; ++trial) {
      std::vector<float> logits = random_logits(n, static_cast<uint32_t>(n * 31 + trial));
      const auto at = [&] { return static_cast<size_t>(rng() % n); };
      if (trial % 4 == 1) logits[at()] = logits[at()] = 9.0f;  // ties of the maximum
      if (trial % 4 == 2) logits[at()] = kNaN, logits[at()] = kMax, logits[at()] = kInf;
      if (trial % 4 == 3) std::fill(logits.begin(), logits.end(), trial % 8 == 3 ? -kInf : kNaN), logits[at()] = -kInf;
      Sampler fast(greedy_params()), full(slow);
      EXPECT_EQ(fast.sample(logits, {}), full.sample(logits, no_match)) << "n " << n << " trial " << trial;
    }
  }
  EXPECT_EQ(greedy({1.0f, kMax, kInf, kMax}), 1);  // +inf and the largest float rank equal
  EXPECT_EQ(greedy({kNaN, kInf, kMax}), 1);
}

// ---- validate -------------------------------------------------------------------------------

void expect_rejected(const SamplingParams& p, const std::string& name) {
  const Status status = validate(p);
  ASSERT_FALSE(status.is_ok()) << name;
  EXPECT_NE(status.message().find(name), std::string::npos) << status.message();
}

TEST(SamplerValidate, AcceptsDefaultsAndEdges) {
  EXPECT_TRUE(validate(SamplingParams{}).is_ok());
  SamplingParams p;
  p.temperature = 0.0f;
  p.top_p = 1.0f;
  p.min_p = 0.0f;
  p.top_k = -1;
  p.presence_penalty = 2.0f;
  p.frequency_penalty = -2.0f;
  p.penalty_last_n = -1;
  EXPECT_TRUE(validate(p).is_ok()) << validate(p).message();
  p.min_p = 1.0f;
  p.top_p = 1e-6f;
  EXPECT_TRUE(validate(p).is_ok()) << validate(p).message();
}

TEST(SamplerValidate, RejectsEachBadParameterByName) {
  auto with = [](auto set) {
    SamplingParams p;
    set(p);
    return p;
  };
  expect_rejected(with([](SamplingParams& p) { p.temperature = -0.1f; }), "temperature");
  expect_rejected(with([](SamplingParams& p) { p.temperature = kNaN; }), "temperature");
  expect_rejected(with([](SamplingParams& p) { p.temperature = kInf; }), "temperature");
  expect_rejected(with([](SamplingParams& p) { p.top_p = 0.0f; }), "top_p");
  expect_rejected(with([](SamplingParams& p) { p.top_p = 1.5f; }), "top_p");
  expect_rejected(with([](SamplingParams& p) { p.top_p = kNaN; }), "top_p");
  expect_rejected(with([](SamplingParams& p) { p.min_p = -0.1f; }), "min_p");
  expect_rejected(with([](SamplingParams& p) { p.min_p = 1.1f; }), "min_p");
  expect_rejected(with([](SamplingParams& p) { p.min_p = kNaN; }), "min_p");
  expect_rejected(with([](SamplingParams& p) { p.repetition_penalty = 0.0f; }), "repetition_penalty");
  expect_rejected(with([](SamplingParams& p) { p.repetition_penalty = -1.0f; }), "repetition_penalty");
  expect_rejected(with([](SamplingParams& p) { p.repetition_penalty = kNaN; }), "repetition_penalty");
  expect_rejected(with([](SamplingParams& p) { p.presence_penalty = 2.5f; }), "presence_penalty");
  expect_rejected(with([](SamplingParams& p) { p.presence_penalty = -2.01f; }), "presence_penalty");
  expect_rejected(with([](SamplingParams& p) { p.presence_penalty = kNaN; }), "presence_penalty");
  expect_rejected(with([](SamplingParams& p) { p.frequency_penalty = 3.0f; }), "frequency_penalty");
  expect_rejected(with([](SamplingParams& p) { p.frequency_penalty = -kInf; }), "frequency_penalty");
  expect_rejected(with([](SamplingParams& p) { p.penalty_last_n = -2; }), "penalty_last_n");
}

// ---- log-probabilities ----------------------------------------------------------------------

std::vector<double> log_softmax(const std::vector<float>& logits) {
  double max = -std::numeric_limits<double>::infinity();
  for (float l : logits) max = std::max(max, static_cast<double>(l));
  double sum = 0.0;
  for (float l : logits) sum += std::exp(static_cast<double>(l) - max);
  std::vector<double> out;
  for (float l : logits) out.push_back(static_cast<double>(l) - max - std::log(sum));
  return out;
}

TEST(SamplerLogprobs, TopLogprobsMatchLogSoftmaxInDouble) {
  const std::vector<float> logits = random_logits(32000, 11, -20.0f, 20.0f);
  const std::vector<double> want = log_softmax(logits);
  std::vector<int32_t> order(logits.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](int32_t a, int32_t b) { return want[a] > want[b]; });

  const auto top = Sampler::top_logprobs(logits, 20);
  ASSERT_EQ(top.size(), 20u);
  for (size_t i = 0; i < top.size(); ++i) {
    EXPECT_EQ(top[i].id, order[i]) << i;
    EXPECT_NEAR(top[i].logprob, want[static_cast<size_t>(order[i])], 1e-5) << i;
    if (i > 0) {
      EXPECT_GE(top[i - 1].logprob, top[i].logprob);
    }
  }
  for (int32_t id : {0, 1, 777, 31999}) {
    EXPECT_NEAR(Sampler::logprob_of(logits, id), want[static_cast<size_t>(id)], 1e-5) << id;
  }
}

TEST(SamplerLogprobs, KnownDistributionAndEdges) {
  const std::vector<float> logits = logits_of({0.5, 0.3, 0.15, 0.05});
  const auto all = Sampler::top_logprobs(logits, 10);  // more than n_vocab: all four
  ASSERT_EQ(all.size(), 4u);
  const int32_t ids[] = {0, 1, 2, 3};
  const double probs[] = {0.5, 0.3, 0.15, 0.05};
  for (size_t i = 0; i < 4; ++i) {
    EXPECT_EQ(all[i].id, ids[i]);
    EXPECT_NEAR(all[i].logprob, std::log(probs[i]), 1e-6);
  }
  EXPECT_TRUE(Sampler::top_logprobs(logits, 0).empty());
  EXPECT_TRUE(Sampler::top_logprobs(logits, -3).empty());
  EXPECT_EQ(Sampler::logprob_of(logits, -1), -kInf);
  EXPECT_EQ(Sampler::logprob_of(logits, 4), -kInf);
  // Ties: lower id first.
  const auto tied = Sampler::top_logprobs(std::vector<float>{1.0f, 2.0f, 2.0f, 2.0f}, 2);
  ASSERT_EQ(tied.size(), 2u);
  EXPECT_EQ(tied[0].id, 1);
  EXPECT_EQ(tied[1].id, 2);
}

TEST(SamplerLogprobs, NonFiniteLogits) {
  // NaN counts as -inf: the other two share the mass.
  const std::vector<float> logits = {kNaN, 0.0f, 0.0f};
  EXPECT_EQ(Sampler::logprob_of(logits, 0), -kInf);
  EXPECT_NEAR(Sampler::logprob_of(logits, 1), std::log(0.5), 1e-6);
  const auto top = Sampler::top_logprobs(logits, 3);
  ASSERT_EQ(top.size(), 3u);
  EXPECT_EQ(top[2].id, 0);
  // All -inf: read as uniform.
  EXPECT_NEAR(Sampler::logprob_of(std::vector<float>{-kInf, -kInf}, 1), std::log(0.5), 1e-6);
  // +inf: certain.
  EXPECT_NEAR(Sampler::logprob_of(std::vector<float>{0.0f, kInf}, 1), 0.0, 1e-6);
}

// ---- scale ----------------------------------------------------------------------------------

TEST(SamplerScale, RealVocabularySizeWithDefaults) {
  // Qwen3's 151,936-row output layer with the default chain and penalties over a long history.
  const std::vector<float> logits = random_logits(151936, 17);
  std::vector<int32_t> history(4096);
  for (size_t i = 0; i < history.size(); ++i) history[i] = static_cast<int32_t>((i * 7919) % 151936);
  SamplingParams p;
  p.repetition_penalty = 1.1f;
  p.frequency_penalty = 0.2f;
  Sampler sampler(p);
  for (int i = 0; i < 20; ++i) {
    const int32_t id = sampler.sample(logits, history);
    ASSERT_GE(id, 0);
    ASSERT_LT(id, 151936);
  }
}

}  // namespace
}  // namespace kaiyuan
