// The DeepSeek-V3 architecture fixture (GGUF deepseek2: MLA, YaRN, sigmoid grouped router, shared
// expert, dense layer 0) in every form shipped: the HF BF16 folder against the float64 reference,
// quantized GGUFs against llama.cpp run on their exactly dequantized weights and, loosely, against
// llama.cpp's own quantized logits. Tolerances from ../shared/fixtures/arch/deepseek_v3/README.md.
#include <gtest/gtest.h>

#include "kernels/dispatch.h"
#include "kernels/kernel_table.h"
#include "model_goldens.h"
#include "test_support.h"

namespace kaiyuan::test {
namespace {

const std::string kDir = "arch/deepseek_v3";

struct Form {
  std::string model;       // "hf" or "model-q8_0.gguf" ...
  std::string golden;      // "reference" or "llamacpp/q8_0_deq"
  std::string greedy_key;  // "reference" or a golden.json type ("q8_0_deq")
};

void PrintTo(const Form& f, std::ostream* os) { *os << f.model; }

std::vector<std::vector<int32_t>> greedy_goldens(const Form& f, const std::string& dir) {
  std::vector<std::vector<int32_t>> out;
  const auto doc = read_json(dir + (f.greedy_key == "reference" ? "/reference/reference.json" : "/llamacpp/golden.json"));
  const auto& list = f.greedy_key == "reference" ? doc["prompts"] : doc["types"][f.greedy_key];
  for (const auto& p : list) out.push_back(p["greedy_ids"].get<std::vector<int32_t>>());
  return out;
}

std::vector<std::vector<int32_t>> prompts(const std::string& dir) {
  std::vector<std::vector<int32_t>> out;
  const auto doc = read_json(dir + "/prompts.json");  // kept alive while iterating into it
  for (const auto& p : doc["prompts"]) out.push_back(p.get<std::vector<int32_t>>());
  return out;
}

// The exact comparisons need f32 activations: the scalar path (fast paths quantize activations
// for quantized weights, as ggml does).
class MlaArch : public ::testing::TestWithParam<Form> {
 protected:
  void SetUp() override { ASSERT_TRUE(kernels::set_isa_for_testing(kernels::Isa::kScalar)); }
};

TEST_P(MlaArch, LogitsAndGreedyMatchGoldens) {
  const Form& f = GetParam();
  const std::string dir = fixture_path(kDir);
  auto loaded = load_model(dir + "/" + f.model);
  ASSERT_TRUE(loaded.is_ok()) << loaded.status().message();
  Model& model = *loaded->model;
  const int64_t n_vocab = model.spec().n_vocab;

  const auto ids_list = prompts(dir);
  const auto greedy_ids = greedy_goldens(f, dir);
  ASSERT_EQ(greedy_ids.size(), ids_list.size());
  for (size_t i = 0; i < ids_list.size(); ++i) {
    const auto& ids = ids_list[i];
    const NpyArray golden = read_npy(dir + "/" + f.golden + "/logits_" + std::to_string(i) + ".npy");
    ASSERT_EQ(golden.shape, (std::vector<int64_t>{static_cast<int64_t>(ids.size()), n_vocab}));
    const std::vector<float> logits = forward_all(model, ids);
    const float tol = 1e-4f * max_abs(golden.data);
    EXPECT_LE(max_abs_diff(logits, golden.data), tol) << f.model << " prompt " << i;

    // Greedy ids identical; a flip at a near-tie (our margin under 2 x tol) is allowed and ends
    // the comparison (fixtures README).
    const auto steps = greedy(model, ids, static_cast<int>(greedy_ids[i].size()));
    for (size_t s = 0; s < steps.size(); ++s) {
      if (steps[s].id == greedy_ids[i][s]) continue;
      EXPECT_LT(steps[s].margin, 2 * tol) << f.model << " prompt " << i << ": greedy step " << s << " gave "
                                          << steps[s].id << ", golden " << greedy_ids[i][s];
      break;
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Fixtures, MlaArch,
                         ::testing::Values(Form{"hf", "reference", "reference"},
                                           Form{"model-q8_0.gguf", "llamacpp/q8_0_deq", "q8_0_deq"},
                                           Form{"model-q4_k_m.gguf", "llamacpp/q4_k_m_deq", "q4_k_m_deq"}),
                         [](const auto& info) {
                           std::string name = info.param.model;
                           for (char& c : name)
                             if (!std::isalnum(static_cast<unsigned char>(c))) c = '_';
                           return name;
                         });

// llama.cpp's own quantized logits differ by its activation quantization (and flipped router
// choices), so only top-1 agreement over all positions is required: README floors 0.90 / 0.87.
// Checked with f32 activations (scalar) and on every fast path this CPU has (quantized activations).
class MlaArchSameType : public ::testing::TestWithParam<kernels::Isa> {};

TEST_P(MlaArchSameType, TopOneAgreesWithLlamaCppQuantizedLogits) {
  if (!kernels::cpu_supports(GetParam())) GTEST_SKIP() << "CPU lacks " << kernels::isa_name(GetParam());
  ASSERT_TRUE(kernels::set_isa_for_testing(GetParam()));
  const std::string dir = fixture_path(kDir);
  for (const auto& [type, floor] : {std::pair<std::string, double>{"q8_0", 0.90}, {"q4_k_m", 0.87}}) {
    auto loaded = load_model(dir + "/model-" + type + ".gguf");
    ASSERT_TRUE(loaded.is_ok()) << loaded.status().message();
    const int64_t n_vocab = loaded->model->spec().n_vocab;
    int64_t agree = 0, total = 0;
    const auto ids_list = prompts(dir);
    for (size_t i = 0; i < ids_list.size(); ++i) {
      const NpyArray golden = read_npy(dir + "/llamacpp/" + type + "/logits_" + std::to_string(i) + ".npy");
      const std::vector<float> logits = forward_all(*loaded->model, ids_list[i]);
      ASSERT_EQ(logits.size(), golden.data.size());
      for (size_t t = 0; t < ids_list[i].size(); ++t, ++total)
        agree += argmax(&logits[t * n_vocab], n_vocab) == argmax(&golden.data[t * n_vocab], n_vocab);
    }
    EXPECT_GE(static_cast<double>(agree) / static_cast<double>(total), floor)
        << type << " on " << kernels::isa_name(GetParam()) << ": " << agree << "/" << total;
  }
}

INSTANTIATE_TEST_SUITE_P(Isas, MlaArchSameType,
                         ::testing::Values(kernels::Isa::kScalar, kernels::Isa::kAvx2, kernels::Isa::kAvx512, kernels::Isa::kAmx),
                         [](const auto& info) { return std::string(kernels::isa_name(info.param)); });

// Decoding one token at a time (the cache holds only latents and k_pe) gives the logits of the
// one-batch forward pass; two sequences sharing a batch do not see each other.
TEST(MlaArchCache, StepByStepAndMixedBatchesEqualOneBatch) {
  ASSERT_TRUE(kernels::set_isa_for_testing(kernels::Isa::kScalar));
  const std::string dir = fixture_path(kDir);
  auto loaded = load_model(dir + "/hf");
  ASSERT_TRUE(loaded.is_ok()) << loaded.status().message();
  Model& model = *loaded->model;
  const int64_t n_vocab = model.spec().n_vocab;
  const auto ids_list = prompts(dir);
  const auto& a = ids_list[1];
  const auto& b = ids_list[0];
  const std::vector<float> full_a = forward_all(model, a);
  const std::vector<float> full_b = forward_all(model, b);
  const float tol = 1e-5f * max_abs(full_a);

  auto cache = model.create_cache(static_cast<int64_t>(a.size()), 2);
  ASSERT_TRUE(cache.is_ok()) << cache.status().message();
  // The MLA cache: per layer and position kv_lora_rank + qk_rope_head_dim floats, no V.
  EXPECT_EQ(cache->k_dim(), 256 + 64);
  EXPECT_EQ(cache->v_dim(), 0);
  std::vector<float> logits;
  for (size_t t = 0; t < a.size(); ++t) {
    Batch batch;
    batch.add(a[t], static_cast<int32_t>(t), 0, true);
    // Sequence b rides along in slot 1 while it lasts.
    if (t < b.size()) batch.add(b[t], static_cast<int32_t>(t), 1, true);
    ASSERT_TRUE(model.forward(batch, *cache, logits).is_ok());
    for (int64_t v = 0; v < n_vocab; ++v) {
      ASSERT_NEAR(logits[v], full_a[t * n_vocab + v], tol) << "sequence a, position " << t;
      if (t < b.size()) {
        ASSERT_NEAR(logits[n_vocab + v], full_b[t * n_vocab + v], tol) << "sequence b, position " << t;
      }
    }
  }
}

// A prompt longer than one chunk of MlaAttention::attend (64 tokens): chunks of the one-batch pass
// see a growing number of cached rows and mask their own future, and must give what decoding one
// token at a time gives (no masking, every row sees exactly its own past).
TEST(MlaArchCache, LongPromptInChunksEqualsStepByStep) {
  ASSERT_TRUE(kernels::set_isa_for_testing(kernels::Isa::kScalar));
  auto loaded = load_model(fixture_path(kDir) + "/hf");
  ASSERT_TRUE(loaded.is_ok()) << loaded.status().message();
  Model& model = *loaded->model;
  const int64_t n_vocab = model.spec().n_vocab;
  std::vector<int32_t> ids;
  for (int32_t i = 0; i < 150; ++i) ids.push_back(1 + (i * 37) % static_cast<int32_t>(n_vocab - 1));
  const std::vector<float> full = forward_all(model, ids);
  const float tol = 1e-5f * max_abs(full);

  auto cache = model.create_cache(static_cast<int64_t>(ids.size()), 1);
  ASSERT_TRUE(cache.is_ok()) << cache.status().message();
  std::vector<float> logits;
  for (size_t t = 0; t < ids.size(); ++t) {
    Batch batch;
    batch.add(ids[t], static_cast<int32_t>(t), 0, true);
    ASSERT_TRUE(model.forward(batch, *cache, logits).is_ok());
    for (int64_t v = 0; v < n_vocab; ++v) ASSERT_NEAR(logits[v], full[t * n_vocab + v], tol) << "position " << t;
  }
}

}  // namespace
}  // namespace kaiyuan::test
