// The dense (qwen3, qwen2, llama3, seed_oss) and mixture-of-experts (qwen3moe, glm4_moe, minimax_m2,
// ernie4_5_moe, hunyuan_moe) fixtures in every form shipped: the HF BF16 folder and F32 GGUF against
// the float64 reference, quantized GGUFs against llama.cpp run on their exactly dequantized weights.
// Tolerances from ../shared/fixtures/arch/README.md. DeepSeek (MLA) has its own arch_mla_test.cpp.
//
// The goldens are f32 arithmetic, so these tests run the scalar kernels: the fast Q8_0/K-quant
// kernels quantize activations as ggml does, which flips near-tied MoE router choices (fixtures
// README); arch_fast_path_test.cpp checks the fast paths against llama.cpp's same-type logits.
#include <gtest/gtest.h>

#include <filesystem>

#include "kernels/kernel_table.h"
#include "model_goldens.h"
#include "test_support.h"

namespace kaiyuan::test {
namespace {

struct Form {
  std::string arch;       // fixture folder
  std::string model;      // "hf" or "model-q8_0.gguf" ...
  std::string golden;     // "reference" or "llamacpp/q8_0_deq"
  std::string greedy_key; // "reference" or golden.json type ("q8_0_deq")
};

std::vector<Form> forms() {
  std::vector<Form> out;
  for (const char* arch : {"qwen3", "qwen2", "llama3", "seed_oss", "qwen3moe", "glm4_moe", "minimax_m2",
                           "ernie4_5_moe", "hunyuan_moe"}) {
    const std::string dir = fixture_path(std::string("arch/") + arch);
    out.push_back({arch, "hf", "reference", "reference"});
    if (std::filesystem::exists(dir + "/model-f32.gguf")) out.push_back({arch, "model-f32.gguf", "reference", "reference"});
    for (const char* q : {"q8_0", "q4_k_m"})
      out.push_back({arch, std::string("model-") + q + ".gguf", std::string("llamacpp/") + q + "_deq", std::string(q) + "_deq"});
  }
  return out;
}

void PrintTo(const Form& f, std::ostream* os) { *os << f.arch << "/" << f.model; }

class ArchGolden : public ::testing::TestWithParam<Form> {};

std::vector<std::vector<int32_t>> greedy_goldens(const Form& f, const std::string& dir) {
  std::vector<std::vector<int32_t>> out;
  // Keep the parsed document alive while iterating into it.
  const auto doc = read_json(dir + (f.greedy_key == "reference" ? "/reference/reference.json" : "/llamacpp/golden.json"));
  const auto& list = f.greedy_key == "reference" ? doc["prompts"] : doc["types"][f.greedy_key];
  for (const auto& p : list) out.push_back(p["greedy_ids"].get<std::vector<int32_t>>());
  return out;
}

TEST_P(ArchGolden, LogitsAndGreedyMatchGoldens) {
  const Form& f = GetParam();
  ASSERT_TRUE(kernels::set_isa_for_testing(kernels::Isa::kScalar));
  const std::string dir = fixture_path("arch/" + f.arch);
  auto loaded = load_model(dir + "/" + f.model);
  ASSERT_TRUE(loaded.is_ok()) << loaded.status().message();
  Model& model = *loaded->model;
  const int64_t n_vocab = model.spec().n_vocab;

  const auto prompts = read_json(dir + "/prompts.json")["prompts"];
  const auto greedy_ids = greedy_goldens(f, dir);
  ASSERT_EQ(greedy_ids.size(), prompts.size());
  for (size_t i = 0; i < prompts.size(); ++i) {
    const auto ids = prompts[i].get<std::vector<int32_t>>();
    const NpyArray golden = read_npy(dir + "/" + f.golden + "/logits_" + std::to_string(i) + ".npy");
    ASSERT_EQ(golden.shape, (std::vector<int64_t>{static_cast<int64_t>(ids.size()), n_vocab}));
    const std::vector<float> logits = forward_all(model, ids);
    const float tol = 1e-4f * max_abs(golden.data);
    EXPECT_LE(max_abs_diff(logits, golden.data), tol) << f.arch << " " << f.model << " prompt " << i;

    // Greedy ids identical; where a golden step is a near-tie (margin under 2 x tol) a flip
    // inside the tolerance is allowed and ends the comparison (fixtures README).
    const auto steps = greedy(model, ids, static_cast<int>(greedy_ids[i].size()));
    for (size_t s = 0; s < steps.size(); ++s) {
      if (steps[s].id == greedy_ids[i][s]) continue;
      EXPECT_LT(steps[s].margin, 2 * tol) << f.arch << " " << f.model << " prompt " << i << ": greedy step " << s
                                          << " gave " << steps[s].id << ", golden " << greedy_ids[i][s];
      break;
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Fixtures, ArchGolden, ::testing::ValuesIn(forms()), [](const auto& info) {
  std::string name = info.param.arch + "_" + info.param.model;
  for (char& c : name)
    if (!std::isalnum(static_cast<unsigned char>(c))) c = '_';
  return name;
});

}  // namespace
}  // namespace kaiyuan::test
