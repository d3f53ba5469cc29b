// The dense architecture fixtures on every fast kernel path this CPU supports (AVX2, AVX-512, AMX).
// Quantized GGUFs quantize their activations on the fly there, as llama.cpp does, so they are held
// to the floors against llama.cpp's same-type logits (../shared/fixtures/arch/README.md table: top-1
// agreement and max|diff| relative to max|logit|); F32 and HF BF16 forms keep f32 activations and
// the exact 1e-4 x max|logit| tolerance against the float64 reference.
#include <gtest/gtest.h>

#include <filesystem>
#include <string>

#include "kernels/kernel_table.h"
#include "model_goldens.h"
#include "test_support.h"

namespace kaiyuan::test {
namespace {

struct FastForm {
  kernels::Isa isa;
  std::string arch;    // fixture folder
  std::string model;   // "hf", "model-f32.gguf", "model-q8_0.gguf", ...
  std::string golden;  // "reference" or "llamacpp/q8_0"
  float min_top1;      // fraction of positions whose argmax equals the golden's (1 = exact mode)
  float rel;           // max|diff| <= rel x max|golden logit|
};

// README floors (Q8_0 ; Q4_K_M) for the dense families.
struct Floors {
  const char* arch;
  float q8_top1, q8_rel, q4_top1, q4_rel;
};
constexpr Floors kFloors[] = {{"qwen3", 0.91f, 0.03f, 0.95f, 0.04f},
                              {"qwen2", 0.91f, 0.04f, 0.90f, 0.06f},
                              {"llama3", 0.91f, 0.03f, 0.93f, 0.04f},
                              {"seed_oss", 0.95f, 0.03f, 0.95f, 0.04f}};

std::vector<FastForm> forms() {
  std::vector<FastForm> out;
  for (kernels::Isa isa : {kernels::Isa::kAvx2, kernels::Isa::kAvx512, kernels::Isa::kAmx}) {
    if (!kernels::cpu_supports(isa)) continue;
    for (const Floors& f : kFloors) {
      const std::string dir = fixture_path(std::string("arch/") + f.arch);
      out.push_back({isa, f.arch, "hf", "reference", 1.0f, 1e-4f});
      if (std::filesystem::exists(dir + "/model-f32.gguf")) out.push_back({isa, f.arch, "model-f32.gguf", "reference", 1.0f, 1e-4f});
      out.push_back({isa, f.arch, "model-q8_0.gguf", "llamacpp/q8_0", f.q8_top1, f.q8_rel});
      out.push_back({isa, f.arch, "model-q4_k_m.gguf", "llamacpp/q4_k_m", f.q4_top1, f.q4_rel});
    }
  }
  return out;
}

void PrintTo(const FastForm& f, std::ostream* os) { *os << kernels::isa_name(f.isa) << " " << f.arch << "/" << f.model; }

class FastPath : public ::testing::TestWithParam<FastForm> {
 protected:
  void TearDown() override { kernels::set_isa_for_testing(kernels::active_isa()); }
};

TEST_P(FastPath, LogitsMeetFixtureTolerances) {
  const FastForm& f = GetParam();
  ASSERT_TRUE(kernels::set_isa_for_testing(f.isa));
  const std::string dir = fixture_path("arch/" + f.arch);
  auto loaded = load_model(dir + "/" + f.model);
  ASSERT_TRUE(loaded.is_ok()) << loaded.status().message();
  Model& model = *loaded->model;
  const int64_t n_vocab = model.spec().n_vocab;

  const auto prompts = read_json(dir + "/prompts.json")["prompts"];
  int64_t positions = 0, agree = 0;
  for (size_t i = 0; i < prompts.size(); ++i) {
    const auto ids = prompts[i].get<std::vector<int32_t>>();
    const NpyArray golden = read_npy(dir + "/" + f.golden + "/logits_" + std::to_string(i) + ".npy");
    ASSERT_EQ(golden.shape, (std::vector<int64_t>{static_cast<int64_t>(ids.size()), n_vocab}));
    const std::vector<float> logits = forward_all(model, ids);
    EXPECT_LE(max_abs_diff(logits, golden.data), f.rel * max_abs(golden.data)) << "prompt " << i;
    for (size_t p = 0; p < ids.size(); ++p, ++positions)
      agree += argmax(&logits[p * n_vocab], n_vocab) == argmax(&golden.data[p * n_vocab], n_vocab);
  }
  const double top1 = static_cast<double>(agree) / static_cast<double>(positions);
  if (f.min_top1 >= 1.0f) {
    // exact mode: near-tied positions may flip inside the tolerance; the logits bound above rules
    RecordProperty("top1", std::to_string(top1));
  } else {
    EXPECT_GE(top1, f.min_top1) << agree << " of " << positions << " positions";
  }
}

INSTANTIATE_TEST_SUITE_P(Fixtures, FastPath, ::testing::ValuesIn(forms()), [](const auto& info) {
  std::string name = std::string(kernels::isa_name(info.param.isa)) + "_" + info.param.arch + "_" + info.param.model;
  for (char& c : name)
    if (!std::isalnum(static_cast<unsigned char>(c))) c = '_';
  return name;
});
GTEST_ALLOW_UNINSTANTIATED_PARAMETERIZED_TEST(FastPath);

}  // namespace
}  // namespace kaiyuan::test
