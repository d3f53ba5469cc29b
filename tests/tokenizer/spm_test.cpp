// SentencePiece BPE tokenizer against independent goldens:
//  - stories260K/hf (tokenizer.model) vs the sentencepiece library (tok512_sentencepiece.jsonl);
//  - stories260K.gguf vs llama2.c run.c encode() (tok512_encode.jsonl) and llama.cpp's prompt
//    tokens (golden_greedy.json);
//  - ggml-vocab-llama-spm.gguf (Llama 2's 32k vocab) vs Python transformers.
#include "tokenizer/spm.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "format/gguf.h"
#include "format/gguf_writer.h"
#include "support/test_support.h"
#include "tokenizer/tokenizer.h"

namespace kaiyuan {
namespace {

using test::fixture_path;

const std::string kMeta = "\xE2\x96\x81";  // "▁"

std::unique_ptr<Tokenizer> load_or_die(const std::string& path) {
  auto tokenizer = load_tokenizer(path);
  EXPECT_TRUE(tokenizer.is_ok()) << tokenizer.status().message();
  return tokenizer.is_ok() ? std::move(tokenizer).value() : nullptr;
}

std::vector<int32_t> ids_of(const nlohmann::json& j) { return j.get<std::vector<int32_t>>(); }

EncodeOptions plain() { return EncodeOptions{.add_special = false, .parse_special = true}; }
EncodeOptions with_special() { return EncodeOptions{.add_special = true, .parse_special = true}; }

TEST(SpmTokenizer, TokenizerModelMatchesSentencepieceLibrary) {
  auto tok = load_or_die(fixture_path("stories260K/hf"));
  ASSERT_TRUE(tok);
  const auto golden = test::read_jsonl(fixture_path("stories260K/tok512_sentencepiece.jsonl"));
  ASSERT_GT(golden.size(), 40u);
  for (const auto& g : golden) {
    const std::string text = g["text"];
    const std::vector<int32_t> ids = tok->encode(text, plain());
    EXPECT_EQ(ids, ids_of(g["ids"])) << text;
    std::vector<std::string> pieces;
    for (int32_t id : ids) pieces.push_back(tok->token_string(id));
    EXPECT_EQ(pieces, g["pieces"].get<std::vector<std::string>>()) << text;
    EXPECT_EQ(tok->decode(ids_of(g["ids"])), g["decoded"].get<std::string>()) << text;
  }
}

TEST(SpmTokenizer, TokenizerModelAddsBosFromConfig) {
  auto tok = load_or_die(fixture_path("stories260K/hf"));
  ASSERT_TRUE(tok);
  EXPECT_EQ(tok->encode("Hello world", with_special()),
            (std::vector<int32_t>{1, 346, 306, 414, 263, 304, 341}));
  EXPECT_EQ(tok->encode("", with_special()), std::vector<int32_t>{1});
  EXPECT_EQ(tok->n_vocab(), 512);
  EXPECT_EQ(tok->bos_id(), 1);
  EXPECT_EQ(tok->eos_id(), 2);
  EXPECT_TRUE(tok->is_end_of_generation(2));
  EXPECT_FALSE(tok->is_end_of_generation(1));
  EXPECT_TRUE(tok->is_special(1));
  EXPECT_TRUE(tok->is_special(0));  // <unk>
  EXPECT_FALSE(tok->is_special(346));
}

// run.c and llama.cpp agree except where the text holds '▁' itself: run.c's vocabulary spells the
// meta symbol as ' ', so it byte-encodes a literal '▁', while the GGUF vocabulary (like
// sentencepiece) holds '▁' pieces. There the sentencepiece library's ids (+ BOS) are the reference;
// no such text contains a plain space, so sentencepiece's whitespace collapsing does not apply.
TEST(SpmTokenizer, GgufMatchesRunCEncode) {
  auto tok = load_or_die(fixture_path("stories260K/stories260K.gguf"));
  ASSERT_TRUE(tok);
  const auto runc = test::read_jsonl(fixture_path("stories260K/tok512_encode.jsonl"));
  const auto sp = test::read_jsonl(fixture_path("stories260K/tok512_sentencepiece.jsonl"));
  ASSERT_EQ(runc.size(), sp.size());
  int literal_meta = 0;
  for (size_t i = 0; i < runc.size(); ++i) {
    const std::string text = runc[i]["text"];
    ASSERT_EQ(text, sp[i]["text"].get<std::string>());
    std::vector<int32_t> expected = ids_of(runc[i]["ids"]);
    std::string expected_text = runc[i]["decoded"];
    if (text.find(kMeta) != std::string::npos) {
      ASSERT_EQ(text.find(' '), std::string::npos);
      expected = {1};
      for (int32_t id : ids_of(sp[i]["ids"])) expected.push_back(id);
      expected_text = sp[i]["decoded"];
      ++literal_meta;
    }
    const std::vector<int32_t> ids = tok->encode(text, with_special());
    EXPECT_EQ(ids, expected) << text;
    const std::vector<int32_t> no_bos(expected.begin() + 1, expected.end());
    EXPECT_EQ(tok->encode(text, plain()), no_bos) << text;
    EXPECT_EQ(tok->decode(expected, /*skip_special=*/true), expected_text) << text;
  }
  EXPECT_GE(literal_meta, 1);
}

TEST(SpmTokenizer, GgufMatchesGreedyPromptTokens) {
  auto gguf = load_or_die(fixture_path("stories260K/stories260K.gguf"));
  auto folder = load_or_die(fixture_path("stories260K/hf"));
  ASSERT_TRUE(gguf && folder);
  const auto golden = test::read_json(fixture_path("stories260K/golden_greedy.json"));
  for (const auto& p : golden["prompts"]) {
    const std::string prompt = p["prompt"];
    EXPECT_EQ(gguf->encode(prompt, with_special()), ids_of(p["prompt_tokens"])) << prompt;
    EXPECT_EQ(folder->encode(prompt, with_special()), ids_of(p["prompt_tokens"])) << prompt;
  }
}

TEST(SpmTokenizer, LlamaSpmVocabMatchesTransformers) {
  auto tok = load_or_die(fixture_path("gguf_vocab/ggml-vocab-llama-spm.gguf"));
  ASSERT_TRUE(tok);
  EXPECT_EQ(tok->n_vocab(), 32000);
  const auto golden = test::read_jsonl(fixture_path("gguf_vocab/ggml-vocab-llama-spm.golden.jsonl"));
  ASSERT_GT(golden.size(), 20u);
  for (const auto& g : golden) {
    const std::string text = g["text"];
    const std::vector<int32_t> ids = tok->encode(text, plain());
    EXPECT_EQ(ids, ids_of(g["ids"])) << text;
    // Llama 2's vocab byte-falls back on every character it lacks and decode() drops exactly the
    // dummy prefix again, so the text comes back (" Hello" -> [▁, ▁Hello] -> "" + " Hello").
    EXPECT_EQ(tok->decode(ids), text) << text;
    std::vector<int32_t> with_bos = ids;
    with_bos.insert(with_bos.begin(), 1);
    EXPECT_EQ(tok->encode(text, with_special()), with_bos) << text;
  }
}

TEST(SpmTokenizer, MatchesSpecialTokensWrittenInText) {
  auto tok = load_or_die(fixture_path("stories260K/stories260K.gguf"));
  ASSERT_TRUE(tok);
  const std::vector<int32_t> hello = tok->encode("Hello", plain());  // [▁He, ll, o]
  ASSERT_EQ(hello, (std::vector<int32_t>{346, 306, 414}));
  // llama.cpp (and HF legacy): text after a special token gets its own dummy prefix.
  std::vector<int32_t> expected = {1};
  expected.insert(expected.end(), hello.begin(), hello.end());
  expected.push_back(2);
  EXPECT_EQ(tok->encode("<s>Hello</s>", plain()), expected);
  // Not parsed: "<s>" is ordinary text ('<' 's' '>' pieces after the dummy prefix).
  const std::vector<int32_t> literal = tok->encode("<s>", EncodeOptions{.add_special = false, .parse_special = false});
  ASSERT_FALSE(literal.empty());
  EXPECT_EQ(std::find(literal.begin(), literal.end(), 1), literal.end());
  EXPECT_EQ(tok->decode(literal), "<s>");
}

TEST(SpmTokenizer, DecodeRules) {
  auto tok = load_or_die(fixture_path("stories260K/stories260K.gguf"));
  ASSERT_TRUE(tok);
  // 346 "▁He", 410 "▁", 1 "<s>", 2 "</s>", 229/153/132 = bytes E2 96 81 ("▁" as bytes).
  EXPECT_EQ(tok->decode(std::vector<int32_t>{346}), "He");
  EXPECT_EQ(tok->decode(std::vector<int32_t>{410, 410}), " ");  // only the first piece loses its space
  EXPECT_EQ(tok->decode(std::vector<int32_t>{1, 346}, true), "He");
  EXPECT_EQ(tok->decode(std::vector<int32_t>{1, 346}, false), "<s> He");  // as HF fast: Strip(1) of "<s> He"
  EXPECT_EQ(tok->decode(std::vector<int32_t>{346, 2}, false), "He</s>");
  EXPECT_EQ(tok->decode(std::vector<int32_t>{229, 153, 132, 346}), "\xE2\x96\x81 He");
  // Invalid UTF-8 from byte pieces: one U+FFFD per byte (sentencepiece decode gives the same).
  EXPECT_EQ(tok->decode(std::vector<int32_t>{229, 153}), "\xEF\xBF\xBD\xEF\xBF\xBD");
  EXPECT_EQ(tok->decode(std::vector<int32_t>{-5, 346, 512, 100000}), "He");  // out of range skipped
  EXPECT_EQ(tok->token_bytes(229), "\xE2");  // <0xE2>
  EXPECT_EQ(tok->token_bytes(346), " He");
  EXPECT_EQ(tok->token_bytes(1), "<s>");
  EXPECT_EQ(tok->token_bytes(-1), "");
  EXPECT_EQ(tok->token_string(346), kMeta + "He");
}

// A GGUF `llama` vocab written here: hostile values must be errors, options must be honoured.
struct VocabFile {
  std::vector<std::string> tokens = {"<unk>", "<s>", "</s>", "<0x61>", kMeta, "a", kMeta + "a", "aa"};
  std::vector<float> scores = {0, 0, 0, 0, -1, -2, -3, -4};
  std::vector<int32_t> types = {2, 3, 3, 6, 1, 1, 1, 1};
  GgufWriter writer;

  Result<std::unique_ptr<Tokenizer>> load() {
    EXPECT_TRUE(writer.add_string("tokenizer.ggml.model", "llama").is_ok());
    EXPECT_TRUE(writer.add_string_array("tokenizer.ggml.tokens", tokens).is_ok());
    EXPECT_TRUE(writer.add_f32_array("tokenizer.ggml.scores", scores).is_ok());
    EXPECT_TRUE(writer.add_i32_array("tokenizer.ggml.token_type", types).is_ok());
    const std::string path = test::temp_dir() + "/vocab.gguf";
    EXPECT_TRUE(writer.write(path).is_ok());
    return load_tokenizer(path);
  }
};

TEST(SpmTokenizer, GgufOptions) {
  VocabFile f;
  ASSERT_TRUE(f.writer.add_bool("tokenizer.ggml.add_space_prefix", false).is_ok());
  ASSERT_TRUE(f.writer.add_bool("tokenizer.ggml.add_bos_token", false).is_ok());
  ASSERT_TRUE(f.writer.add_bool("tokenizer.ggml.add_eos_token", true).is_ok());
  ASSERT_TRUE(f.writer.add_u32("tokenizer.ggml.eot_token_id", 7).is_ok());
  auto tok = f.load();
  ASSERT_TRUE(tok.is_ok()) << tok.status().message();
  // No dummy prefix: "a a" -> a ▁a; scores: "▁a" (-3) merges, "aa" never forms here.
  EXPECT_EQ((*tok)->encode("a a", with_special()), (std::vector<int32_t>{5, 6, 2}));
  EXPECT_EQ((*tok)->encode("aaa", plain()), (std::vector<int32_t>{7, 5}));  // leftmost pair first
  EXPECT_EQ((*tok)->encode("b", plain()), (std::vector<int32_t>{0}));       // no <0x62>: <unk>
  EXPECT_TRUE((*tok)->is_end_of_generation(7));
  EXPECT_TRUE((*tok)->is_end_of_generation(2));
}

TEST(SpmTokenizer, GgufErrors) {
  {
    VocabFile f;
    f.scores.pop_back();
    auto tok = f.load();
    ASSERT_FALSE(tok.is_ok());
    EXPECT_NE(tok.status().message().find("tokenizer.ggml.scores"), std::string::npos) << tok.status().message();
  }
  {
    VocabFile f;
    f.types[4] = 42;
    auto tok = f.load();
    ASSERT_FALSE(tok.is_ok());
    EXPECT_NE(tok.status().message().find("token_type"), std::string::npos) << tok.status().message();
  }
  {
    VocabFile f;
    ASSERT_TRUE(f.writer.add_u32("tokenizer.ggml.bos_token_id", 8).is_ok());
    auto tok = f.load();
    ASSERT_FALSE(tok.is_ok());
    EXPECT_NE(tok.status().message().find("bos_token_id"), std::string::npos) << tok.status().message();
  }
  {
    VocabFile f;
    ASSERT_TRUE(f.writer.add_u32("tokenizer.ggml.padding_token_id", 0xFFFFFFFFu).is_ok());  // "none"
    EXPECT_TRUE(f.load().is_ok());
  }
}

TEST(SpmTokenizer, LoaderErrors) {
  auto missing = load_tokenizer("/nonexistent/model.gguf");
  ASSERT_FALSE(missing.is_ok());
  EXPECT_NE(missing.status().message().find("/nonexistent/model.gguf"), std::string::npos);

  const std::string empty_dir = test::temp_dir();
  auto none = load_tokenizer(empty_dir);
  ASSERT_FALSE(none.is_ok());
  EXPECT_NE(none.status().message().find("tokenizer.model"), std::string::npos);

  GgufWriter w;
  ASSERT_TRUE(w.add_string("tokenizer.ggml.model", "t5").is_ok());
  const std::string path = test::temp_dir() + "/t5.gguf";
  ASSERT_TRUE(w.write(path).is_ok());
  auto t5 = load_tokenizer(path);
  ASSERT_FALSE(t5.is_ok());
  EXPECT_NE(t5.status().message().find("'t5'"), std::string::npos) << t5.status().message();

  const std::string bad_dir = test::temp_dir();
  {
    std::ofstream(bad_dir + "/tokenizer.model") << "not a protobuf \xff\xff";
  }
  auto bad = load_tokenizer(bad_dir);
  ASSERT_FALSE(bad.is_ok());
  EXPECT_NE(bad.status().message().find("tokenizer.model"), std::string::npos) << bad.status().message();
}

}  // namespace
}  // namespace kaiyuan
