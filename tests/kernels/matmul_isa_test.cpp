// Every ISA path this CPU supports against the scalar reference (quant::dot_ref): random weights of
// every type, odd row counts, tails, misaligned rows and several token counts. Paths that quantize
// the activations are compared with the reference dot product of the weights and the dequantized
// quantized activations, so the bound only covers float summation order.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "core/tensor.h"
#include "kernels/kernel_table.h"
#include "kernels/ops.h"
#include "kernels/quant/quant.h"

namespace kaiyuan::kernels {
namespace {

std::vector<Isa> supported_fast_isas() {
  std::vector<Isa> out;
  for (Isa isa : {Isa::kAvx2, Isa::kAvx512})
    if (cpu_supports(isa)) out.push_back(isa);
  return out;
}

std::vector<float> random_floats(size_t n, uint32_t seed, float scale = 1.0f) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> dist(0.0f, scale);
  std::vector<float> v(n);
  for (float& f : v) f = dist(rng);
  return v;
}

// A weight matrix stored one byte past an aligned address, so every row pointer is misaligned.
struct Weights {
  std::vector<uint8_t> storage;
  TensorView view;
};

Weights make_weights(DType type, int64_t n_out, int64_t n_in, uint32_t seed) {
  const std::vector<float> f = random_floats(static_cast<size_t>(n_out * n_in), seed, 0.05f);
  const size_t row = *row_bytes(type, n_in);
  Weights w;
  w.storage.resize(row * static_cast<size_t>(n_out) + 1);
  for (int64_t r = 0; r < n_out; ++r)
    EXPECT_TRUE(quant::quantize_row(type, &f[static_cast<size_t>(r * n_in)], w.storage.data() + 1 + r * row, n_in));
  w.view.dtype = type;
  w.view.shape = {n_out, n_in};
  w.view.data = w.storage.data() + 1;
  w.view.nbytes = row * static_cast<size_t>(n_out);
  return w;
}

// The activations the kernel's integer path sees: quantized with the table's own quantizer and
// dequantized by the reference codec.
std::vector<float> effective_activations(const MatmulKernel& k, const float* x, int64_t n_in) {
  if (k.act_type == DType::F32) return {x, x + n_in};
  std::vector<uint8_t> q(*row_bytes(k.act_type, n_in));
  k.quantize_act(x, q.data(), n_in);
  std::vector<float> out(static_cast<size_t>(n_in));
  EXPECT_TRUE(quant::dequantize_row(k.act_type, q.data(), out.data(), n_in));
  return out;
}

struct Case {
  DType type;
  int64_t n_in;
};

class MatmulIsaTest : public ::testing::TestWithParam<Isa> {};

TEST_P(MatmulIsaTest, MatchesReferenceForEveryTypeShapeAndTokenCount) {
  const KernelTable& table = kernel_table(GetParam());
  ASSERT_EQ(table.isa, GetParam());
  const Case cases[] = {{DType::F32, 37},   {DType::F16, 45},   {DType::BF16, 29},  {DType::F32, 512},
                        {DType::Q8_0, 224}, {DType::Q8_0, 32},  {DType::Q4_0, 96},  {DType::Q4_1, 96},
                        {DType::Q5_0, 160}, {DType::Q5_1, 160}, {DType::Q4_K, 768}, {DType::Q5_K, 512},
                        {DType::Q6_K, 768}, {DType::Q6_K, 256}, {DType::Q4_K, 256},
                        // rows wide enough that 17 tokens span several L2 chunks (x86_tiles.h)
                        {DType::F32, 16384}, {DType::Q8_0, 65536}, {DType::Q4_K, 65536}};
  const int64_t n_out = 13;  // not a multiple of the row grain (8) nor of any tile
  uint32_t seed = 1;
  for (const Case& c : cases) {
    const MatmulKernel* k = table.matmul_for(c.type);
    ASSERT_NE(k, nullptr) << dtype_name(c.type);
    const Weights w = make_weights(c.type, n_out, c.n_in, seed++);
    for (int64_t n_tokens : {1, 2, 3, 5, 17}) {
      // activations one float past alignment too
      std::vector<float> xbuf = random_floats(static_cast<size_t>(n_tokens * c.n_in) + 1, seed++);
      const float* x = xbuf.data() + 1;
      std::vector<float> y(static_cast<size_t>(n_tokens * n_out), NAN);
      matmul_with(table, w.view, x, n_tokens, y.data());
      for (int64_t t = 0; t < n_tokens; ++t) {
        const std::vector<float> xe = effective_activations(*k, x + t * c.n_in, c.n_in);
        std::vector<float> wr(static_cast<size_t>(c.n_in));
        for (int64_t r = 0; r < n_out; ++r) {
          const uint8_t* row = w.view.data + r * w.view.row_stride();
          const double want = quant::dot_ref(c.type, row, xe.data(), c.n_in);
          ASSERT_TRUE(quant::dequantize_row(c.type, row, wr.data(), c.n_in));
          double magnitude = 0.0;
          for (int64_t i = 0; i < c.n_in; ++i) magnitude += std::fabs(static_cast<double>(wr[i]) * xe[i]);
          const double got = y[static_cast<size_t>(t * n_out + r)];
          EXPECT_NEAR(got, want, 1e-5 * magnitude + 1e-7)
              << dtype_name(c.type) << " n_in=" << c.n_in << " n_tokens=" << n_tokens << " t=" << t << " r=" << r;
        }
      }
    }
  }
}

// The on-the-fly activation quantizers against the reference codecs: same scale, levels within
// one step (SIMD rounds ties to even where the reference rounds them away from zero), and Q8_K's
// block sums equal to the sums of its own levels.
TEST_P(MatmulIsaTest, ActivationQuantizersMatchReferenceCodecs) {
  const KernelTable& table = kernel_table(GetParam());
  for (DType wt : {DType::Q8_0, DType::Q4_K}) {
    const MatmulKernel* k = table.matmul_for(wt);
    ASSERT_NE(k, nullptr);
    if (k->act_type == DType::F32) continue;
    const int64_t n = 512;
    std::vector<float> x = random_floats(n, 77, 3.0f);
    x[100] = -9.5f;  // a negative maximum: Q8_K's scale takes its sign
    std::vector<float> zeros(256, 0.0f);
    std::memcpy(x.data() + 256, zeros.data(), 256 * sizeof(float));  // an all-zero block
    const size_t bytes = *row_bytes(k->act_type, n);
    std::vector<uint8_t> got(bytes), want(bytes);
    k->quantize_act(x.data(), got.data(), n);
    ASSERT_TRUE(quant::quantize_row(k->act_type, x.data(), want.data(), n));
    if (k->act_type == DType::Q8_0) {
      for (int64_t b = 0; b < n / quant::kQK; ++b) {
        quant::BlockQ8_0 g, w;
        std::memcpy(&g, got.data() + b * sizeof(g), sizeof(g));
        std::memcpy(&w, want.data() + b * sizeof(w), sizeof(w));
        EXPECT_EQ(g.d, w.d) << "block " << b;
        for (int j = 0; j < quant::kQK; ++j) EXPECT_LE(std::abs(g.qs[j] - w.qs[j]), 1) << "block " << b << " j " << j;
      }
    } else {
      ASSERT_EQ(k->act_type, DType::Q8_K);
      for (int64_t b = 0; b < n / quant::kQK_K; ++b) {
        quant::BlockQ8_K g, w;
        std::memcpy(&g, got.data() + b * sizeof(g), sizeof(g));
        std::memcpy(&w, want.data() + b * sizeof(w), sizeof(w));
        EXPECT_EQ(g.d, w.d) << "block " << b;
        for (int j = 0; j < quant::kQK_K; ++j) EXPECT_LE(std::abs(g.qs[j] - w.qs[j]), 1) << "block " << b << " j " << j;
        for (int s = 0; s < quant::kQK_K / 16; ++s) {
          int sum = 0;
          for (int j = 0; j < 16; ++j) sum += g.qs[16 * s + j];
          EXPECT_EQ(g.bsums[s], sum) << "block " << b << " group " << s;
        }
      }
    }
  }
}

// Q8_0 weight levels of -128 (legal in a file, never produced by the quantizer) must not overflow
// the unsigned-by-signed byte products.
TEST_P(MatmulIsaTest, Q8_0ExtremeLevelsDoNotOverflow) {
  const KernelTable& table = kernel_table(GetParam());
  const int64_t n_in = 64, n_out = 4;
  std::vector<uint8_t> w(sizeof(quant::BlockQ8_0) * 2 * n_out);
  for (int64_t b = 0; b < 2 * n_out; ++b) {
    quant::BlockQ8_0 blk;
    blk.d = 0x3c00;  // 1.0 in f16
    for (int j = 0; j < quant::kQK; ++j) blk.qs[j] = static_cast<int8_t>(j % 2 == 0 ? -128 : 127);
    std::memcpy(w.data() + b * sizeof(blk), &blk, sizeof(blk));
  }
  TensorView view;
  view.dtype = DType::Q8_0;
  view.shape = {n_out, n_in};
  view.data = w.data();
  view.nbytes = w.size();
  std::vector<float> x(n_in);
  for (int64_t i = 0; i < n_in; ++i) x[i] = i % 2 == 0 ? -1.0f : 1.0f;  // quantizes to -127 / 127 exactly
  std::vector<float> y(n_out);
  matmul_with(table, view, x.data(), 1, y.data());
  const double want = 32.0 * (128.0 * 127.0 / 127.0 + 127.0 * 127.0 / 127.0);  // levels times x = +-1
  for (float v : y) EXPECT_NEAR(v, want, 1e-3 * want);
}

std::string isa_label(const ::testing::TestParamInfo<Isa>& info) { return std::string(isa_name(info.param)); }

INSTANTIATE_TEST_SUITE_P(SupportedIsas, MatmulIsaTest, ::testing::ValuesIn(supported_fast_isas()), isa_label);
GTEST_ALLOW_UNINSTANTIATED_PARAMETERIZED_TEST(MatmulIsaTest);

// The scalar table has no entries: matmul through it is the reference path itself.
TEST(MatmulScalarTable, RoutesToReference) {
  const KernelTable& table = kernel_table(Isa::kScalar);
  EXPECT_EQ(table.matmul_for(DType::Q8_0), nullptr);
  EXPECT_EQ(table.matmul_for(DType::F32), nullptr);
}

}  // namespace
}  // namespace kaiyuan::kernels
