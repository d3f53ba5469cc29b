// The CLI contract: `run`, `eval`, `inspect` and `bench` as users and the acceptance checks drive them.
#include <gtest/gtest.h>

#include "test_support.h"

namespace kaiyuan::test {
namespace {

std::string bin() { return kaiyuan_binary(); }
std::string stories_gguf() { return fixture_path("stories260K/stories260K.gguf"); }

TEST(Cli, RunPrintsGoldenContinuation) {
  const auto golden = read_json(fixture_path("stories260K/golden_greedy.json"))["prompts"][0];
  auto r = run_command(bin() + " run '" + stories_gguf() + "' -p '" + golden["prompt"].get<std::string>() +
                       "' -n 64 --temp 0 2>/dev/null");
  ASSERT_EQ(r.exit_code, 0) << r.out;
  EXPECT_EQ(r.out, golden["new_text"].get<std::string>() + "\n");
}

TEST(Cli, RunJsonHasPromptIdsIdsAndText) {
  const auto golden = read_json(fixture_path("stories260K/golden_greedy.json"))["prompts"][0];
  auto r = run_command(bin() + " run '" + fixture_path("stories260K/hf") + "' -p '" +
                       golden["prompt"].get<std::string>() + "' -n 64 --temp 0 --json");
  ASSERT_EQ(r.exit_code, 0) << r.out;
  const auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["prompt_ids"], golden["prompt_tokens"]);
  EXPECT_EQ(j["ids"], golden["new_tokens"]);
  EXPECT_EQ(j["text"], golden["new_text"]);
}

TEST(Cli, RunWithPromptIdsAndSeedIsReproducible) {
  const std::string cmd = bin() + " run '" + stories_gguf() + "' --prompt-ids 1,403,407 -n 20 --temp 0.9 --seed 7 --json";
  auto a = run_command(cmd);
  auto b = run_command(cmd);
  ASSERT_EQ(a.exit_code, 0) << a.out;
  EXPECT_EQ(a.out, b.out);
  EXPECT_EQ(nlohmann::json::parse(a.out)["ids"].size(), 20u);
}

TEST(Cli, EvalWritesNpyLogits) {
  const std::string out = temp_dir() + "/logits.npy";
  auto r = run_command(bin() + " eval '" + stories_gguf() + "' --prompt-ids 1,403,407,261,378,432,383,286 --logits '" +
                       out + "' 2>&1");
  ASSERT_EQ(r.exit_code, 0) << r.out;
  const NpyArray ours = read_npy(out);
  const NpyArray golden = read_npy(fixture_path("stories260K/golden_logits_first8.npy"));
  ASSERT_EQ(ours.shape, golden.shape);
  float m = 0;
  for (size_t i = 0; i < ours.data.size(); ++i) m = std::max(m, std::fabs(ours.data[i] - golden.data[i]));
  EXPECT_LE(m, 1e-4f);
}

TEST(Cli, InspectWorksOnEveryFixtureModel) {
  std::vector<std::string> models = {"stories260K/stories260K.gguf", "stories260K/hf"};
  for (const char* arch : {"qwen3", "qwen2", "llama3", "seed_oss", "qwen3moe", "deepseek_v3", "glm4_moe",
                           "ernie4_5_moe", "hunyuan_moe", "minimax_m2"}) {
    models.push_back(std::string("arch/") + arch + "/hf");
    models.push_back(std::string("arch/") + arch + "/model-q8_0.gguf");
    models.push_back(std::string("arch/") + arch + "/model-q4_k_m.gguf");
  }
  for (const auto& m : models) {
    auto r = run_command(bin() + " inspect '" + fixture_path(m) + "' 2>&1");
    EXPECT_EQ(r.exit_code, 0) << m << ": " << r.out;
    EXPECT_NE(r.out.find("architecture:"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("parameters:"), std::string::npos) << r.out;
  }
  auto r = run_command(bin() + " inspect '" + fixture_path("arch/qwen3/model-q4_k_m.gguf") + "'");
  EXPECT_NE(r.out.find("q4_K"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("q6_K"), std::string::npos) << r.out;
}

TEST(Cli, BenchJsonHasOneLinePerTestWithParallelDecode) {
  auto r = run_command(bin() + " bench '" + stories_gguf() + "' -p 8 -n 4 -r 1 --parallel 3 --json");
  ASSERT_EQ(r.exit_code, 0) << r.out;
  std::vector<nlohmann::json> lines;
  size_t start = 0;
  for (size_t end; (end = r.out.find('\n', start)) != std::string::npos; start = end + 1)
    lines.push_back(nlohmann::json::parse(r.out.substr(start, end - start)));
  ASSERT_EQ(lines.size(), 3u) << r.out;
  const std::pair<const char*, int> expected[] = {{"pp8", 1}, {"tg4", 1}, {"tg4x3", 3}};
  for (size_t i = 0; i < 3; ++i) {
    EXPECT_EQ(lines[i]["test"], expected[i].first) << r.out;
    EXPECT_EQ(lines[i]["sequences"], expected[i].second) << r.out;
    EXPECT_GT(lines[i]["tokens_per_s"].get<double>(), 0.0) << r.out;
  }
}

TEST(Cli, ErrorsAreClearAndNeverCrash) {
  struct Case {
    std::string args, expect;
  };
  const std::vector<Case> cases = {
      {"run /nonexistent.gguf -p hi", "no such file"},
      {"run '" + stories_gguf() + "' --prompt-ids 1,x,3", "not a non-negative integer"},
      {"run '" + stories_gguf() + "' --prompt-ids 1,99999", "outside the vocabulary"},
      {"run '" + stories_gguf() + "' -p hi -c 2 -n 4", "context"},
      {"run '" + stories_gguf() + "' -p hi --top-p 7", "top_p"},
      {"eval '" + stories_gguf() + "' --prompt-ids 1,2 --logits /nonexistent-dir/x.npy", "cannot create"},
      {"inspect '" + fixture_path("stories260K/tok512.bin") + "'", "magic"},
      {"bench '" + stories_gguf() + "' --parallel 0", "parallel"},
  };
  for (const Case& c : cases) {
    auto r = run_command(bin() + " " + c.args + " 2>&1");
    EXPECT_NE(r.exit_code, 0) << c.args;
    EXPECT_LT(r.exit_code, 128) << c.args << " crashed: " << r.out;
    EXPECT_NE(r.out.find(c.expect), std::string::npos) << c.args << " -> " << r.out;
  }
}

}  // namespace
}  // namespace kaiyuan::test
