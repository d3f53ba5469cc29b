// GGUF reader on real files (stories260K, the arch/ fixtures made by llama.cpp, vocab-only GGUFs),
// checked against independent records: llama2.c's .bin of the same weights, llama.cpp's
// agreement.json (tensor types, ggml ne shapes, metadata, file sizes) and the vocab goldens.
#include <gtest/gtest.h>

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

#include "format/gguf.h"
#include "support/test_support.h"

namespace kaiyuan {
namespace {

namespace fs = std::filesystem;

std::unique_ptr<GgufFile> open_or_fail(const std::string& path) {
  auto r = GgufFile::open(path);
  EXPECT_TRUE(r.is_ok()) << r.status().message();
  return r.is_ok() ? std::move(r).value() : nullptr;
}

std::string upper(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return out;
}

// ---------------------------------------------------------------------------------------------
// stories260K.gguf: llama.cpp's convert-llama2c-to-ggml output of stories260K.bin + tok512.bin.

TEST(GgufStories, MetadataMatchesTheLlama2cConfig) {
  auto f = open_or_fail(test::fixture_path("stories260K/stories260K.gguf"));
  ASSERT_TRUE(f);
  EXPECT_EQ(f->version(), 3u);
  EXPECT_EQ(f->alignment(), 32u);
  EXPECT_EQ(f->data_offset() % 32, 0u);
  EXPECT_EQ(f->format_name(), "gguf v3");
  // README: dim=64, hidden_dim=172, n_layers=5, n_heads=8, n_kv_heads=4, vocab_size=512.
  EXPECT_EQ(*f->get_string("general.architecture"), "llama");
  EXPECT_EQ(*f->get_int("llama.embedding_length"), 64);
  EXPECT_EQ(*f->get_int("llama.block_count"), 5);
  EXPECT_EQ(*f->get_int("llama.feed_forward_length"), 172);
  EXPECT_EQ(*f->get_int("llama.attention.head_count"), 8);
  EXPECT_EQ(*f->get_int("llama.attention.head_count_kv"), 4);
  EXPECT_EQ(*f->get_string("tokenizer.ggml.model"), "llama");
  // Header says 19 key/value pairs and 48 tensors (bytes 8..23 of the file).
  EXPECT_EQ(f->metadata().size(), 19u);
  EXPECT_EQ(f->tensors().size(), 48u);

  const GgufValue* tokens = f->get("tokenizer.ggml.tokens");
  ASSERT_NE(tokens, nullptr);
  ASSERT_EQ(tokens->type, GgufType::ARRAY);
  EXPECT_EQ(tokens->elem_type, GgufType::STRING);
  ASSERT_EQ(tokens->size(), 512u);
  // tok512: ids 3..258 are the byte pieces <0x00>..<0xFF>.
  EXPECT_EQ(tokens->string_at(3), "<0x00>");
  EXPECT_EQ(tokens->string_at(258), "<0xFF>");
}

TEST(GgufStories, VocabScoresEqualTok512Bin) {
  auto f = open_or_fail(test::fixture_path("stories260K/stories260K.gguf"));
  ASSERT_TRUE(f);
  // tok512.bin: u32 max_token_length, then 512 x (f32 score, i32 len, len bytes).
  const std::string bin = test::read_file(test::fixture_path("stories260K/tok512.bin"));
  const GgufValue* scores = f->get("tokenizer.ggml.scores");
  ASSERT_NE(scores, nullptr);
  ASSERT_EQ(scores->elem_type, GgufType::F32);
  ASSERT_EQ(scores->size(), 512u);
  size_t pos = 4;
  for (size_t id = 0; id < 512; ++id) {
    float score;
    int32_t len;
    ASSERT_LE(pos + 8, bin.size());
    std::memcpy(&score, bin.data() + pos, 4);
    std::memcpy(&len, bin.data() + pos + 4, 4);
    pos += 8 + static_cast<size_t>(len);
    EXPECT_EQ(static_cast<float>(*scores->float_at(id)), score) << "token " << id;
  }
}

TEST(GgufStories, TensorViewsPointAtTheLlama2cWeights) {
  auto f = open_or_fail(test::fixture_path("stories260K/stories260K.gguf"));
  ASSERT_TRUE(f);
  const std::string bin = test::read_file(test::fixture_path("stories260K/stories260K.bin"));
  const float* weights = reinterpret_cast<const float*>(bin.data() + 28);  // after 7 int32 of config

  const TensorView* embd = f->find("token_embd.weight");
  ASSERT_NE(embd, nullptr);
  EXPECT_EQ(embd->dtype, DType::F32);
  EXPECT_EQ(embd->shape, (std::vector<int64_t>{512, 64}));  // outermost first: [n_vocab, d_model]
  ASSERT_EQ(embd->nbytes, 512u * 64u * 4u);
  EXPECT_EQ(std::memcmp(embd->data, weights, embd->nbytes), 0);  // tok_emb[512, 64]

  const TensorView* norm = f->find("blk.0.attn_norm.weight");
  ASSERT_NE(norm, nullptr);
  EXPECT_EQ(norm->shape, (std::vector<int64_t>{64}));
  EXPECT_EQ(std::memcmp(norm->data, weights + 512 * 64, 64 * 4), 0);  // rms_att[0]

  const TensorView* ffn_down = f->find("blk.0.ffn_down.weight");
  ASSERT_NE(ffn_down, nullptr);
  EXPECT_EQ(ffn_down->shape, (std::vector<int64_t>{64, 172}));  // w2: [d_model, d_ff]
  EXPECT_EQ(f->find("no.such.tensor"), nullptr);
  for (const TensorView& t : f->tensors()) EXPECT_EQ(t.dtype, DType::F32) << t.name;
}

TEST(GgufStories, TypedLookupsNameTheKeyAndTheProblem) {
  auto f = open_or_fail(test::fixture_path("stories260K/stories260K.gguf"));
  ASSERT_TRUE(f);
  auto missing = f->get_int("llama.no_such_key");
  ASSERT_FALSE(missing.is_ok());
  EXPECT_NE(missing.status().message().find("llama.no_such_key: missing"), std::string::npos);
  auto wrong = f->get_int("general.architecture");
  ASSERT_FALSE(wrong.is_ok());
  EXPECT_NE(wrong.status().message().find("general.architecture: expected an integer, got string"),
            std::string::npos);
  EXPECT_FALSE(f->get_string("llama.block_count").is_ok());
  EXPECT_EQ(f->get_int_or("llama.block_count"), 5);
  EXPECT_EQ(f->get_int_or("general.architecture"), std::nullopt);
  EXPECT_EQ(f->get_int_or("absent"), std::nullopt);
  EXPECT_DOUBLE_EQ(*f->get_float("llama.block_count"), 5.0);  // integers convert to float
}

// ---------------------------------------------------------------------------------------------
// arch/*/model-*.gguf against llama.cpp's own record of each file (llamacpp/agreement.json).

std::vector<int64_t> trim_trailing_ones(std::vector<int64_t> ne) {
  while (ne.size() > 1 && ne.back() == 1) ne.pop_back();
  return ne;
}

void check_against_agreement(const fs::path& gguf_path) {
  SCOPED_TRACE(gguf_path.string());
  const fs::path dir = gguf_path.parent_path();
  const nlohmann::json agreement = test::read_json((dir / "llamacpp" / "agreement.json").string());
  const std::string stem = gguf_path.stem().string();  // "model-q4_k_m"
  const std::string quant = stem.substr(std::string("model-").size());
  auto f = open_or_fail(gguf_path.string());
  ASSERT_TRUE(f);

  EXPECT_EQ(agreement["file_bytes"][gguf_path.filename().string()].get<uint64_t>(), fs::file_size(gguf_path));

  const nlohmann::json& shapes = agreement["tensor_shapes_ggml_ne"];
  ASSERT_EQ(f->tensors().size(), shapes.size());
  const std::string types_key = quant + "_tensor_types";
  for (const auto& [name, ne] : shapes.items()) {
    const TensorView* t = f->find(name);
    ASSERT_NE(t, nullptr) << name;
    // ggml pads ne with 1s to 4 dims and gguf writes ggml_n_dims (trailing 1s dropped), so the
    // quantized file stores ernie's [4, 1] exp_probs_b as [4]: compare without trailing 1s.
    std::vector<int64_t> expected = trim_trailing_ones(ne.get<std::vector<int64_t>>());
    std::vector<int64_t> actual(t->shape.rbegin(), t->shape.rend());  // back to ggml ne order
    EXPECT_EQ(trim_trailing_ones(actual), expected) << name;
    // model-f32.gguf is `convert_hf_to_gguf.py --outtype f32`: every tensor F32.
    const std::string expected_type =
        agreement.contains(types_key) ? agreement[types_key][name].get<std::string>() : std::string("F32");
    EXPECT_EQ(upper(dtype_name(t->dtype)), expected_type) << name;
    EXPECT_EQ(t->nbytes, *row_bytes(t->dtype, t->cols()) * static_cast<size_t>(t->rows())) << name;
  }

  // Metadata as llama.cpp printed it for the F32 file; llama-quantize rewrites only file_type.
  for (const auto& [key, expected] : agreement["gguf_kv"].items()) {
    if (key == "general.file_type" && quant != "f32") continue;
    const GgufValue* v = f->get(key);
    ASSERT_NE(v, nullptr) << key;
    if (expected.is_string()) {
      ASSERT_NE(v->as_string(), nullptr) << key;
      EXPECT_EQ(*v->as_string(), expected.get<std::string>()) << key;
    } else if (expected.is_number_integer()) {
      EXPECT_EQ(v->as_int(), expected.get<int64_t>()) << key;
    } else if (expected.is_number_float()) {
      EXPECT_DOUBLE_EQ(*v->as_float(), expected.get<double>()) << key;
    } else if (expected.is_boolean()) {
      EXPECT_EQ(v->as_bool(), expected.get<bool>()) << key;
    }
  }
}

TEST(GgufArch, Qwen3Q4KMMatchesLlamaCppRecord) {
  check_against_agreement(test::fixture_path("arch/qwen3/model-q4_k_m.gguf"));
  auto f = open_or_fail(test::fixture_path("arch/qwen3/model-q4_k_m.gguf"));
  ASSERT_TRUE(f);
  // README: Q6_K for output, blk.1.attn_v, blk.1.ffn_down; Q4_K for the other matrices.
  EXPECT_EQ(f->find("output.weight")->dtype, DType::Q6_K);
  EXPECT_EQ(f->find("blk.0.attn_q.weight")->dtype, DType::Q4_K);
  EXPECT_EQ(f->find("blk.0.attn_norm.weight")->dtype, DType::F32);
  EXPECT_EQ(f->find("token_embd.weight")->shape, (std::vector<int64_t>{512, 256}));
}

TEST(GgufArch, EveryArchFixtureMatchesLlamaCppRecord) {
  int checked = 0;
  for (const auto& family : fs::directory_iterator(test::fixture_path("arch"))) {
    if (!family.is_directory()) continue;
    for (const auto& entry : fs::directory_iterator(family.path())) {
      const std::string name = entry.path().filename().string();
      if (name.rfind("model-", 0) != 0 || entry.path().extension() != ".gguf") continue;
      check_against_agreement(entry.path());
      ++checked;
    }
  }
  EXPECT_EQ(checked, 21);  // 10 families x {q8_0, q4_k_m} + qwen3 f32
}

// ---------------------------------------------------------------------------------------------
// gguf_vocab/*.gguf: vocab-only files (no tensors) from llama.cpp's test suite.

TEST(GgufVocab, EveryVocabFileReadsWithConsistentArrays) {
  int checked = 0;
  for (const auto& entry : fs::directory_iterator(test::fixture_path("gguf_vocab"))) {
    if (entry.path().extension() != ".gguf") continue;
    SCOPED_TRACE(entry.path().string());
    auto f = open_or_fail(entry.path().string());
    ASSERT_TRUE(f);
    ++checked;
    EXPECT_TRUE(f->tensors().empty());
    auto model = f->get_string("tokenizer.ggml.model");
    ASSERT_TRUE(model.is_ok()) << model.status().message();
    EXPECT_TRUE(*model == "gpt2" || *model == "llama") << *model;
    const GgufValue* tokens = f->get("tokenizer.ggml.tokens");
    ASSERT_NE(tokens, nullptr);
    EXPECT_EQ(tokens->elem_type, GgufType::STRING);
    const GgufValue* token_type = f->get("tokenizer.ggml.token_type");
    ASSERT_NE(token_type, nullptr);
    EXPECT_EQ(token_type->size(), tokens->size());
    if (*model == "gpt2") {
      const GgufValue* merges = f->get("tokenizer.ggml.merges");
      ASSERT_NE(merges, nullptr);
      EXPECT_GT(merges->size(), 1000u);
    }
    // Every id of the Hugging Face golden encodings must be a token of this vocabulary.
    std::string golden = entry.path().string();
    golden.replace(golden.size() - 5, 5, ".golden.jsonl");
    for (const nlohmann::json& line : test::read_jsonl(golden))
      for (int64_t id : line["ids"].get<std::vector<int64_t>>()) {
        EXPECT_GE(id, 0);
        EXPECT_LT(static_cast<size_t>(id), tokens->size());
      }
  }
  EXPECT_EQ(checked, 5);
}

}  // namespace
}  // namespace kaiyuan

namespace kaiyuan {
namespace {

uint64_t sum_tensor_bytes(const GgufFile& f) {
  uint64_t sum = 0;
  for (const TensorView& t : f.tensors())
    for (size_t i = 0; i < t.nbytes; ++i) sum += t.data[i];
  return sum;
}

// The file is mapped with huge-page advice (large page-cache folios then map with one TLB entry
// per 2 MiB), and release_mapped_pages drops every resident page of it without changing a byte.
TEST(GgufMapping, AdvisedForHugePagesAndReleasedOnRequest) {
  auto r = GgufFile::open(test::fixture_path("stories260K/stories260K.gguf"));
  ASSERT_TRUE(r.is_ok()) << r.status().message();
  const GgufFile& f = *r.value();
  const uint8_t* data = f.tensors().at(0).data;
  const uint64_t sum = sum_tensor_bytes(f);
  test::MappingInfo before = test::mapping_of(data);
  ASSERT_FALSE(before.vm_flags.empty());
  EXPECT_GT(before.rss_kb, 0);
  const char* env = std::getenv("KAIYUAN_FILE_THP");
  if (std::filesystem::exists("/sys/kernel/mm/transparent_hugepage") && !(env && std::string(env) == "0")) {
    EXPECT_NE(before.vm_flags.find(" hg"), std::string::npos) << before.vm_flags;
  }
  f.release_mapped_pages();
  EXPECT_EQ(test::mapping_of(data).rss_kb, 0);
  EXPECT_EQ(sum_tensor_bytes(f), sum);  // read again from the page cache
}

// A file parsed from memory the caller owns is left alone (MADV_DONTNEED on heap pages would
// zero them).
TEST(GgufMapping, ParsedImagesAreNotReleased) {
  const std::string bytes = test::read_file(test::fixture_path("stories260K/stories260K.gguf"));
  std::vector<uint8_t> image(bytes.begin(), bytes.end());
  auto r = GgufFile::parse(image.data(), image.size(), "in memory");
  ASSERT_TRUE(r.is_ok()) << r.status().message();
  const uint64_t sum = sum_tensor_bytes(*r.value());
  ASSERT_GT(sum, 0u);
  r.value()->release_mapped_pages();
  EXPECT_EQ(sum_tensor_bytes(*r.value()), sum);
}

}  // namespace
}  // namespace kaiyuan
