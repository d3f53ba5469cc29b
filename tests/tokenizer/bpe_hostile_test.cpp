// Byte-level BPE on broken tokenizer files and arbitrary bytes: clear errors, no crashes.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <random>
#include <string>

#include "support/test_support.h"
#include "tokenizer/bpe.h"
#include "tokenizer/bpe_tokenizer.h"
#include "tokenizer/tokenizer_json.h"

namespace kaiyuan {
namespace {

// A tiny valid byte-level BPE tokenizer.json: bytes "a", "b", "Ġ" (space), merges a+b, Ġ+ab.
std::string tiny_json(const std::string& merges = R"(["a b", "Ġ ab"])",
                      const std::string& pattern = R"(\\s?\\p{L}+|\\s+)") {
  return R"({"model": {"type": "BPE", "vocab": {"a": 0, "b": 1, "Ġ": 2, "ab": 3, "Ġab": 4}, "merges": )" + merges +
         R"(}, "added_tokens": [{"id": 5, "content": "<|end|>", "special": true}],
         "pre_tokenizer": {"type": "Sequence", "pretokenizers": [
            {"type": "Split", "pattern": {"Regex": ")" + pattern + R"("}, "behavior": "Isolated", "invert": false},
            {"type": "ByteLevel", "add_prefix_space": false, "use_regex": false}]},
         "decoder": {"type": "ByteLevel"}})";
}

Result<std::unique_ptr<Tokenizer>> load(const std::string& json) {
  KY_ASSIGN_OR_RETURN(BpeTokenizerSpec spec, parse_bpe_tokenizer_json(json, "", "test.json"));
  return make_bpe_tokenizer(std::move(spec));
}

TEST(BpeHostile, TinyTokenizerWorks) {
  auto tokenizer = load(tiny_json());
  ASSERT_TRUE(tokenizer.is_ok()) << tokenizer.status().message();
  // "ab ab<|end|>": pieces "ab", " ab", then the special token. Hand-computed.
  EXPECT_EQ((*tokenizer)->encode("ab ab<|end|>", {}), (std::vector<int32_t>{3, 4, 5}));
  EXPECT_EQ((*tokenizer)->encode("<|end|>", {.parse_special = false}), (std::vector<int32_t>{}))
      << "characters without vocab entries are dropped, as HF BPE without unk does";
  EXPECT_EQ((*tokenizer)->decode(std::vector<int32_t>{3, 4, 5}, true), "ab ab");
  EXPECT_TRUE((*tokenizer)->is_end_of_generation(5));
}

TEST(BpeHostile, NotJson) {
  auto tokenizer = load("{\"model\": [1, 2");
  ASSERT_FALSE(tokenizer.is_ok());
  EXPECT_NE(tokenizer.status().message().find("not valid JSON"), std::string::npos) << tokenizer.status().message();
}

TEST(BpeHostile, MissingModel) {
  auto tokenizer = load(R"({"added_tokens": []})");
  ASSERT_FALSE(tokenizer.is_ok());
  EXPECT_NE(tokenizer.status().message().find("no \"model\""), std::string::npos) << tokenizer.status().message();
}

TEST(BpeHostile, MergeWithUnknownToken) {
  auto tokenizer = load(tiny_json(R"(["a b", "x ab"])"));
  ASSERT_FALSE(tokenizer.is_ok());
  EXPECT_NE(tokenizer.status().message().find("\"x\" is not in the vocab"), std::string::npos)
      << tokenizer.status().message();
  auto missing_result = load(tiny_json(R"(["b a"])"));
  ASSERT_FALSE(missing_result.is_ok());
  EXPECT_NE(missing_result.status().message().find("\"ba\""), std::string::npos) << missing_result.status().message();
}

TEST(BpeHostile, MalformedMerge) {
  auto tokenizer = load(tiny_json(R"(["a b c"])"));
  ASSERT_FALSE(tokenizer.is_ok());
  EXPECT_NE(tokenizer.status().message().find("merges[0]"), std::string::npos) << tokenizer.status().message();
}

TEST(BpeHostile, InvalidRegexNamesThePattern) {
  auto tokenizer = load(tiny_json(R"(["a b"])", R"([a-)"));
  ASSERT_FALSE(tokenizer.is_ok());
  EXPECT_NE(tokenizer.status().message().find("invalid regex \"[a-\""), std::string::npos)
      << tokenizer.status().message();
}

TEST(BpeHostile, UnsupportedPiecesAreNamed) {
  std::string json = tiny_json();
  json.replace(json.find("\"ByteLevel\"}}"), 13, "\"WordPiece\"}}");
  auto tokenizer = load(json);
  ASSERT_FALSE(tokenizer.is_ok());
  EXPECT_NE(tokenizer.status().message().find("WordPiece"), std::string::npos) << tokenizer.status().message();
}

TEST(BpeHostile, MissingFolder) {
  auto tokenizer = load_bpe_from_tokenizer_json(test::temp_dir() + "/does-not-exist");
  ASSERT_FALSE(tokenizer.is_ok());
  EXPECT_NE(tokenizer.status().message().find("tokenizer.json"), std::string::npos);
}

// Invalid UTF-8 is repaired as Python's bytes.decode("utf-8", "replace") before tokenizing, so the
// result equals the tokenization of the repaired text.
TEST(BpeHostile, InvalidUtf8IsReplacedPerMaximalSubpart) {
  auto tokenizer = load_bpe_from_tokenizer_json(test::fixture_path("tokenizers/qwen3"));
  ASSERT_TRUE(tokenizer.is_ok()) << tokenizer.status().message();
  const Tokenizer& t = **tokenizer;
  // b"a\xff\xe2\x82b\xf0\x9f\x98".decode("utf-8", "replace") == "a\ufffd\ufffdb\ufffd"
  EXPECT_EQ(t.encode("a\xff\xe2\x82" "b\xf0\x9f\x98", {}), t.encode("a\xEF\xBF\xBD\xEF\xBF\xBD" "b\xEF\xBF\xBD", {}));
  // Surrogates and overlongs are ill-formed: b"\xed\xa0\x80\xc0\xaf" -> 5 x U+FFFD (one per byte).
  std::string five;
  for (int i = 0; i < 5; ++i) five += "\xEF\xBF\xBD";
  EXPECT_EQ(t.encode("\xed\xa0\x80\xc0\xaf", {}), t.encode(five, {}));
}

TEST(BpeHostile, RandomBytesNeverCrashAndAreDeterministic) {
  auto tokenizer = load_bpe_from_tokenizer_json(test::fixture_path("tokenizers/deepseek_v3"));
  ASSERT_TRUE(tokenizer.is_ok()) << tokenizer.status().message();
  std::mt19937 rng(1234);
  for (int round = 0; round < 200; ++round) {
    std::string text(rng() % 64, '\0');
    for (char& c : text) c = static_cast<char>(rng());
    const auto ids = (*tokenizer)->encode(text, {.add_special = true});
    EXPECT_EQ(ids, (*tokenizer)->encode(text, {.add_special = true}));
    for (int32_t id : ids) ASSERT_TRUE(id >= 0 && id < (*tokenizer)->n_vocab());
    (*tokenizer)->decode(ids);
  }
  // Ids outside the vocab are skipped by decode.
  EXPECT_EQ((*tokenizer)->decode(std::vector<int32_t>{-5, 1 << 30}), "");
}

TEST(BpeHostile, LongRunsStayFast) {
  auto tokenizer = load_bpe_from_tokenizer_json(test::fixture_path("tokenizers/llama3"));
  ASSERT_TRUE(tokenizer.is_ok()) << tokenizer.status().message();
  // One 200k-letter pre-token and 200k spaces: the heap-based merge keeps this O(n log n).
  const std::string letters(200000, 'a');
  const auto ids = (*tokenizer)->encode(letters, {});
  EXPECT_EQ((*tokenizer)->decode(ids), letters);
  const std::string spaces(200000, ' ');
  EXPECT_EQ((*tokenizer)->decode((*tokenizer)->encode(spaces, {})), spaces);
}

}  // namespace
}  // namespace kaiyuan
