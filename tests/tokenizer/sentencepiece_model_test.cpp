// tokenizer.model reader: the real stories260K model (expected values as the sentencepiece
// library's protobuf bindings print them), hand-encoded messages, and hostile bytes.
#include "tokenizer/sentencepiece_model.h"

#include <gtest/gtest.h>

#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "support/test_support.h"

namespace kaiyuan {
namespace {

std::vector<uint8_t> bytes_of(const std::string& s) { return std::vector<uint8_t>(s.begin(), s.end()); }

Result<SentencePieceModel> parse(const std::vector<uint8_t>& b) {
  return parse_sentencepiece_model(b.data(), b.size(), "test.model");
}

// Protobuf wire encoding by hand (protobuf "Encoding" guide).
std::string varint(uint64_t v) {
  std::string out;
  do {
    uint8_t b = v & 0x7f;
    v >>= 7;
    if (v != 0) b |= 0x80;
    out.push_back(static_cast<char>(b));
  } while (v != 0);
  return out;
}
std::string tag(uint32_t field, uint32_t wire) { return varint((field << 3) | wire); }
std::string bytes_field(uint32_t field, const std::string& payload) {
  return tag(field, 2) + varint(payload.size()) + payload;
}
std::string piece(const std::string& text, float score, int type) {
  std::string score_bytes(4, '\0');
  std::memcpy(score_bytes.data(), &score, 4);
  return bytes_field(1, bytes_field(1, text) + tag(2, 5) + score_bytes + tag(3, 0) + varint(type));
}

TEST(SentencePieceModel, ReadsStories260KModel) {
  auto model = read_sentencepiece_model(test::fixture_path("stories260K/tok512.model"));
  ASSERT_TRUE(model.is_ok()) << model.status().message();
  ASSERT_EQ(model->pieces.size(), 512u);
  EXPECT_EQ(model->pieces[0].piece, "<unk>");
  EXPECT_EQ(model->pieces[0].type, SpmPieceType::UNKNOWN);
  EXPECT_EQ(model->pieces[1].piece, "<s>");
  EXPECT_EQ(model->pieces[1].type, SpmPieceType::CONTROL);
  EXPECT_EQ(model->pieces[2].type, SpmPieceType::CONTROL);
  EXPECT_EQ(model->pieces[3].piece, "<0x00>");
  EXPECT_EQ(model->pieces[3].type, SpmPieceType::BYTE);
  EXPECT_EQ(model->pieces[258].piece, "<0xFF>");
  EXPECT_EQ(model->pieces[259].piece, "\xE2\x96\x81t");  // "▁t"
  EXPECT_EQ(model->pieces[259].type, SpmPieceType::NORMAL);
  EXPECT_FLOAT_EQ(model->pieces[260].score, -1.0f);  // "he"
  EXPECT_FLOAT_EQ(model->pieces[269].score, -10.0f);
  EXPECT_EQ(model->model_type, SentencePieceModel::ModelType::BPE);
  EXPECT_TRUE(model->byte_fallback);
  EXPECT_EQ(model->unk_id, 0);
  EXPECT_EQ(model->bos_id, 1);
  EXPECT_EQ(model->eos_id, 2);
  EXPECT_EQ(model->pad_id, -1);
  EXPECT_EQ(model->normalizer_name, "identity");
  EXPECT_TRUE(model->precompiled_charsmap.empty());
  // Absent from the file, so the proto defaults apply.
  EXPECT_TRUE(model->add_dummy_prefix);
  EXPECT_TRUE(model->remove_extra_whitespaces);
  EXPECT_TRUE(model->escape_whitespaces);
}

TEST(SentencePieceModel, ReadsHandEncodedMessage) {
  const std::string trainer = tag(3, 0) + varint(2) + tag(35, 0) + varint(1) +
                              tag(43, 0) + varint(0xFFFFFFFFFFFFFFFFull) +  // pad_id -1: ten bytes
                              tag(41, 0) + varint(7) + tag(7, 2) + varint(4) + "text";  // unknown field skipped
  const std::string normalizer = bytes_field(1, "identity") + tag(3, 0) + varint(0) + tag(4, 0) + varint(0);
  const std::string message = piece("<unk>", 0.0f, 2) + piece("\xE2\x96\x81x", -2.5f, 1) +
                              bytes_field(2, trainer) + bytes_field(3, normalizer) + piece("<0x41>", 0.0f, 6);
  auto model = parse(bytes_of(message));
  ASSERT_TRUE(model.is_ok()) << model.status().message();
  ASSERT_EQ(model->pieces.size(), 3u);
  EXPECT_EQ(model->pieces[1].piece, "\xE2\x96\x81x");
  EXPECT_FLOAT_EQ(model->pieces[1].score, -2.5f);
  EXPECT_EQ(model->pieces[2].type, SpmPieceType::BYTE);
  EXPECT_EQ(model->model_type, SentencePieceModel::ModelType::BPE);
  EXPECT_TRUE(model->byte_fallback);
  EXPECT_EQ(model->pad_id, -1);
  EXPECT_EQ(model->bos_id, 7);
  EXPECT_FALSE(model->add_dummy_prefix);
  EXPECT_FALSE(model->remove_extra_whitespaces);
}

TEST(SentencePieceModel, RejectsMalformedInput) {
  const std::string good = piece("a", 0.0f, 1);
  const std::vector<std::string> bad = {
      "",                                          // no pieces
      tag(1, 2) + varint(100) + "short",           // length past the end
      std::string("\x0a\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01", 12),  // varint > 10 bytes
      std::string("\x0a\xff\xff\xff\xff\xff\xff\xff\xff\xff\x7f", 11),      // varint overflows 64 bits
      good + tag(1, 3),                            // group wire type
      good + tag(2, 0),                            // truncated varint after the key
      bytes_field(1, tag(3, 0) + varint(9)),       // piece type 9
      bytes_field(1, tag(2, 5) + "ab"),            // truncated fixed32
      tag(1, 0) + varint(5),                       // pieces as a varint
      std::string("\x00\x01", 2),                  // field number 0
  };
  for (size_t i = 0; i < bad.size(); ++i) {
    auto model = parse(bytes_of(bad[i]));
    ASSERT_FALSE(model.is_ok()) << "case " << i;
    EXPECT_NE(model.status().message().find("test.model"), std::string::npos);
  }
}

// Every truncation and many random corruptions of the real file: errors or a model, never a
// crash (run under ASan/UBSan).
TEST(SentencePieceModel, SurvivesTruncationAndCorruption) {
  const std::string real = test::read_file(test::fixture_path("stories260K/tok512.model"));
  for (size_t n = 0; n < real.size(); n += 7) {
    std::vector<uint8_t> b(real.begin(), real.begin() + static_cast<std::ptrdiff_t>(n));
    (void)parse(b);
  }
  std::mt19937 rng(1234);
  for (int trial = 0; trial < 300; ++trial) {
    std::vector<uint8_t> b = bytes_of(real);
    for (int k = 0; k < 4; ++k) b[rng() % b.size()] = static_cast<uint8_t>(rng());
    (void)parse(b);
  }
}

TEST(SentencePieceModel, MissingFileIsAnError) {
  auto model = read_sentencepiece_model("/nonexistent/tokenizer.model");
  ASSERT_FALSE(model.is_ok());
  EXPECT_NE(model.status().message().find("/nonexistent/tokenizer.model"), std::string::npos);
}

}  // namespace
}  // namespace kaiyuan
