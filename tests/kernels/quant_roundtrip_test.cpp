// Properties of quantize_row/dequantize_row that need no stored golden: values on a format's grid come
// back exactly (K-quants and Q8_K included, which gguf-py cannot quantize), zeros stay zeros, and
// random data stays within each format's error bound.
#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <vector>

#include "core/half.h"
#include "kernels/quant/quant.h"
#include "kernels/quant_test_util.h"

namespace kaiyuan::quant {
namespace {

using test::first_bit_mismatch;

const DType kAllTypes[] = {DType::F32,  DType::F16,  DType::BF16, DType::Q4_0, DType::Q4_1, DType::Q5_0,
                           DType::Q5_1, DType::Q8_0, DType::Q4_K, DType::Q5_K, DType::Q6_K, DType::Q8_K};

std::vector<float> round_trip(DType t, const std::vector<float>& x) {
  const int64_t n = static_cast<int64_t>(x.size());
  std::vector<uint8_t> q(row_bytes(t, n).value());
  std::vector<float> y(x.size());
  EXPECT_TRUE(quantize_row(t, x.data(), q.data(), n));
  EXPECT_TRUE(dequantize_row(t, q.data(), y.data(), n));
  return y;
}

// Grid values for the 32-element formats: x = offset + step * level, level drawn from [lo, hi] with
// `must_have` present in every block so the format picks exactly `step` as its scale.
std::vector<float> grid_row(int n_blocks, int lo, int hi, int must_have, float step, float offset, int seed) {
  std::mt19937 rng(seed);
  std::uniform_int_distribution<int> level(lo, hi);
  std::vector<float> x(static_cast<size_t>(n_blocks) * kQK);
  for (int b = 0; b < n_blocks; ++b) {
    for (int j = 0; j < kQK; ++j) x[b * kQK + j] = offset + step * static_cast<float>(level(rng));
    x[b * kQK + (7 * b) % kQK] = offset + step * static_cast<float>(must_have);
    x[b * kQK + (7 * b + 3) % kQK] = offset + step * static_cast<float>(lo == 0 ? 0 : lo + 1);
  }
  return x;
}

TEST(QuantRoundTrip, LegacyFormatsReproduceTheirGrid) {
  // Q4_0/Q5_0: the value of largest magnitude becomes level -8/-16, so it must be the negative end.
  struct Case { DType t; int lo, hi, must_have; float offset; };
  for (const Case& c : {Case{DType::Q4_0, -7, 7, -8, 0.0f}, Case{DType::Q5_0, -15, 15, -16, 0.0f},
                        Case{DType::Q8_0, -126, 126, 127, 0.0f}, Case{DType::Q4_1, 0, 15, 15, -1.25f},
                        Case{DType::Q5_1, 0, 31, 31, -1.25f}}) {
    SCOPED_TRACE(std::string(dtype_name(c.t)));
    const std::vector<float> x = grid_row(5, c.lo, c.hi, c.must_have, 0x1p-5f, c.offset, 11);
    const std::vector<float> y = round_trip(c.t, x);
    const int64_t bad = first_bit_mismatch(x, y);
    EXPECT_EQ(bad, -1) << "element " << bad << ": " << x[bad] << " -> " << y[bad];
  }
}

// A K-quant super-block on its grid: sub-block j holds sc[j]*2^-8 * level - m[j]*2^-7 with levels
// in [0, nmax] (both ends present), so d = 2^-8 and dmin = 2^-7 are exact fp16 super-scales.
std::vector<float> k_grid_row(int nmax, int seed) {
  std::mt19937 rng(seed);
  std::uniform_int_distribution<int> level(0, nmax);
  std::uniform_int_distribution<int> six_bits(1, 62);
  std::vector<float> x(2 * kQK_K);
  for (int sb = 0; sb < 2 * kQK_K / 32; ++sb) {
    const int sc = sb % 8 == 0 ? 63 : six_bits(rng);  // 63 and 63 are the super-block maxima
    const int m = sb % 8 == 1 ? 63 : six_bits(rng) * (sb % 3 != 2);  // some sub-blocks without a min
    float* xs = x.data() + 32 * sb;
    for (int l = 0; l < 32; ++l) {
      const int q = l == 0 ? 0 : l == 1 ? nmax : level(rng);
      xs[l] = static_cast<float>(sc) * 0x1p-8f * static_cast<float>(q) - static_cast<float>(m) * 0x1p-7f;
    }
  }
  return x;
}

TEST(QuantRoundTrip, Q4KAndQ5KReproduceTheirGrid) {
  for (const auto& [t, nmax] : {std::pair{DType::Q4_K, 15}, std::pair{DType::Q5_K, 31}}) {
    SCOPED_TRACE(std::string(dtype_name(t)));
    for (int seed : {1, 2, 3}) {
      const std::vector<float> x = k_grid_row(nmax, seed);
      const std::vector<float> y = round_trip(t, x);
      const int64_t bad = first_bit_mismatch(x, y);
      EXPECT_EQ(bad, -1) << "seed " << seed << " element " << bad << ": " << x[bad] << " -> " << y[bad];
    }
  }
}

TEST(QuantRoundTrip, Q6KReproducesItsGrid) {
  // Sub-block j: c_j * 2^-12 * q with q in [-32, 31] and q = -32 present; c = 128 somewhere so the
  // super-scale is exactly -2^-12 and the int8 scales are -c_j.
  std::mt19937 rng(5);
  std::uniform_int_distribution<int> level(-31, 31);
  std::uniform_int_distribution<int> scale(1, 127);
  std::vector<float> x(2 * kQK_K);
  for (int sb = 0; sb < 2 * kQK_K / 16; ++sb) {
    const int c = sb % 16 == 5 ? 128 : scale(rng);
    for (int l = 0; l < 16; ++l) {
      const int q = l == 3 ? -32 : level(rng);
      x[16 * sb + l] = static_cast<float>(c) * 0x1p-12f * static_cast<float>(q);
    }
  }
  const std::vector<float> y = round_trip(DType::Q6_K, x);
  const int64_t bad = first_bit_mismatch(x, y);
  EXPECT_EQ(bad, -1) << "element " << bad << ": " << x[bad] << " -> " << y[bad];
}

TEST(QuantRoundTrip, Q8KReproducesItsGridAndSumsItsLevels) {
  std::mt19937 rng(9);
  std::uniform_int_distribution<int> level(-126, 126);
  std::vector<float> x(3 * kQK_K);
  for (size_t i = 0; i < x.size(); ++i) x[i] = static_cast<float>(level(rng)) * 0x1p-7f;
  x[10] = -127 * 0x1p-7f;                  // block 0: the extreme is negative
  x[kQK_K + 20] = 127 * 0x1p-7f;           // block 1: positive (levels come out negated)
  for (int j = 0; j < kQK_K; ++j) x[2 * kQK_K + j] = 0.0f;  // block 2: all zeros
  std::vector<BlockQ8_K> q(3);
  ASSERT_TRUE(quantize_row(DType::Q8_K, x.data(), q.data(), static_cast<int64_t>(x.size())));
  EXPECT_EQ(q[0].d, 0x1p-7f);
  EXPECT_EQ(q[1].d, -0x1p-7f);
  EXPECT_EQ(q[2].d, 0.0f);
  for (int b = 0; b < 3; ++b) {
    for (int g = 0; g < kQK_K / 16; ++g) {
      int sum = 0;
      for (int j = 0; j < 16; ++j) sum += q[b].qs[16 * g + j];
      EXPECT_EQ(q[b].bsums[g], sum) << "block " << b << " group " << g;
    }
    for (int j = 0; j < kQK_K; ++j) {
      const float want = x[b * kQK_K + j] * (b == 1 ? -128.0f : 128.0f);
      ASSERT_EQ(q[b].qs[j], static_cast<int>(want)) << "block " << b << " j " << j;
    }
  }
  std::vector<float> y(x.size());
  ASSERT_TRUE(dequantize_row(DType::Q8_K, q.data(), y.data(), static_cast<int64_t>(x.size())));
  EXPECT_EQ(first_bit_mismatch(x, y), -1);
}

TEST(QuantRoundTrip, ZerosStayZeros) {
  const std::vector<float> x(2 * kQK_K, 0.0f);
  for (DType t : kAllTypes) {
    // The sign may flip as in ggml: Q4_0/Q5_0 store d = max / -8 = -0, a zero Q6_K block decodes as
    // 0 * (0 - 32).
    for (float v : round_trip(t, x)) ASSERT_EQ(v, 0.0f) << dtype_name(t);
  }
  // ggml writes an all-zero Q6_K block (quantize_row_q6_K_ref's GROUP_MAX_EPS branch)
  std::vector<uint8_t> q(sizeof(BlockQ6_K), 0xff);
  ASSERT_TRUE(quantize_row(DType::Q6_K, x.data(), q.data(), kQK_K));
  EXPECT_EQ(q, std::vector<uint8_t>(sizeof(BlockQ6_K), 0));
}

// Largest |x - dequantize(quantize(x))| allowed per block, from each format's step size.
double error_bound(DType t, const float* x, int64_t n) {
  double amax = 0, lo = x[0], hi = x[0];
  for (int64_t i = 0; i < n; ++i) {
    amax = std::max(amax, std::fabs(static_cast<double>(x[i])));
    lo = std::min(lo, static_cast<double>(x[i]));
    hi = std::max(hi, static_cast<double>(x[i]));
  }
  // Scales are stored as fp16: relative error 2^-11, but absolute error up to 2^-25 once they fall
  // into fp16's subnormal range (weights of magnitude 1e-2 do for Q6_K), multiplied by the largest
  // level the scale is applied to.
  const double rel = 1.0 + 0x1p-10;
  const double sub = 0x1p-25;
  switch (t) {
    case DType::F32: return 0.0;
    case DType::F16: return amax * 0x1p-11 + sub;
    case DType::BF16: return amax * 0x1p-8;
    case DType::Q4_0: return amax / 8 * rel + 8 * sub;  // +amax lands on level 7 when -amax is level -8
    case DType::Q5_0: return amax / 16 * rel + 16 * sub;
    case DType::Q8_0: return amax / 127 * 0.5 * rel + amax * 0x1p-10 + 127 * sub;
    case DType::Q4_1: return (hi - lo) / 15 * 0.5 * rel + amax * 0x1p-10 + 16 * sub;
    case DType::Q5_1: return (hi - lo) / 31 * 0.5 * rel + amax * 0x1p-10 + 32 * sub;
    case DType::Q8_K: return amax / 127 * 0.5 * 1.0001;  // f32 scale
    // K-quants fit scale and min per sub-block by least squares, then round those to 6/8 bits: the
    // worst element can sit well past half a step; these bounds allow two steps of the block range.
    case DType::Q4_K: return (hi - lo) / 15 * 2 + 63 * 16 * sub;
    case DType::Q5_K: return (hi - lo) / 31 * 2 + 63 * 32 * sub;
    case DType::Q6_K: return amax / 32 * 2 + 128 * 32 * sub;
    default: return 0.0;
  }
}

TEST(QuantRoundTrip, RandomDataStaysWithinTheFormatsErrorBound) {
  std::mt19937 rng(1234);
  std::normal_distribution<float> normal;
  std::uniform_real_distribution<float> log_scale(-4, 2);
  for (DType t : kAllTypes) {
    SCOPED_TRACE(std::string(dtype_name(t)));
    const int64_t block = quant_traits(t)->block_elems == 1 ? kQK : quant_traits(t)->block_elems;
    for (int trial = 0; trial < 20; ++trial) {
      std::vector<float> x(static_cast<size_t>(block));
      const float scale = std::pow(10.0f, log_scale(rng));
      for (float& v : x) v = normal(rng) * scale;
      if (trial % 4 == 1) x[trial % block] *= 30.0f;       // an outlier
      if (trial % 4 == 2) for (float& v : x) v = std::fabs(v);  // one-signed data
      const std::vector<float> y = round_trip(t, x);
      const double bound = error_bound(t, x.data(), block);
      double worst = 0;
      for (int64_t i = 0; i < block; ++i) worst = std::max(worst, std::fabs(static_cast<double>(x[i]) - y[i]));
      EXPECT_LE(worst, bound) << "trial " << trial;
    }
  }
}

}  // namespace
}  // namespace kaiyuan::quant
