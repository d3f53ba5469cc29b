// RoPE: rope() and its two-step form (rope_angles + rope_rotate, which the llama family uses to
// compute each token's rotation once for all heads and layers) against a double-precision
// rotation computed here, for both pairings and positions up to 1e6.
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "kernels/ops.h"

namespace kaiyuan::kernels {
namespace {

std::vector<double> rotated(const std::vector<float>& head, int64_t rope_dim, int64_t pos,
                            const std::vector<float>& inv_freq, double attn_factor, RopePairing pairing) {
  std::vector<double> out(head.begin(), head.end());
  const int64_t half = rope_dim / 2;
  for (int64_t i = 0; i < half; ++i) {
    const int64_t a = pairing == RopePairing::kInterleaved ? 2 * i : i;
    const int64_t b = pairing == RopePairing::kInterleaved ? 2 * i + 1 : i + half;
    const double angle = static_cast<double>(pos) * inv_freq[static_cast<size_t>(i)];
    const double c = std::cos(angle) * attn_factor, s = std::sin(angle) * attn_factor;
    out[static_cast<size_t>(a)] = head[static_cast<size_t>(a)] * c - head[static_cast<size_t>(b)] * s;
    out[static_cast<size_t>(b)] = head[static_cast<size_t>(a)] * s + head[static_cast<size_t>(b)] * c;
  }
  return out;
}

TEST(Rope, OneStepAndTwoStepFormsMatchADoubleRotation) {
  const int64_t head_dim = 128;
  for (int64_t rope_dim : {int64_t{128}, int64_t{64}}) {  // 64: partial rotary (the rest passes through)
    std::vector<float> inv_freq(static_cast<size_t>(rope_dim / 2));
    for (size_t i = 0; i < inv_freq.size(); ++i)
      inv_freq[i] = static_cast<float>(std::pow(1e6, -2.0 * static_cast<double>(i) / static_cast<double>(rope_dim)));
    std::vector<float> head(static_cast<size_t>(head_dim));
    for (size_t i = 0; i < head.size(); ++i) head[i] = std::sin(0.37f * static_cast<float>(i) + 0.1f);
    for (RopePairing pairing : {RopePairing::kInterleaved, RopePairing::kNeox})
      for (int64_t pos : {int64_t{0}, int64_t{1}, int64_t{17}, int64_t{4095}, int64_t{1000000}})
        for (float attn_factor : {1.0f, 1.25f}) {
          const std::vector<double> want = rotated(head, rope_dim, pos, inv_freq, attn_factor, pairing);
          std::vector<float> one = head, two = head;
          rope(one.data(), rope_dim, pos, inv_freq.data(), attn_factor, pairing);
          std::vector<float> c(static_cast<size_t>(rope_dim / 2)), s(c.size());
          rope_angles(rope_dim, pos, inv_freq.data(), attn_factor, c.data(), s.data());
          rope_rotate(two.data(), rope_dim, c.data(), s.data(), pairing);
          for (size_t i = 0; i < head.size(); ++i) {
            EXPECT_NEAR(one[i], want[i], 2e-6) << "rope_dim " << rope_dim << " pos " << pos << " i " << i;
            EXPECT_NEAR(two[i], want[i], 2e-6) << "rope_dim " << rope_dim << " pos " << pos << " i " << i;
          }
        }
  }
}

}  // namespace
}  // namespace kaiyuan::kernels
