// Byte-level BPE against Hugging Face goldens: tokenizer.json folders (transformers.js encode and
// decode of every fixture string) and GGUF `gpt2` vocabs (Python transformers ids).
#include <gtest/gtest.h>

#include <algorithm>
#include <memory>
#include <thread>
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

// The tokenizer is immutable: concurrent encodes give the single-threaded answers.
TEST(BpeConcurrency, ParallelEncodesAgree) {
  auto tokenizer = load_json_tokenizer("qwen3");
  ASSERT_NE(tokenizer, nullptr);
  const auto lines = test::read_jsonl(test::fixture_path("tokenizers/qwen3/golden_encode.jsonl"));
  std::vector<std::thread> threads;
  std::vector<int> mismatches(4, 0);
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int round = 0; round < 3; ++round) {
        for (const auto& line : lines) {
          if (tokenizer->encode(line["text"].get<std::string>(), {}) != ids_of(line["ids"])) ++mismatches[t];
        }
      }
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(mismatches, std::vector<int>(4, 0));
}

TEST(BpeSpecialTokens, EndOfGenerationAndBos) {
  auto qwen = load_json_tokenizer("qwen3");
  ASSERT_NE(qwen, nullptr);
  EXPECT_EQ(qwen->bos_id(), -1);      // tokenizer_config.json bos_token: null
  EXPECT_EQ(qwen->eos_id(), 151645);  // <|im_end|>
  EXPECT_TRUE(qwen->is_end_of_generation(151645));
  EXPECT_TRUE(qwen->is_end_of_generation(151643));  // <|endoftext|>
  EXPECT_FALSE(qwen->is_end_of_generation(151644));  // <|im_start|>
  EXPECT_TRUE(qwen->is_special(151644));
  EXPECT_EQ(qwen->decode(std::vector<int32_t>{151644, 9707, 151645}, true), "Hello");
  // parse_special=false: "<|im_end|>" is ordinary text, tokenized losslessly without the special id.
  const auto plain = qwen->encode("<|im_end|>", {.parse_special = false});
  EXPECT_GT(plain.size(), 1u);
  EXPECT_EQ(std::count(plain.begin(), plain.end(), 151645), 0);
  EXPECT_EQ(qwen->decode(plain), "<|im_end|>");

  auto llama = load_json_tokenizer("llama3_1");
  ASSERT_NE(llama, nullptr);
  EXPECT_EQ(llama->bos_id(), 128000);
  EXPECT_TRUE(llama->is_end_of_generation(128009));  // <|eot_id|>, the config's eos_token
  EXPECT_TRUE(llama->is_end_of_generation(128001));  // <|end_of_text|>
  EXPECT_EQ(llama->token_bytes(128000), "<|begin_of_text|>");
  EXPECT_EQ(llama->token_bytes(220), " ");  // "Ġ"
  EXPECT_EQ(llama->token_string(220), "\xC4\xA0");
}

}  // namespace
}  // namespace kaiyuan
