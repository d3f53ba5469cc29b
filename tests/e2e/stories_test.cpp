// stories260K (a real trained tiny Llama) in GGUF and HF form: prompt tokens, 64 greedy tokens and
// their text for every golden prompt, and the first-8-position logits (float64 reference, atol 1e-4).
#include <gtest/gtest.h>

#include "model_goldens.h"
#include "runtime/session.h"
#include "test_support.h"

namespace kaiyuan::test {
namespace {

class Stories : public ::testing::TestWithParam<std::string> {};

std::string model_path(const std::string& form) {
  return fixture_path(form == "gguf" ? "stories260K/stories260K.gguf" : "stories260K/hf");
}

TEST_P(Stories, GreedyContinuationsMatchGolden) {
  auto session = Session::open(model_path(GetParam()), {});
  ASSERT_TRUE(session.is_ok()) << session.status().message();
  const auto golden = read_json(fixture_path("stories260K/golden_greedy.json"));
  ASSERT_FALSE(golden["prompts"].empty());
  for (const auto& p : golden["prompts"]) {
    const std::string prompt = p["prompt"];
    const auto prompt_ids = (*session)->tokenize_prompt(prompt);
    EXPECT_EQ(prompt_ids, p["prompt_tokens"].get<std::vector<int32_t>>()) << prompt;
    GenerateOptions go;
    go.max_new_tokens = p["n_new"].get<int32_t>();
    go.sampling.temperature = 0.0f;
    std::string streamed;
    auto gen = (*session)->generate(p["prompt_tokens"].get<std::vector<int32_t>>(), go, [&](const std::string& t) {
      streamed += t;
      return true;
    });
    ASSERT_TRUE(gen.is_ok()) << gen.status().message();
    EXPECT_EQ(gen->ids, p["new_tokens"].get<std::vector<int32_t>>()) << prompt;
    EXPECT_EQ(gen->text, p["new_text"].get<std::string>()) << prompt;
    EXPECT_EQ(streamed, gen->text);
  }
}

TEST_P(Stories, FirstEightLogitsMatchReference) {
  auto loaded = load_model(model_path(GetParam()));
  ASSERT_TRUE(loaded.is_ok()) << loaded.status().message();
  const auto meta = read_json(fixture_path("stories260K/golden_logits_first8.json"));
  const NpyArray golden = read_npy(fixture_path("stories260K/golden_logits_first8.npy"));
  const auto ids = meta["tokens"].get<std::vector<int32_t>>();
  ASSERT_EQ(golden.shape, (std::vector<int64_t>{8, 512}));
  const std::vector<float> logits = forward_all(*loaded->model, ids);
  EXPECT_LE(max_abs_diff(logits, golden.data), 1e-4f);
}

// Incremental decoding must agree with one big batch: the KV cache path against the batch path.
TEST_P(Stories, DecodeStepByStepEqualsBatch) {
  auto loaded = load_model(model_path(GetParam()));
  ASSERT_TRUE(loaded.is_ok());
  Model& model = *loaded->model;
  const std::vector<int32_t> ids = {1, 403, 407, 261, 378, 432, 383, 286};
  const std::vector<float> all = forward_all(model, ids);
  auto cache = model.create_cache(16, 2);
  ASSERT_TRUE(cache.is_ok());
  std::vector<float> logits;
  for (size_t i = 0; i < ids.size(); ++i) {
    Batch b;
    b.add(ids[i], static_cast<int32_t>(i), 1, true);  // slot 1: slots are independent
    ASSERT_TRUE(model.forward(b, *cache, logits).is_ok());
    std::vector<float> row(all.begin() + i * 512, all.begin() + (i + 1) * 512);
    EXPECT_LE(max_abs_diff(logits, row), 1e-5f) << "position " << i;
  }
}

TEST_P(Stories, BadBatchesAreRejected) {
  auto loaded = load_model(model_path(GetParam()));
  ASSERT_TRUE(loaded.is_ok());
  auto cache = loaded->model->create_cache(4, 1);
  ASSERT_TRUE(cache.is_ok());
  std::vector<float> logits;
  Batch b;
  b.add(512, 0, 0, true);
  Status st = loaded->model->forward(b, *cache, logits);
  EXPECT_NE(st.message().find("outside the vocabulary"), std::string::npos) << st.message();
  b.clear();
  b.add(5, 4, 0, true);
  st = loaded->model->forward(b, *cache, logits);
  EXPECT_NE(st.message().find("exceeds the context size"), std::string::npos) << st.message();
  b.clear();
  b.add(5, 0, 1, true);
  st = loaded->model->forward(b, *cache, logits);
  EXPECT_NE(st.message().find("slot"), std::string::npos) << st.message();
}

INSTANTIATE_TEST_SUITE_P(Forms, Stories, ::testing::Values("gguf", "hf"));

}  // namespace
}  // namespace kaiyuan::test
