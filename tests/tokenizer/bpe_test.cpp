// Byte-level BPE against Hugging Face goldens: tokenizer.json folders (transformers.js encode and
// decode of every fixture string) and GGUF `gpt2` vocabs (Python transformers ids).
#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "format/gguf.h"
#include "support/test_support.h"
#include "tokenizer/bpe.h"

namespace kaiyuan {
namespace {

std::vector<int32_t> ids_of(const nlohmann::json& array) { return array.get<std::vector<int32_t>>(); }

std::unique_ptr<Tokenizer> load_json_tokenizer(const std::string& family) {
  auto tokenizer = load_bpe_from_tokenizer_json(test::fixture_path("tokenizers/" + family));
  EXPECT_TRUE(tokenizer.is_ok()) << tokenizer.status().message();
  return tokenizer.is_ok() ? std::move(tokenizer).value() : nullptr;
}

class BpeTokenizerJsonGolden : public ::testing::TestWithParam<std::string> {};

TEST_P(BpeTokenizerJsonGolden, EveryLineMatches) {
  auto tokenizer = load_json_tokenizer(GetParam());
  ASSERT_NE(tokenizer, nullptr);
  const auto lines = test::read_jsonl(test::fixture_path("tokenizers/" + GetParam() + "/golden_encode.jsonl"));
  ASSERT_FALSE(lines.empty());
  for (const auto& line : lines) {
    const std::string text = line["text"];
    SCOPED_TRACE(text);
    const std::vector<int32_t> ids = tokenizer->encode(text, {.add_special = false});
    EXPECT_EQ(ids, ids_of(line["ids"]));
    EXPECT_EQ(tokenizer->encode(text, {.add_special = true}), ids_of(line["ids_add_special"]));
    EXPECT_EQ(tokenizer->decode(ids_of(line["ids"]), false), line["decoded"].get<std::string>());
    const auto tokens = line["tokens"].get<std::vector<std::string>>();
    ASSERT_EQ(tokens.size(), line["ids"].size());
    for (size_t i = 0; i < tokens.size(); ++i) EXPECT_EQ(tokenizer->token_string(line["ids"][i]), tokens[i]);
  }
}

INSTANTIATE_TEST_SUITE_P(Families, BpeTokenizerJsonGolden,
                         ::testing::Values("qwen3", "deepseek_v3", "llama3", "llama3_1"));

class BpeGgufGolden : public ::testing::TestWithParam<std::string> {};

TEST_P(BpeGgufGolden, EveryLineMatches) {
  const std::string base = test::fixture_path("gguf_vocab/ggml-vocab-" + GetParam());
  auto gguf = GgufFile::open(base + ".gguf");
  ASSERT_TRUE(gguf.is_ok()) << gguf.status().message();
  auto tokenizer = load_bpe_from_gguf(**gguf);
  ASSERT_TRUE(tokenizer.is_ok()) << tokenizer.status().message();
  const auto lines = test::read_jsonl(base + ".golden.jsonl");
  ASSERT_FALSE(lines.empty());
  for (const auto& line : lines) {
    const std::string text = line["text"];
    SCOPED_TRACE(text);
    const std::vector<int32_t> ids = (*tokenizer)->encode(text, {.add_special = false});
    EXPECT_EQ(ids, ids_of(line["ids"]));
    // Byte-level BPE is lossless on valid UTF-8 (no normalizer changes these strings).
    EXPECT_EQ((*tokenizer)->decode(ids), text);
  }
}

INSTANTIATE_TEST_SUITE_P(Vocabs, BpeGgufGolden,
                         ::testing::Values("qwen2", "llama-bpe", "deepseek-llm", "deepseek-coder"));

}  // namespace
}  // namespace kaiyuan
