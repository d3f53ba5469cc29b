// NFC, UTF-8 repair and the GPT-2 byte mapping against hand-checked values (Python unicodedata /
// openai/gpt-2 encoder.py), and the GGUF pre-tokenizer table against the fixtures' tokenizer.json.
#include <gtest/gtest.h>

#include "support/test_support.h"
#include "tokenizer/bpe_byte_level.h"
#include "tokenizer/bpe_gguf_pretokenizers.h"
#include "tokenizer/unicode_nfc.h"
#include "tokenizer/unicode_utf8.h"

namespace kaiyuan {
namespace {

TEST(BpeUnicode, Nfc) {
  // unicodedata.normalize("NFC", ...) results.
  EXPECT_EQ(unicode::to_nfc("e\xCC\x81"), "\xC3\xA9");                         // e + U+0301 -> é
  EXPECT_EQ(unicode::to_nfc("\xE2\x84\xAB"), "\xC3\x85");                      // U+212B ANGSTROM -> Å
  EXPECT_EQ(unicode::to_nfc("\xE1\x84\x80\xE1\x85\xA1\xE1\x86\xA8"), "\xEA\xB0\x81");  // jamo -> 각
  // q + dot below (220) + dot above (230) reorders to below-then-above; ạ̇ with a precomposed start.
  EXPECT_EQ(unicode::to_nfc("q\xCC\x87\xCC\xA3"), "q\xCC\xA3\xCC\x87");
  EXPECT_EQ(unicode::to_nfc("a\xCC\x87\xCC\xA3"), "\xE1\xBA\xA1\xCC\x87");
  // Composition exclusion: U+0958 stays decomposed (क + nukta).
  EXPECT_EQ(unicode::to_nfc("\xE0\xA5\x98"), "\xE0\xA4\x95\xE0\xA4\xBC");
  EXPECT_EQ(unicode::to_nfd("\xC3\xA9"), "e\xCC\x81");
  EXPECT_EQ(unicode::to_nfc("plain ascii"), "plain ascii");
}

TEST(BpeUnicode, Utf8Sanitize) {
  EXPECT_EQ(utf8::sanitize("ok \xE2\x82\xAC"), "ok \xE2\x82\xAC");
  // b"\xe2\x82".decode(errors="replace") is ONE U+FFFD (a maximal subpart); b"\x80\x80" is two.
  EXPECT_EQ(utf8::sanitize("\xE2\x82"), "\xEF\xBF\xBD");
  EXPECT_EQ(utf8::sanitize("\x80\x80"), "\xEF\xBF\xBD\xEF\xBF\xBD");
  EXPECT_EQ(utf8::sanitize("\xF4\x90\x80\x80"), "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD");  // > U+10FFFF
}

TEST(BpeUnicode, Gpt2ByteMapping) {
  EXPECT_EQ(byte_level::char_for_byte(' '), "\xC4\xA0");    // 'Ġ' U+0120
  EXPECT_EQ(byte_level::char_for_byte('\n'), "\xC4\x8A");   // 'Ċ' U+010A
  EXPECT_EQ(byte_level::char_for_byte('A'), "A");
  EXPECT_EQ(byte_level::char_for_byte(0xAD), "\xC5\x83");   // soft hyphen -> U+0143
  for (int b = 0; b < 256; ++b) {
    const std::string byte(1, static_cast<char>(b));
    EXPECT_EQ(byte_level::unmap(byte_level::map(byte)), byte);
  }
  EXPECT_FALSE(byte_level::unmap("<\xEF\xBD\x9C").has_value());  // fullwidth bar is not mapped
}

std::vector<std::string> split_regexes(const std::string& family) {
  const auto json = test::read_json(test::fixture_path("tokenizers/" + family + "/tokenizer.json"));
  std::vector<std::string> regexes;
  for (const auto& step : json["pre_tokenizer"]["pretokenizers"]) {
    if (step["type"] == "Split") regexes.push_back(step["pattern"]["Regex"]);
  }
  return regexes;
}

TEST(BpeUnicode, GgufPreTokenizersEqualTokenizerJson) {
  GgufPreTokenizer pre;
  ASSERT_TRUE(find_gguf_pretokenizer("qwen2", &pre));
  EXPECT_EQ(pre.regexes, split_regexes("qwen3"));
  EXPECT_TRUE(pre.nfc);
  ASSERT_TRUE(find_gguf_pretokenizer("llama-bpe", &pre));
  EXPECT_EQ(pre.regexes, split_regexes("llama3"));
  EXPECT_TRUE(pre.ignore_merges);
  ASSERT_TRUE(find_gguf_pretokenizer("deepseek-v3", &pre));
  EXPECT_EQ(pre.regexes, split_regexes("deepseek_v3"));
  EXPECT_FALSE(find_gguf_pretokenizer("no-such-pre", &pre));
}

}  // namespace
}  // namespace kaiyuan
