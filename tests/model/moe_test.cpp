// MoE routing against hand-computed cases, and the batched moe_ffn against a naive per-token loop
// over dequantized weights (stacked GGUF-style Q8_0 experts and per-expert HF-style F32 ones).
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <deque>
#include <random>

#include "kernels/dispatch.h"
#include "kernels/kernel_table.h"
#include "kernels/quant/quant.h"
#include "model/moe.h"
#include "model/moe_ffn.h"

namespace kaiyuan {
namespace {

// ----------------------------------------------------------------------------- routing

std::vector<ExpertChoice> route(const RouterConfig& c, const std::vector<float>& logits,
                                const std::vector<float>& bias = {}) {
  std::vector<ExpertChoice> out(static_cast<size_t>(c.top_k));
  route_token(c, logits.data(), bias.empty() ? nullptr : bias.data(), out.data());
  return out;
}

RouterConfig softmax_config(int64_t n, int64_t k, bool norm) {
  RouterConfig c;
  c.scoring = RouterScoring::kSoftmax;
  c.n_experts = n;
  c.top_k = k;
  c.norm_topk_prob = norm;
  return c;
}

TEST(RouteToken, SoftmaxTopKRenormalised) {
  // softmax(1, 2, 3, 0): the two best are experts 2 and 1; renormalised weights
  // e^3 / (e^3 + e^2) = sigmoid(1) = 0.7310586 and 0.2689414.
  const auto out = route(softmax_config(4, 2, true), {1, 2, 3, 0});
  EXPECT_EQ(out[0].expert, 2);
  EXPECT_EQ(out[1].expert, 1);
  EXPECT_NEAR(out[0].weight, 0.7310586f, 1e-6);
  EXPECT_NEAR(out[1].weight, 0.2689414f, 1e-6);
}

TEST(RouteToken, SoftmaxTopKWithoutRenormalisationKeepsTheProbabilities) {
  // Z = e + e^2 + e^3 + 1 = 31.19287; e^3 / Z = 0.6439143, e^2 / Z = 0.2368828.
  const auto out = route(softmax_config(4, 2, false), {1, 2, 3, 0});
  EXPECT_EQ(out[0].expert, 2);
  EXPECT_NEAR(out[0].weight, 0.6439143f, 1e-6);
  EXPECT_EQ(out[1].expert, 1);
  EXPECT_NEAR(out[1].weight, 0.2368828f, 1e-6);
}

TEST(RouteToken, ScalingMultipliesTheFinalWeights) {
  RouterConfig c = softmax_config(4, 2, false);
  c.routed_scaling_factor = 2.0f;
  const auto out = route(c, {1, 2, 3, 0});
  EXPECT_NEAR(out[0].weight, 2 * 0.6439143f, 2e-6);
  EXPECT_NEAR(out[1].weight, 2 * 0.2368828f, 2e-6);
}

TEST(RouteToken, TiesGoToTheLowerExpertIndex) {
  const auto out = route(softmax_config(4, 2, true), {0.5f, 0.5f, 0.5f, 0.5f});
  EXPECT_EQ(out[0].expert, 0);
  EXPECT_EQ(out[1].expert, 1);
  EXPECT_NEAR(out[0].weight, 0.5f, 1e-7);
}

TEST(RouteToken, SelectionBiasChoosesButDoesNotWeigh) {
  // sigmoid(0, 1, -1, 2) = 0.5, 0.7310586, 0.2689414, 0.8807971; + bias (0.5, 0, 0.9, 0) =
  // 1.0, 0.731, 1.1689, 0.881: experts 2 then 0 are chosen, weighted by their UNBIASED scores
  // renormalised, x 2.5: 0.2689414 / 0.7689414 x 2.5 = 0.8743885 and 0.5 / 0.7689414 x 2.5 = 1.6256115.
  RouterConfig c;
  c.scoring = RouterScoring::kSigmoid;
  c.n_experts = 4;
  c.top_k = 2;
  c.norm_topk_prob = true;
  c.routed_scaling_factor = 2.5f;
  const auto out = route(c, {0, 1, -1, 2}, {0.5f, 0, 0.9f, 0});
  EXPECT_EQ(out[0].expert, 2);
  EXPECT_EQ(out[1].expert, 0);
  EXPECT_NEAR(out[0].weight, 0.8743885f, 1e-6);
  EXPECT_NEAR(out[1].weight, 1.6256115f, 1e-6);

  // Softmax routers with a bias (ERNIE-4.5): same rule. softmax(0, 0) = 0.5 each; the bias picks
  // expert 1 although the scores tie, and the weight stays the unbiased 0.5 (no renormalisation).
  RouterConfig s = softmax_config(2, 1, false);
  const auto one = route(s, {0, 0}, {0, 0.1f});
  EXPECT_EQ(one[0].expert, 1);
  EXPECT_NEAR(one[0].weight, 0.5f, 1e-7);
}

TEST(RouteToken, GroupLimitedSelectionKeepsTheBestGroupsByTopTwoSum) {
  // 8 experts in 4 groups of 2; all logits 0 (sigmoid 0.5), so the bias sets the selection scores
  // 0.5 + b: group sums of the top two are g0 = 1.4 + 0.5 = 1.9, g1 = 1.1 + 1.1 = 2.2,
  // g2 = 1.2 + 0.6 = 1.8, g3 = 0.7 + 0.7 = 1.4. Keeping 2 groups leaves g1 and g0 (experts 0..3):
  // expert 0 (1.4) and then expert 2 (1.1, tied with 3: lower index). Without groups the choice
  // would be experts 0 and 4 (1.2).
  RouterConfig c;
  c.scoring = RouterScoring::kSigmoid;
  c.n_experts = 8;
  c.top_k = 2;
  c.norm_topk_prob = true;
  c.n_group = 4;
  c.topk_group = 2;
  const std::vector<float> logits(8, 0.0f);
  const std::vector<float> bias = {0.9f, 0.0f, 0.6f, 0.6f, 0.7f, 0.1f, 0.2f, 0.2f};
  const auto grouped = route(c, logits, bias);
  EXPECT_EQ(grouped[0].expert, 0);
  EXPECT_EQ(grouped[1].expert, 2);
  EXPECT_NEAR(grouped[0].weight, 0.5f, 1e-7);
  EXPECT_NEAR(grouped[1].weight, 0.5f, 1e-7);

  c.n_group = 1;
  c.topk_group = 1;
  const auto flat = route(c, logits, bias);
  EXPECT_EQ(flat[0].expert, 0);
  EXPECT_EQ(flat[1].expert, 4);
}

// ----------------------------------------------------------------------------- moe_ffn

// Tensors held in memory, named like a WeightSource's canonical names.
class MemorySource final : public WeightSource {
 public:
  void add_f32(const std::string& name, std::vector<int64_t> shape, const std::vector<float>& values) {
    add_bytes(name, DType::F32, std::move(shape), values.data(), values.size() * sizeof(float));
  }
  // Rows of `cols` floats quantized to Q8_0 (ggml block_q8_0).
  void add_q8_0(const std::string& name, std::vector<int64_t> shape, const std::vector<float>& values) {
    const int64_t cols = shape.back();
    const size_t row = *row_bytes(DType::Q8_0, cols);
    const size_t rows = values.size() / static_cast<size_t>(cols);
    std::vector<uint8_t> bytes(row * rows);
    for (size_t r = 0; r < rows; ++r)
      EXPECT_TRUE(quant::quantize_row(DType::Q8_0, &values[r * cols], &bytes[r * row], cols));
    add_bytes(name, DType::Q8_0, std::move(shape), bytes.data(), bytes.size());
  }
  void add_bytes(const std::string& name, DType type, std::vector<int64_t> shape, const void* data, size_t n) {
    buffers_.emplace_back(static_cast<const uint8_t*>(data), static_cast<const uint8_t*>(data) + n);
    views_.push_back(TensorView{name, type, std::move(shape), buffers_.back().data(), n});
  }
  const TensorView* find(std::string_view name) const override {
    for (const TensorView& v : views_)
      if (v.name == name) return &v;
    return nullptr;
  }
  const std::vector<TensorView>& tensors() const override { return views_; }
  std::string format_name() const override { return "memory"; }

 private:
  std::deque<std::vector<uint8_t>> buffers_;
  std::vector<TensorView> views_;
};

std::vector<float> random_values(std::mt19937& rng, size_t n, float scale) {
  std::normal_distribution<float> dist(0.0f, scale);
  std::vector<float> v(n);
  for (float& x : v) x = dist(rng);
  return v;
}

// y[o] = sum_i W[o, i] x[i] with W dequantized row by row (the weights as the file holds them).
std::vector<float> naive_matvec(const TensorView& w, const float* x) {
  const int64_t rows = w.rows(), cols = w.cols();
  std::vector<float> row(static_cast<size_t>(cols)), y(static_cast<size_t>(rows));
  for (int64_t r = 0; r < rows; ++r) {
    EXPECT_TRUE(quant::dequantize_row(w.dtype, w.data + r * w.row_stride(), row.data(), cols));
    double s = 0;
    for (int64_t i = 0; i < cols; ++i) s += static_cast<double>(row[i]) * x[i];
    y[r] = static_cast<float>(s);
  }
  return y;
}

std::vector<float> naive_mlp(const TensorView& gate, const TensorView& up, const TensorView& down, const float* x) {
  std::vector<float> g = naive_matvec(gate, x);
  const std::vector<float> u = naive_matvec(up, x);
  for (size_t i = 0; i < g.size(); ++i) g[i] = g[i] / (1.0f + std::exp(-g[i])) * u[i];
  return naive_matvec(down, g.data());
}

// One token at a time: route, run each chosen expert, add the shared expert.
std::vector<float> naive_moe(const MoeWeights& w, const RouterConfig& c, const std::vector<float>& x, int64_t n) {
  const int64_t d = w.d_model();
  std::vector<float> out(static_cast<size_t>(n * d), 0.0f);
  for (int64_t t = 0; t < n; ++t) {
    const float* xt = &x[t * d];
    const std::vector<float> logits = naive_matvec(*w.router, xt);
    std::vector<ExpertChoice> choice(static_cast<size_t>(c.top_k));
    route_token(c, logits.data(), w.selection_bias.empty() ? nullptr : w.selection_bias.data(), choice.data());
    for (const ExpertChoice& ch : choice) {
      const std::vector<float> y = naive_mlp(w.gate[ch.expert], w.up[ch.expert], w.down[ch.expert], xt);
      for (int64_t j = 0; j < d; ++j) out[t * d + j] += ch.weight * y[j];
    }
    if (w.shexp_gate != nullptr) {
      const std::vector<float> y = naive_mlp(*w.shexp_gate, *w.shexp_up, *w.shexp_down, xt);
      for (int64_t j = 0; j < d; ++j) out[t * d + j] += y[j];
    }
  }
  return out;
}

constexpr int64_t kExperts = 6, kModel = 64, kFf = 32, kShared = 48, kLayer = 3;

// Layer kLayer of a small MoE: router, bias, shared expert; experts stacked (Q8_0, GGUF layout)
// or one F32 tensor per expert (HF layout), holding the same values.
MemorySource make_source(bool stacked) {
  std::mt19937 rng(7);
  MemorySource src;
  const std::string p = "blk." + std::to_string(kLayer) + ".";
  src.add_f32(p + "ffn_gate_inp.weight", {kExperts, kModel}, random_values(rng, kExperts * kModel, 0.5f));
  src.add_f32(p + "exp_probs_b.bias", {1, kExperts}, random_values(rng, kExperts, 0.1f));
  for (const char* proj : {"ffn_gate", "ffn_up", "ffn_down"}) {
    const bool down = std::string(proj) == "ffn_down";
    const int64_t rows = down ? kModel : kFf, cols = down ? kFf : kModel;
    const std::vector<float> all = random_values(rng, kExperts * rows * cols, 0.2f);
    if (stacked) {
      src.add_q8_0(p + proj + "_exps.weight", {kExperts, rows, cols}, all);
    } else {
      for (int64_t e = 0; e < kExperts; ++e)
        src.add_f32(p + proj + "." + std::to_string(e) + ".weight", {rows, cols},
                    std::vector<float>(all.begin() + e * rows * cols, all.begin() + (e + 1) * rows * cols));
    }
  }
  src.add_f32(p + "ffn_gate_shexp.weight", {kShared, kModel}, random_values(rng, kShared * kModel, 0.2f));
  src.add_f32(p + "ffn_up_shexp.weight", {kShared, kModel}, random_values(rng, kShared * kModel, 0.2f));
  src.add_f32(p + "ffn_down_shexp.weight", {kModel, kShared}, random_values(rng, kModel * kShared, 0.2f));
  return src;
}

void expect_batched_equals_naive(const MoeWeights& w, const RouterConfig& c) {
  std::mt19937 rng(11);
  const int64_t n = 13;  // more tokens than experts: most experts serve several tokens
  const std::vector<float> x = random_values(rng, n * kModel, 1.0f);
  std::vector<float> out(static_cast<size_t>(n * kModel));
  MoeScratch scratch;
  ASSERT_TRUE(moe_ffn(w, c, x.data(), n, out.data(), scratch).is_ok());
  const std::vector<float> expected = naive_moe(w, c, x, n);
  float max_abs = 0, max_diff = 0;
  for (size_t i = 0; i < out.size(); ++i) {
    max_abs = std::max(max_abs, std::fabs(expected[i]));
    max_diff = std::max(max_diff, std::fabs(out[i] - expected[i]));
  }
  EXPECT_GT(max_abs, 0.1f);
  EXPECT_LE(max_diff, 1e-5f * max_abs);

  // A second, shorter call reuses the scratch and must not see the first call's tokens.
  ASSERT_TRUE(moe_ffn(w, c, x.data(), 1, out.data(), scratch).is_ok());
  for (int64_t j = 0; j < kModel; ++j) EXPECT_NEAR(out[j], expected[j], 1e-5f * max_abs);
}

RouterConfig test_config(RouterScoring scoring) {
  RouterConfig c;
  c.scoring = scoring;
  c.n_experts = kExperts;
  c.top_k = 2;
  c.norm_topk_prob = true;
  c.routed_scaling_factor = 1.5f;
  return c;
}

// The naive loop multiplies f32 activations with the exactly dequantized weights, as the
// reference kernels do (the fast Q8_0 kernels quantize activations: tests/kernels compare those).
class MoeFfn : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(kernels::set_isa_for_testing(kernels::Isa::kScalar)); }
};

TEST_F(MoeFfn, StackedQuantizedExpertsMatchTheNaiveLoop) {
  const MemorySource src = make_source(/*stacked=*/true);
  auto w = bind_moe_weights(src, kLayer, kExperts, kModel, kFf, 0);
  ASSERT_TRUE(w.is_ok()) << w.status().message();
  ASSERT_EQ(w->n_experts(), kExperts);
  EXPECT_EQ(w->d_ff_shexp(), kShared);
  EXPECT_EQ(w->selection_bias.size(), static_cast<size_t>(kExperts));
  // Expert views are slices of the stacked tensor, not copies.
  const TensorView* stack = src.find("blk.3.ffn_up_exps.weight");
  EXPECT_EQ(w->up[4].data, stack->data + 4 * w->up[4].nbytes);
  expect_batched_equals_naive(*w, test_config(RouterScoring::kSoftmax));
  expect_batched_equals_naive(*w, test_config(RouterScoring::kSigmoid));
}

TEST_F(MoeFfn, PerExpertTensorsMatchTheNaiveLoop) {
  const MemorySource src = make_source(/*stacked=*/false);
  auto w = bind_moe_weights(src, kLayer, kExperts, kModel, kFf, 0);
  ASSERT_TRUE(w.is_ok()) << w.status().message();
  RouterConfig grouped = test_config(RouterScoring::kSigmoid);
  grouped.n_group = 3;
  grouped.topk_group = 2;
  expect_batched_equals_naive(*w, grouped);
  RouterConfig top3 = test_config(RouterScoring::kSoftmax);
  top3.top_k = 3;
  top3.norm_topk_prob = false;
  expect_batched_equals_naive(*w, top3);
}

// On the fast kernel paths the experts' Q8_0 matmuls quantize their activations (and, from a few
// tokens per expert on, run packed on the fly): the batch stays within quantization error of the
// naive f32 loop, over a batch large enough that experts run in parallel and are packed.
TEST(MoeFfnFastPaths, StayWithinQuantizationErrorOfTheNaiveLoop) {
  const MemorySource src = make_source(/*stacked=*/true);
  auto w = bind_moe_weights(src, kLayer, kExperts, kModel, kFf, 0);
  ASSERT_TRUE(w.is_ok()) << w.status().message();
  const RouterConfig c = test_config(RouterScoring::kSoftmax);
  std::mt19937 rng(23);
  const int64_t n = 40;
  const std::vector<float> x = random_values(rng, n * kModel, 1.0f);
  ASSERT_TRUE(kernels::set_isa_for_testing(kernels::Isa::kScalar));
  const std::vector<float> expected = naive_moe(*w, c, x, n);
  for (kernels::Isa isa : {kernels::Isa::kAvx2, kernels::Isa::kAvx512, kernels::Isa::kAmx}) {
    if (!kernels::set_isa_for_testing(isa)) continue;
    std::vector<float> out(static_cast<size_t>(n * kModel));
    MoeScratch scratch;
    ASSERT_TRUE(moe_ffn(*w, c, x.data(), n, out.data(), scratch).is_ok());
    float max_abs = 0, max_diff = 0;
    for (size_t i = 0; i < out.size(); ++i) {
      max_abs = std::max(max_abs, std::fabs(expected[i]));
      max_diff = std::max(max_diff, std::fabs(out[i] - expected[i]));
    }
    EXPECT_GT(max_abs, 0.1f);
    EXPECT_LE(max_diff, 2e-2f * max_abs) << kernels::isa_name(isa);
    // Token by token (one expert row at a time, never packed) agrees with the batch to the same error.
    for (int64_t t = 0; t < n; t += 7) {
      std::vector<float> one(static_cast<size_t>(kModel));
      ASSERT_TRUE(moe_ffn(*w, c, &x[t * kModel], 1, one.data(), scratch).is_ok());
      for (int64_t j = 0; j < kModel; ++j) EXPECT_NEAR(one[j], out[t * kModel + j], 2e-2f * max_abs);
    }
  }
  kernels::set_isa_for_testing(kernels::active_isa());
}

TEST_F(MoeFfn, BindingErrorsNameTheTensor) {
  const MemorySource src = make_source(/*stacked=*/true);
  auto wrong_ff = bind_moe_weights(src, kLayer, kExperts, kModel, kFf + 1, 0);
  ASSERT_FALSE(wrong_ff.is_ok());
  EXPECT_NE(wrong_ff.status().message().find("blk.3.ffn_gate_exps.weight"), std::string::npos)
      << wrong_ff.status().message();
  auto wrong_count = bind_moe_weights(src, kLayer, kExperts + 2, kModel, kFf, 0);
  ASSERT_FALSE(wrong_count.is_ok());
  EXPECT_NE(wrong_count.status().message().find("ffn_gate_inp"), std::string::npos);
  auto wrong_shared = bind_moe_weights(src, kLayer, kExperts, kModel, kFf, kShared + 1);
  ASSERT_FALSE(wrong_shared.is_ok());
  EXPECT_NE(wrong_shared.status().message().find("ffn_gate_shexp"), std::string::npos);
  auto missing = bind_moe_weights(src, kLayer + 1, kExperts, kModel, kFf, 0);
  ASSERT_FALSE(missing.is_ok());
  EXPECT_NE(missing.status().message().find("blk.4.ffn_gate_inp.weight"), std::string::npos);
}

TEST_F(MoeFfn, ConfigThatDoesNotFitTheWeightsIsAnError) {
  const MemorySource src = make_source(/*stacked=*/true);
  auto w = bind_moe_weights(src, kLayer, kExperts, kModel, kFf, 0);
  ASSERT_TRUE(w.is_ok());
  std::vector<float> x(kModel, 1.0f), out(kModel);
  MoeScratch scratch;
  RouterConfig c = test_config(RouterScoring::kSoftmax);
  c.top_k = kExperts + 1;
  EXPECT_FALSE(moe_ffn(*w, c, x.data(), 1, out.data(), scratch).is_ok());
  c = test_config(RouterScoring::kSoftmax);
  c.n_experts = kExperts - 1;
  EXPECT_FALSE(moe_ffn(*w, c, x.data(), 1, out.data(), scratch).is_ok());
  c = test_config(RouterScoring::kSigmoid);
  c.n_group = 4;  // 6 experts do not split into 4 groups
  EXPECT_FALSE(moe_ffn(*w, c, x.data(), 1, out.data(), scratch).is_ok());
}

}  // namespace
}  // namespace kaiyuan
