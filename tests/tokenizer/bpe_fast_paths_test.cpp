// The encode fast paths (tokenizer/unicode_nfc.cpp segment-wise NFC, bpe_tokenizer.cpp per-call
// piece cache) give the same results as the plain algorithms they shortcut.
#include <gtest/gtest.h>

#include <string>
#include <utility>
#include <vector>

#include "support/test_support.h"
#include "tokenizer/bpe.h"
#include "tokenizer/unicode_nfc.h"

namespace kaiyuan {
namespace {

// Mixed strings where NFC changes only a part: expected values are Python 3.11
// unicodedata.normalize("NFC", s).
TEST(NfcSegments, OnlyTheChangedPartsChange) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"\xE4\xB8\xAD\xE6\x96\x87 Cafe\xCC\x81 \xE6\x97\xA5\xE6\x9C\xAC", "\xE4\xB8\xAD\xE6\x96\x87 Caf\xC3\xA9 \xE6\x97\xA5\xE6\x9C\xAC"},  // a decomposed accent between CJK runs
      {"<\xCC\xB8 and =\xCC\xB8", "\xE2\x89\xAE and \xE2\x89\xA0"},  // ASCII starters compose with a following U+0338
      {"x\xE2\x84\xABy", "x\xC3\x85y"},  // a singleton decomposition between ASCII
      {"abc a\xCC\x87\xCC\xA3 q\xCC\x87\xCC\xA3 end", "abc \xE1\xBA\xA1\xCC\x87 q\xCC\xA3\xCC\x87 end"},  // reordering, then composition with the starter before
      {"\xED\x95\x9C\xE1\x84\x80\xE1\x85\xA1\xE1\x86\xA8\xEA\xB5\xAD", "\xED\x95\x9C\xEA\xB0\x81\xEA\xB5\xAD"},  // Hangul jamo between syllables
      {"\xCC\x81leading mark", "\xCC\x81leading mark"},  // a combining mark with no starter
      {"\xE4\xB8\xAD\xCC\x81", "\xE4\xB8\xAD\xCC\x81"},  // a mark after a CJK character that nothing composes with
      {"\xCE\x95\xCE\xBB\xCE\xBB\xCE\xB7\xCE\xBD\xCE\xB9\xCE\xBA\xCE\xAC \xCE\xB1\xCC\x81 ok", "\xCE\x95\xCE\xBB\xCE\xBB\xCE\xB7\xCE\xBD\xCE\xB9\xCE\xBA\xCE\xAC \xCE\xAC ok"},  // precomposed Greek kept, decomposed Greek composed
      {"\xE0\xA5\x98 Hindi \xE0\xA4\x95\xE0\xA4\xBC", "\xE0\xA4\x95\xE0\xA4\xBC Hindi \xE0\xA4\x95\xE0\xA4\xBC"},  // a composition exclusion stays decomposed
  };
  for (const auto& [text, expected] : cases) {
    EXPECT_EQ(unicode::to_nfc(text), expected) << text;
    // Repeated after a newline (which composes with nothing): every segment boundary is crossed again.
    const std::string repeated = text + "\n" + text + "\n" + text;
    EXPECT_EQ(unicode::to_nfc(repeated), expected + "\n" + expected + "\n" + expected) << text;
  }
}

// One encode call with many golden strings separated by a special token, twice over: the second
// copy is served from the piece cache and must give the golden ids again.
TEST(PieceCache, RepeatedTextGivesGoldenIdsAgain) {
  auto loaded = load_bpe_from_tokenizer_json(test::fixture_path("tokenizers/qwen3"));
  ASSERT_TRUE(loaded.is_ok()) << loaded.status().message();
  const Tokenizer& tokenizer = **loaded;
  const std::string separator = "<|endoftext|>";  // Qwen3 id 151643, no lstrip/rstrip
  constexpr int32_t kSeparatorId = 151643;
  const auto lines = test::read_jsonl(test::fixture_path("tokenizers/qwen3/golden_encode.jsonl"));
  ASSERT_FALSE(lines.empty());
  std::string text;
  std::vector<int32_t> expected;
  for (int copy = 0; copy < 2; ++copy) {
    for (const auto& line : lines) {
      text += line["text"].get<std::string>() + separator;
      const auto ids = line["ids"].get<std::vector<int32_t>>();
      expected.insert(expected.end(), ids.begin(), ids.end());
      expected.push_back(kSeparatorId);
    }
  }
  EXPECT_EQ(tokenizer.encode(text, {.add_special = false}), expected);
}

}  // namespace
}  // namespace kaiyuan
