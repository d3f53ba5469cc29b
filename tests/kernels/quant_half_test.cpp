// core/half.h conversions against numpy's float16 cast, gguf-py's BF16 and an exhaustive check of
// every fp16 bit pattern against the IEEE binary16 definition.
#include "core/half.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <random>
#include <vector>

#include <nlohmann/json.hpp>

#include "kernels/quant_test_util.h"
#include "support/test_support.h"

namespace kaiyuan {
namespace {

using quant::test::float_bits;

// IEEE 754 binary16 value of a bit pattern, from the definition (not from half.h's bit shuffling).
double half_value(uint16_t h) {
  const int sign = h >> 15, exp = (h >> 10) & 0x1f, mant = h & 0x3ff;
  double v;
  if (exp == 0) v = std::ldexp(static_cast<double>(mant), -24);
  else if (exp == 31) v = mant ? std::nan("") : INFINITY;
  else v = std::ldexp(static_cast<double>(1024 + mant), exp - 25);
  return sign ? -v : v;
}

TEST(Half, EveryF16BitPatternDecodesToItsIeeeValueAndBack) {
  for (uint32_t h = 0; h <= 0xffff; ++h) {
    const float f = f16_to_f32(static_cast<uint16_t>(h));
    const double want = half_value(static_cast<uint16_t>(h));
    if (std::isnan(want)) {
      ASSERT_TRUE(std::isnan(f)) << std::hex << h;
      ASSERT_TRUE(std::isnan(f16_to_f32(f32_to_f16(f)))) << std::hex << h;
      continue;
    }
    ASSERT_EQ(static_cast<double>(f), want) << std::hex << h;
    ASSERT_EQ(std::signbit(f), (h & 0x8000) != 0) << std::hex << h;
    ASSERT_EQ(f32_to_f16(f), h) << std::hex << h;  // every half is exactly representable in float
  }
}

// Round-to-nearest-even by search over all finite halves: independent of half.h's bit arithmetic.
uint16_t nearest_half(float x) {
  static const std::vector<double> positives = [] {
    std::vector<double> v;
    for (uint32_t h = 0; h < 0x7c00; ++h) v.push_back(half_value(static_cast<uint16_t>(h)));
    return v;
  }();
  const uint16_t sign = std::signbit(x) ? 0x8000 : 0;
  const double a = std::fabs(static_cast<double>(x));
  // Beyond max + half an ulp (65504 + 16) a value rounds to infinity (ties go to the even "65536").
  if (a >= 65520.0) return sign | 0x7c00;
  if (a >= positives.back()) return sign | 0x7bff;
  const auto it = std::lower_bound(positives.begin(), positives.end(), a);
  const uint16_t hi = static_cast<uint16_t>(it - positives.begin());
  if (*it == a || hi == 0) return sign | hi;
  const uint16_t lo = hi - 1;
  const double d_lo = a - positives[lo], d_hi = positives[hi] - a;
  if (d_lo < d_hi) return sign | lo;
  if (d_hi < d_lo) return sign | hi;
  return sign | ((lo & 1) ? hi : lo);
}

TEST(Half, F32ToF16RoundsToNearestEven) {
  std::mt19937 rng(7);
  std::uniform_int_distribution<uint32_t> bits;
  int checked = 0;
  for (int i = 0; i < 200000; ++i) {
    // random bit patterns restricted to the exponents near half's range (2^-26 .. 2^17)
    uint32_t u = bits(rng);
    const uint32_t exp = 101 + (u >> 24) % 43;
    u = (u & 0x807fffffu) | (exp << 23);
    float f;
    std::memcpy(&f, &u, 4);
    ASSERT_EQ(f32_to_f16(f), nearest_half(f)) << f << " bits " << std::hex << u;
    ++checked;
  }
  // ties: exactly halfway between neighbouring halves, normal and subnormal
  for (uint16_t h : {0x0000, 0x0001, 0x0002, 0x03fe, 0x03ff, 0x0400, 0x3c00, 0x3c01, 0x7bfe, 0x7bff}) {
    const double mid = (half_value(h) + half_value(static_cast<uint16_t>(h + 1))) / 2;
    ASSERT_EQ(f32_to_f16(static_cast<float>(mid)), nearest_half(static_cast<float>(mid))) << std::hex << h;
  }
  EXPECT_EQ(checked, 200000);
}

TEST(Half, SpecialValuesMatchNumpyAndGgufPy) {
  const nlohmann::json specials = test::read_json(quant::test::data_path("manifest.json")).at("specials");
  const std::vector<float> x = quant::test::read_floats(specials.at("input"));
  const std::vector<uint8_t> f16 = quant::test::read_bytes(specials.at("f16"));
  const std::vector<uint8_t> bf16 = quant::test::read_bytes(specials.at("bf16"));
  ASSERT_EQ(x.size(), specials.at("n").get<size_t>());
  ASSERT_EQ(f16.size(), 2 * x.size());
  ASSERT_EQ(bf16.size(), 2 * x.size());
  for (size_t i = 0; i < x.size(); ++i) {
    const uint16_t want_h = static_cast<uint16_t>(f16[2 * i] | (f16[2 * i + 1] << 8));
    const uint16_t want_b = static_cast<uint16_t>(bf16[2 * i] | (bf16[2 * i + 1] << 8));
    EXPECT_EQ(f32_to_f16(x[i]), want_h) << "f16 of " << x[i];
    EXPECT_EQ(f32_to_bf16(x[i]), want_b) << "bf16 of " << x[i];
    EXPECT_EQ(float_bits(bf16_to_f32(want_b)), static_cast<uint32_t>(want_b) << 16);
  }
}

TEST(Half, Bf16KnownBitPatterns) {
  EXPECT_EQ(f32_to_bf16(1.0f), 0x3f80);
  EXPECT_EQ(f32_to_bf16(-2.0f), 0xc000);
  EXPECT_EQ(f32_to_bf16(INFINITY), 0x7f80);
  EXPECT_EQ(f32_to_bf16(3.4028235e38f), 0x7f80);            // max float rounds up to inf
  EXPECT_EQ(f32_to_bf16(1.0f + 0x1p-8f), 0x3f80);           // tie, even stays
  EXPECT_EQ(f32_to_bf16(1.0f + 3 * 0x1p-8f), 0x3f82);       // tie, odd rounds up
  EXPECT_EQ(f32_to_bf16(std::nanf("")) & 0x7fc0, 0x7fc0);   // quiet NaN stays NaN
  uint32_t snan_bits = 0x7f800001u;                          // signalling NaN with a low payload
  float snan;
  std::memcpy(&snan, &snan_bits, 4);
  EXPECT_EQ(f32_to_bf16(snan), 0x7fc0);                      // quieted, not turned into inf
  EXPECT_EQ(bf16_to_f32(0x3f80), 1.0f);
  EXPECT_EQ(bf16_to_f32(0xc040), -3.0f);
}

}  // namespace
}  // namespace kaiyuan
