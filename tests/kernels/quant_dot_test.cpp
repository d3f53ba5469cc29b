// dot_ref against the sum of dequantized weights times x (and, for Q8_0 and Q4_0, against a dot
// computed straight from the block bytes), over odd numbers of blocks and misaligned weight rows.
#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <vector>

#include "core/half.h"
#include "kernels/quant/quant.h"

namespace kaiyuan::quant {
namespace {

const DType kAllTypes[] = {DType::F32,  DType::F16,  DType::BF16, DType::Q4_0, DType::Q4_1, DType::Q5_0,
                           DType::Q5_1, DType::Q8_0, DType::Q4_K, DType::Q5_K, DType::Q6_K, DType::Q8_K};

std::vector<float> random_floats(int64_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> normal;
  std::vector<float> v(static_cast<size_t>(n));
  for (float& f : v) f = normal(rng);
  return v;
}

// A quantized row stored one byte past an aligned address.
struct MisalignedRow {
  std::vector<uint8_t> storage;
  const uint8_t* data() const { return storage.data() + 1; }
};

MisalignedRow quantize_misaligned(DType t, const std::vector<float>& w) {
  const int64_t n = static_cast<int64_t>(w.size());
  MisalignedRow row{std::vector<uint8_t>(row_bytes(t, n).value() + 1)};
  EXPECT_TRUE(quantize_row(t, w.data(), row.storage.data() + 1, n));
  return row;
}

TEST(QuantDot, EqualsSumOfDequantizedTimesX) {
  for (DType t : kAllTypes) {
    SCOPED_TRACE(std::string(dtype_name(t)));
    const int64_t block = quant_traits(t)->block_elems;
    // odd block counts; plain types also cross dot_ref's 256-element chunking with a partial chunk
    const std::vector<int64_t> sizes = block == 1 ? std::vector<int64_t>{1, 7, 255, 257, 1001}
                                                  : std::vector<int64_t>{block, 3 * block, 5 * block};
    for (int64_t n : sizes) {
      const std::vector<float> w = random_floats(n, 17 + static_cast<uint32_t>(n));
      const std::vector<float> x = random_floats(n, 91 + static_cast<uint32_t>(n));
      const MisalignedRow q = quantize_misaligned(t, w);
      std::vector<float> deq(static_cast<size_t>(n));
      ASSERT_TRUE(dequantize_row(t, q.data(), deq.data(), n));
      double want = 0, magnitude = 0;
      for (int64_t i = 0; i < n; ++i) {
        want += static_cast<double>(deq[i]) * x[i];
        magnitude += std::fabs(static_cast<double>(deq[i]) * x[i]);
      }
      const float got = dot_ref(t, q.data(), x.data(), n);
      EXPECT_NEAR(got, want, 1e-6 * magnitude + 1e-30) << "n " << n;
      // and close to the unquantized dot: the quantization error is bounded by the format
      double exact = 0;
      for (int64_t i = 0; i < n; ++i) exact += static_cast<double>(w[i]) * x[i];
      EXPECT_NEAR(got, exact, 0.2 * magnitude + 1e-6) << "n " << n;
    }
  }
}

TEST(QuantDot, Q8_0AndQ4_0FromTheBlockBytes) {
  // Decodes the layouts by hand (ggml-common.h): Q8_0 = fp16 d + 32 int8; Q4_0 = fp16 d + 16 bytes,
  // element j in the low nibble of byte j, element j+16 in its high nibble, offset 8.
  constexpr int64_t kBlocks = 3;
  const std::vector<float> w = random_floats(kBlocks * kQK, 5);
  const std::vector<float> x = random_floats(kBlocks * kQK, 6);
  for (DType t : {DType::Q8_0, DType::Q4_0}) {
    const MisalignedRow q = quantize_misaligned(t, w);
    const size_t block_bytes = t == DType::Q8_0 ? 34 : 18;
    double want = 0;
    for (int64_t b = 0; b < kBlocks; ++b) {
      const uint8_t* p = q.data() + b * block_bytes;
      const float d = f16_to_f32(static_cast<uint16_t>(p[0] | (p[1] << 8)));
      for (int j = 0; j < kQK; ++j) {
        int level;
        if (t == DType::Q8_0) level = static_cast<int8_t>(p[2 + j]);
        else level = (j < 16 ? (p[2 + j] & 0xF) : (p[2 + j - 16] >> 4)) - 8;
        want += static_cast<double>(level * d) * x[b * kQK + j];
      }
    }
    EXPECT_NEAR(dot_ref(t, q.data(), x.data(), kBlocks * kQK), want, 1e-5) << dtype_name(t);
  }
}

TEST(QuantDot, EmptyRowIsZero) {
  const float x = 1.0f;
  for (DType t : kAllTypes) EXPECT_EQ(dot_ref(t, &x, &x, 0), 0.0f) << dtype_name(t);
}

}  // namespace
}  // namespace kaiyuan::quant
