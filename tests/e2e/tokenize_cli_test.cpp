// `kaiyuan tokenize` / `kaiyuan detokenize` run as a user would, against the tokenizer goldens
// (sentencepiece library, Python transformers, transformers.js).
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "support/test_support.h"

namespace kaiyuan {
namespace {

using test::fixture_path;

std::string quoted(const std::string& s) { return "'" + s + "'"; }

test::CommandResult kaiyuan(const std::string& args, const std::string& stdin_text) {
  return test::run_command(quoted(test::kaiyuan_binary()) + " " + args, stdin_text);
}

nlohmann::json tokenize_json(const std::string& path, const std::string& text, bool add_special) {
  const auto r = kaiyuan("tokenize " + quoted(path) + (add_special ? " --add-special" : "") + " --json", text);
  EXPECT_EQ(r.exit_code, 0) << text;
  // Exactly one line.
  EXPECT_TRUE(!r.out.empty() && r.out.back() == '\n' && r.out.find('\n') == r.out.size() - 1) << r.out;
  return nlohmann::json::parse(r.out, nullptr, /*allow_exceptions=*/false);
}

TEST(TokenizeCli, GgufVocabMatchesTransformers) {
  const std::string path = fixture_path("gguf_vocab/ggml-vocab-llama-spm.gguf");
  const auto golden = test::read_jsonl(fixture_path("gguf_vocab/ggml-vocab-llama-spm.golden.jsonl"));
  for (size_t i = 0; i < golden.size(); i += 4) {  // every 4th string keeps the test quick
    const auto& g = golden[i];
    const nlohmann::json j = tokenize_json(path, g["text"], false);
    ASSERT_TRUE(j.is_object()) << g["text"];
    EXPECT_EQ(j["ids"], g["ids"]) << g["text"];
    EXPECT_EQ(j["tokens"].size(), g["ids"].size());
  }
}

TEST(TokenizeCli, TokenizerModelFolderMatchesSentencepiece) {
  const std::string path = fixture_path("stories260K/hf");
  int n = 0;
  for (const auto& g : test::read_jsonl(fixture_path("stories260K/tok512_sentencepiece.jsonl"))) {
    if (n++ % 3 != 0) continue;  // a third of them keeps the test quick
    const nlohmann::json j = tokenize_json(path, g["text"], false);
    ASSERT_TRUE(j.is_object()) << g["text"];
    EXPECT_EQ(j["ids"], g["ids"]) << g["text"];
    EXPECT_EQ(j["tokens"], g["pieces"]) << g["text"];
  }
}

TEST(TokenizeCli, AddSpecialAddsBos) {
  const auto golden = test::read_json(fixture_path("stories260K/golden_greedy.json"));
  const auto& first = golden["prompts"][0];  // "Once upon a time"
  for (const char* rel : {"stories260K/stories260K.gguf", "stories260K/hf"}) {
    const nlohmann::json with = tokenize_json(fixture_path(rel), first["prompt"], true);
    EXPECT_EQ(with["ids"], first["prompt_tokens"]) << rel;
    EXPECT_EQ(with["tokens"][0], "<s>");
    const nlohmann::json without = tokenize_json(fixture_path(rel), first["prompt"], false);
    ASSERT_EQ(without["ids"].size() + 1, first["prompt_tokens"].size());
  }
}

TEST(TokenizeCli, PlainOutputAndExactStdin) {
  // stdin is taken byte for byte: the trailing newline is a token (<0x0A> = 13).
  const auto r = kaiyuan("tokenize " + quoted(fixture_path("stories260K/stories260K.gguf")), "Hello world\n");
  ASSERT_EQ(r.exit_code, 0);
  EXPECT_EQ(r.out, "346\t\xE2\x96\x81He\n306\tll\n414\to\n263\t\xE2\x96\x81w\n304\tor\n341\tld\n13\t<0x0A>\n");
}

TEST(TokenizeCli, ByteLevelBpeFolder) {
  const std::string path = fixture_path("tokenizers/llama3");
  const auto golden = test::read_jsonl(fixture_path("tokenizers/llama3/golden_encode.jsonl"));
  ASSERT_GT(golden.size(), 1u);
  const auto& g = golden[1];  // one run: loading the 128k vocabulary is slow in sanitizer builds
  const nlohmann::json j = tokenize_json(path, g["text"], false);
  ASSERT_TRUE(j.is_object());
  EXPECT_EQ(j["ids"], g["ids"]) << g["text"];
  EXPECT_EQ(j["tokens"], g["tokens"]) << g["text"];
}

TEST(TokenizeCli, DetokenizePrintsExactText) {
  const std::string path = fixture_path("stories260K/hf");
  const auto sp_golden = test::read_jsonl(fixture_path("stories260K/tok512_sentencepiece.jsonl"));
  for (size_t i = 0; i < sp_golden.size(); i += 2) {
    const auto& g = sp_golden[i];
    std::string ids;
    for (const auto& id : g["ids"]) ids += std::to_string(id.get<int>()) + (ids.size() % 3 ? "\n" : " ");
    const auto r = kaiyuan("detokenize " + quoted(path), ids);
    ASSERT_EQ(r.exit_code, 0) << ids;
    EXPECT_EQ(r.out, g["decoded"].get<std::string>());
  }
  const std::string gguf = fixture_path("gguf_vocab/ggml-vocab-llama-spm.gguf");
  const auto spm_golden = test::read_jsonl(fixture_path("gguf_vocab/ggml-vocab-llama-spm.golden.jsonl"));
  for (size_t i = 1; i < spm_golden.size(); i += 4) {
    const auto& g = spm_golden[i];
    std::string ids;
    for (const auto& id : g["ids"]) ids += std::to_string(id.get<int>()) + " ";
    const auto r = kaiyuan("detokenize " + quoted(gguf), ids);
    ASSERT_EQ(r.exit_code, 0);
    EXPECT_EQ(r.out, g["text"].get<std::string>());  // Llama 2's vocab round-trips these texts
  }
}

TEST(TokenizeCli, ErrorsExitNonZeroWithAMessage) {
  const std::string gguf = quoted(fixture_path("stories260K/stories260K.gguf"));
  struct Case {
    std::string args;
    std::string stdin_text;
    std::string message;  // expected in the output (stderr merged)
  };
  const std::vector<Case> cases = {
      {"tokenize /nonexistent/model.gguf", "hi", "/nonexistent/model.gguf"},
      {"detokenize /nonexistent/dir", "1 2", "/nonexistent/dir"},
      {"tokenize " + quoted(test::temp_dir()), "hi", "tokenizer"},
      {"detokenize " + gguf, "346 abc", "abc"},
      {"detokenize " + gguf, "346 512", "512"},
      {"detokenize " + gguf, "-1", "-1"},
      {"detokenize " + gguf, "99999999999999999999", "99999999999999999999"},
      {"tokenize " + quoted(fixture_path("stories260K/tok512.bin")), "hi", "tok512.bin"},
  };
  for (const Case& c : cases) {
    const auto r = kaiyuan(c.args + " 2>&1", c.stdin_text);
    EXPECT_TRUE(r.exit_code == 1 || r.exit_code == 2) << c.args << " -> " << r.exit_code << ": " << r.out;
    EXPECT_NE(r.out.find("error"), std::string::npos) << c.args << ": " << r.out;
    EXPECT_NE(r.out.find(c.message), std::string::npos) << c.args << ": " << r.out;
  }
  const auto no_path = kaiyuan("tokenize 2>/dev/null", "hi");
  EXPECT_EQ(no_path.exit_code, 2);
}

}  // namespace
}  // namespace kaiyuan
