// StreamingDecoder: concatenated output == decode(all) - decode(primed), never half a UTF-8
// character, bounded work per token. Checked over every golden id sequence (byte fallback and
// multi-byte characters included) for the SentencePiece tokenizers and a byte-level BPE one, and
// against llama2.c's generated text for stories260K.
#include <gtest/gtest.h>

#include <algorithm>
#include <memory>
#include <string>
#include <vector>

#include "support/test_support.h"
#include "tokenizer/tokenizer.h"

namespace kaiyuan {
namespace {

using test::fixture_path;

const std::string kReplacement = "\xEF\xBF\xBD";

std::unique_ptr<Tokenizer> load_or_die(const std::string& path) {
  auto tokenizer = load_tokenizer(path);
  EXPECT_TRUE(tokenizer.is_ok()) << tokenizer.status().message();
  return tokenizer.is_ok() ? std::move(tokenizer).value() : nullptr;
}

std::vector<std::vector<int32_t>> golden_ids(const std::string& rel, const char* key = "ids") {
  std::vector<std::vector<int32_t>> out;
  for (const auto& g : test::read_jsonl(fixture_path(rel))) out.push_back(g[key].get<std::vector<int32_t>>());
  return out;
}

bool whole_utf8(const std::string& s) { return sanitize_utf8(s) == s; }

// Streams ids[prime..] after priming with ids[..prime]; checks every piece is whole UTF-8.
std::string stream(const Tokenizer& tok, const std::vector<int32_t>& ids, size_t prime, bool skip_special) {
  StreamingDecoder decoder(tok, skip_special);
  decoder.prime(std::span<const int32_t>(ids.data(), prime));
  std::string out;
  for (size_t i = prime; i < ids.size(); ++i) {
    const std::string piece = decoder.push(ids[i]);
    EXPECT_TRUE(whole_utf8(piece)) << "token " << i;
    out += piece;
  }
  const std::string rest = decoder.flush();
  EXPECT_TRUE(whole_utf8(rest));
  return out + rest;
}

// Split points spread over the sequence (both ends included): where decode(primed) is a prefix of decode(all), the streamed text is exactly
// the rest; elsewhere (the primed part ends inside a character) it is still a suffix of it.
void check_all_splits(const Tokenizer& tok, const std::vector<int32_t>& ids) {
  for (bool skip : {true, false}) {
    const std::string full = tok.decode(ids, skip);
    const size_t step = std::max<size_t>(1, ids.size() / 24);  // ~25 split points per sequence
    for (size_t k = 0; k <= ids.size(); k += (k + step > ids.size() && k < ids.size() ? ids.size() - k : step)) {
      const std::string primed = tok.decode(std::span<const int32_t>(ids.data(), k), skip);
      const std::string got = stream(tok, ids, k, skip);
      if (full.starts_with(primed)) {
        ASSERT_EQ(got, full.substr(primed.size())) << "prime " << k << " skip " << skip;
      } else {
        ASSERT_TRUE(full.ends_with(got)) << "prime " << k << " skip " << skip;
      }
    }
  }
}

TEST(Utf8, Sanitize) {
  EXPECT_EQ(sanitize_utf8("abc"), "abc");
  EXPECT_EQ(sanitize_utf8("\xC3\xA9\xE2\x96\x81\xF0\x9F\xA4\x96"), "\xC3\xA9\xE2\x96\x81\xF0\x9F\xA4\x96");
  EXPECT_EQ(sanitize_utf8("\xE2\x96"), kReplacement + kReplacement);  // one per byte
  EXPECT_EQ(sanitize_utf8("a\x96z"), "a" + kReplacement + "z");
  EXPECT_EQ(sanitize_utf8("\xC0\xAF"), kReplacement + kReplacement);  // overlong '/'
  EXPECT_EQ(sanitize_utf8("\xED\xA0\x80"), kReplacement + kReplacement + kReplacement);  // surrogate
  EXPECT_EQ(sanitize_utf8("\xF4\x90\x80\x80"), kReplacement + kReplacement + kReplacement + kReplacement);
}

TEST(Utf8, IncompleteTail) {
  EXPECT_EQ(incomplete_utf8_tail(""), 0u);
  EXPECT_EQ(incomplete_utf8_tail("a"), 0u);
  EXPECT_EQ(incomplete_utf8_tail("\xC3"), 1u);
  EXPECT_EQ(incomplete_utf8_tail("a\xE2"), 1u);
  EXPECT_EQ(incomplete_utf8_tail("\xE2\x96"), 2u);
  EXPECT_EQ(incomplete_utf8_tail("\xE2\x96\x81"), 0u);
  EXPECT_EQ(incomplete_utf8_tail("\xF0\x9F\xA4"), 3u);
  EXPECT_EQ(incomplete_utf8_tail("\xF0\x9F\xA4\x96"), 0u);
  EXPECT_EQ(incomplete_utf8_tail("\x96"), 0u);      // stray continuation: never completes
  EXPECT_EQ(incomplete_utf8_tail("\xE2z"), 0u);
  EXPECT_EQ(incomplete_utf8_tail("\xED\xA0"), 0u);  // would be a surrogate
  EXPECT_EQ(incomplete_utf8_tail("\xF5"), 0u);      // not a lead byte
}

TEST(StreamingDecoder, SentencePieceGoldens) {
  auto folder = load_or_die(fixture_path("stories260K/hf"));
  auto gguf = load_or_die(fixture_path("gguf_vocab/ggml-vocab-llama-spm.gguf"));
  ASSERT_TRUE(folder && gguf);
  for (const auto& ids : golden_ids("stories260K/tok512_sentencepiece.jsonl")) check_all_splits(*folder, ids);
  // run.c's ids: BOS first, literal spaces kept, '▁' as three byte pieces.
  for (const auto& ids : golden_ids("stories260K/tok512_encode.jsonl")) check_all_splits(*folder, ids);
  for (const auto& ids : golden_ids("gguf_vocab/ggml-vocab-llama-spm.golden.jsonl")) check_all_splits(*gguf, ids);
}

TEST(StreamingDecoder, ByteLevelBpeGoldens) {
  auto tok = load_or_die(fixture_path("tokenizers/llama3"));
  ASSERT_TRUE(tok);
  for (const auto& ids : golden_ids("tokenizers/llama3/golden_encode.jsonl", "ids_add_special")) {
    check_all_splits(*tok, ids);
  }
}

// llama2.c generated these tokens after the prompt and printed `new_text`.
TEST(StreamingDecoder, ReproducesRunCGeneratedText) {
  auto tok = load_or_die(fixture_path("stories260K/stories260K.gguf"));
  ASSERT_TRUE(tok);
  const auto golden = test::read_json(fixture_path("stories260K/golden_greedy.json"));
  for (const auto& p : golden["prompts"]) {
    const auto prompt = p["prompt_tokens"].get<std::vector<int32_t>>();
    StreamingDecoder decoder(*tok);
    decoder.prime(prompt);
    std::string out;
    for (int32_t id : p["new_tokens"].get<std::vector<int32_t>>()) out += decoder.push(id);
    out += decoder.flush();
    EXPECT_EQ(out, p["new_text"].get<std::string>()) << p["prompt"];
  }
}

TEST(StreamingDecoder, HoldsPartialCharacters) {
  auto tok = load_or_die(fixture_path("stories260K/stories260K.gguf"));
  ASSERT_TRUE(tok);
  // 229, 153, 132 = <0xE2> <0x96> <0x81>, the bytes of "▁"; 346 = "▁He".
  StreamingDecoder decoder(*tok);
  EXPECT_EQ(decoder.push(346), "He");
  EXPECT_EQ(decoder.push(229), "");
  EXPECT_EQ(decoder.push(153), "");
  EXPECT_EQ(decoder.push(132), "\xE2\x96\x81");
  EXPECT_EQ(decoder.push(229), "");
  EXPECT_EQ(decoder.push(346), kReplacement + " He");  // the character can no longer complete
  EXPECT_EQ(decoder.push(229), "");
  EXPECT_EQ(decoder.flush(), kReplacement);
  EXPECT_EQ(decoder.flush(), "");

  // Primed context ending inside a character: the token completing it emits the whole character.
  StreamingDecoder primed(*tok);
  const std::vector<int32_t> context = {1, 346, 229};
  primed.prime(context);
  EXPECT_EQ(primed.push(153), "");
  EXPECT_EQ(primed.push(132), "\xE2\x96\x81");

  // Specials: skipped by default, printed when asked.
  StreamingDecoder shown(*tok, /*skip_special=*/false);
  std::string out;
  for (int32_t id : {1, 346, 2}) out += shown.push(id);
  EXPECT_EQ(out, "<s> He</s>");
  StreamingDecoder hidden(*tok);
  out.clear();
  for (int32_t id : {1, 346, 2, -7, 99999}) out += hidden.push(id);
  EXPECT_EQ(out, "He");
}

// Counts the ids decode() is asked to look at, to show the decoder works on a window.
class CountingTokenizer final : public Tokenizer {
 public:
  explicit CountingTokenizer(const Tokenizer& inner) : inner_(inner) {}
  std::vector<int32_t> encode(std::string_view text, const EncodeOptions& o) const override { return inner_.encode(text, o); }
  std::string decode(std::span<const int32_t> ids, bool skip) const override {
    decoded_ids_ += ids.size();
    return inner_.decode(ids, skip);
  }
  std::string token_bytes(int32_t id) const override { return inner_.token_bytes(id); }
  std::string token_string(int32_t id) const override { return inner_.token_string(id); }
  int32_t n_vocab() const override { return inner_.n_vocab(); }
  int32_t bos_id() const override { return inner_.bos_id(); }
  int32_t eos_id() const override { return inner_.eos_id(); }
  bool is_end_of_generation(int32_t id) const override { return inner_.is_end_of_generation(id); }
  bool is_special(int32_t id) const override { return inner_.is_special(id); }
  mutable size_t decoded_ids_ = 0;

 private:
  const Tokenizer& inner_;
};

TEST(StreamingDecoder, LongStreamUsesBoundedWindow) {
  auto tok = load_or_die(fixture_path("stories260K/hf"));
  ASSERT_TRUE(tok);
  std::string text;
  for (const auto& g : test::read_jsonl(fixture_path("stories260K/tok512_encode.jsonl")))
    text += g["text"].get<std::string>() + "\n";
  const std::vector<int32_t> ids = tok->encode(text, EncodeOptions{.add_special = true});
  ASSERT_GT(ids.size(), 1000u);
  CountingTokenizer counting(*tok);
  StreamingDecoder decoder(counting);
  std::string out;
  for (int32_t id : ids) out += decoder.push(id);
  out += decoder.flush();
  EXPECT_EQ(out, tok->decode(ids, true));
  EXPECT_LT(counting.decoded_ids_, ids.size() * 40) << "decoding re-reads the history";
}

}  // namespace
}  // namespace kaiyuan
