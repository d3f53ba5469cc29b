// HfFolder: real fixture folders (stories260K against its llama2.c checkpoint; the ten arch
// families against the tensor names llama.cpp's converter wrote), a sharded copy built at test
// time, and hostile folders.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <tuple>
#include <regex>
#include <set>

#include "format/hf_folder.h"
#include "format/tensor_names.h"
#include "format/hf_test_files.h"
#include "support/test_support.h"

namespace kaiyuan {
namespace {

namespace fs = std::filesystem;

std::vector<float> floats_of(const TensorView& t) {
  EXPECT_EQ(t.dtype, DType::F32) << t.name;
  std::vector<float> out(static_cast<size_t>(t.numel()));
  std::memcpy(out.data(), t.data, out.size() * 4);
  return out;
}

// ---------------------------------------------------------------------------------------------
// stories260K: the HF folder against the llama2.c checkpoint (layout in fixtures/README.md).

struct Llama2cCheckpoint {
  int32_t dim, hidden_dim, n_layers, n_heads, n_kv_heads, vocab_size, seq_len;
  std::vector<float> weights;
  // Offsets (in floats) of the arrays, in file order.
  size_t tok_emb, rms_att, wq, wk, wv, wo, rms_ffn, w1, w2, w3, rms_final;
};

Llama2cCheckpoint read_llama2c(const std::string& path) {
  const std::string bytes = test::read_file(path);
  Llama2cCheckpoint c{};
  std::memcpy(&c.dim, bytes.data(), 28);
  c.weights.resize((bytes.size() - 28) / 4);
  std::memcpy(c.weights.data(), bytes.data() + 28, c.weights.size() * 4);
  const size_t d = c.dim, h = c.hidden_dim, l = c.n_layers, kv = d / c.n_heads * c.n_kv_heads;
  size_t at = 0;
  auto take = [&at](size_t n) { size_t start = at; at += n; return start; };
  c.tok_emb = take(c.vocab_size * d);
  c.rms_att = take(l * d);
  c.wq = take(l * d * d);
  c.wk = take(l * kv * d);
  c.wv = take(l * kv * d);
  c.wo = take(l * d * d);
  c.rms_ffn = take(l * d);
  c.w1 = take(l * h * d);
  c.w2 = take(l * d * h);
  c.w3 = take(l * h * d);
  c.rms_final = take(d);
  return c;
}

std::vector<float> slice(const Llama2cCheckpoint& c, size_t offset, size_t n) {
  return std::vector<float>(c.weights.begin() + offset, c.weights.begin() + offset + n);
}

TEST(HfFolder, Stories260K) {
  auto folder = HfFolder::open(test::fixture_path("stories260K/hf"));
  ASSERT_TRUE(folder.is_ok()) << folder.status().message();
  const HfFolder& f = **folder;
  EXPECT_EQ(f.format_name(), "safetensors");
  EXPECT_EQ(f.config()["hidden_size"], 64);
  EXPECT_EQ(f.config()["tie_word_embeddings"], true);
  EXPECT_TRUE(f.generation_config().is_object());
  EXPECT_FALSE(f.generation_config().empty());

  EXPECT_EQ(f.tensors().size(), 47u);
  for (const TensorView& t : f.tensors()) {
    EXPECT_EQ(t.dtype, DType::F32) << t.name;
    EXPECT_EQ(t.name.find("model."), std::string::npos) << "unmapped: " << t.name;
  }
  ASSERT_NE(f.find("token_embd.weight"), nullptr);
  EXPECT_EQ(f.find("token_embd.weight")->shape, (std::vector<int64_t>{512, 64}));
  ASSERT_NE(f.find("blk.0.attn_k.weight"), nullptr);
  EXPECT_EQ(f.find("blk.0.attn_k.weight")->shape, (std::vector<int64_t>{32, 64}));
  EXPECT_EQ(f.find("blk.4.ffn_down.weight")->shape, (std::vector<int64_t>{64, 172}));
  EXPECT_EQ(f.find("output.weight"), nullptr);  // tied to token_embd
  EXPECT_EQ(f.find("model.embed_tokens.weight"), nullptr);

  const Llama2cCheckpoint c = read_llama2c(test::fixture_path("stories260K/stories260K.bin"));
  ASSERT_EQ(c.dim, 64);
  const size_t d = 64, h = 172, kv = 32;
  // Embedding row 5 = tok_emb[5]; output_norm = rms_final.
  const std::vector<float> emb = floats_of(*f.find("token_embd.weight"));
  EXPECT_EQ(std::vector<float>(emb.begin() + 5 * d, emb.begin() + 6 * d), slice(c, c.tok_emb + 5 * d, d));
  EXPECT_EQ(floats_of(*f.find("output_norm.weight")), slice(c, c.rms_final, d));
  for (size_t l = 0; l < 5; ++l) {
    const std::string blk = "blk." + std::to_string(l) + ".";
    SCOPED_TRACE(blk);
    EXPECT_EQ(floats_of(*f.find(blk + "attn_norm.weight")), slice(c, c.rms_att + l * d, d));
    EXPECT_EQ(floats_of(*f.find(blk + "ffn_norm.weight")), slice(c, c.rms_ffn + l * d, d));
    EXPECT_EQ(floats_of(*f.find(blk + "attn_v.weight")), slice(c, c.wv + l * kv * d, kv * d));
    EXPECT_EQ(floats_of(*f.find(blk + "attn_output.weight")), slice(c, c.wo + l * d * d, d * d));
    EXPECT_EQ(floats_of(*f.find(blk + "ffn_gate.weight")), slice(c, c.w1 + l * h * d, h * d));
    EXPECT_EQ(floats_of(*f.find(blk + "ffn_down.weight")), slice(c, c.w2 + l * d * h, d * h));
    EXPECT_EQ(floats_of(*f.find(blk + "ffn_up.weight")), slice(c, c.w3 + l * h * d, h * d));
    // q/k rows are permuted (fixtures/README.md): per head, HF row c*(hd/2)+i = llama2.c row 2i+c.
    const size_t hd = 8;
    for (auto [name, base, n_heads] : {std::tuple{"attn_q.weight", c.wq + l * d * d, size_t{8}},
                                       std::tuple{"attn_k.weight", c.wk + l * kv * d, size_t{4}}}) {
      const std::vector<float> hf = floats_of(*f.find(blk + name));
      for (size_t head = 0; head < n_heads; ++head)
        for (size_t half = 0; half < 2; ++half)
          for (size_t i = 0; i < hd / 2; ++i) {
            const size_t hf_row = head * hd + half * (hd / 2) + i;
            const size_t meta_row = head * hd + 2 * i + half;
            ASSERT_EQ(std::vector<float>(hf.begin() + hf_row * d, hf.begin() + (hf_row + 1) * d),
                      slice(c, base + meta_row * d, d))
                << name << " row " << hf_row;
          }
    }
  }
}

// ---------------------------------------------------------------------------------------------
// arch/*: our canonical names against the GGUF names llama.cpp's converter gave the same weights
// (data/hf_golden.json). Known, documented differences:
//  - llama.cpp stacks experts ("blk.N.ffn_gate_exps.weight"); we keep "blk.N.ffn_gate.E.weight";
//  - llama.cpp splits DeepSeek's attn_kv_b into attn_k_b + attn_v_b; we keep attn_kv_b;
//  - llama.cpp calls post_attention_layernorm "post_attention_norm" for seed_oss and glm4moe, where
//    it is the same pre-FFN norm that every other family calls ffn_norm; we say ffn_norm throughout;
//  - llama.cpp adds llama3's "rope_freqs.weight" (computed, not in the checkpoint).
std::string gguf_equivalent(const std::string& canonical) {
  static const std::regex expert(R"((blk\.\d+\.ffn_(gate|up|down))\.\d+\.weight)");
  std::smatch m;
  if (std::regex_match(canonical, m, expert)) return m[1].str() + "_exps.weight";
  return canonical;
}

TEST(HfFolder, ArchFamiliesMapToLlamaCppNames) {
  const nlohmann::json golden = test::read_json(test::format_test_data("hf_golden.json"));
  ASSERT_EQ(golden.size(), 10u);
  for (const auto& [arch, expected] : golden.items()) {
    SCOPED_TRACE(arch);
    auto folder = HfFolder::open(test::fixture_path("arch/" + arch + "/hf"));
    ASSERT_TRUE(folder.is_ok()) << folder.status().message();
    const HfFolder& f = **folder;
    ASSERT_EQ(f.tensors().size(), expected["tensors"].size());
    EXPECT_TRUE(f.config().contains("model_type"));

    std::set<std::string> ours;
    for (const TensorView& t : f.tensors()) {
      EXPECT_NE(t.name.rfind("model.", 0), 0u) << "no canonical name for " << t.name;
      std::string name = gguf_equivalent(t.name);
      if (name.ends_with(".attn_kv_b.weight")) {
        const std::string blk = name.substr(0, name.size() - std::string("attn_kv_b.weight").size());
        ours.insert(blk + "attn_k_b.weight");
        name = blk + "attn_v_b.weight";
      }
      ours.insert(name);
    }
    std::set<std::string> theirs;
    for (const auto& n : expected["gguf_names"]) {
      std::string name = n.get<std::string>();
      if (name == "rope_freqs.weight") continue;
      if (name.ends_with(".post_attention_norm.weight"))
        name = name.substr(0, name.find(".post_attention_norm")) + ".ffn_norm.weight";
      theirs.insert(name);
    }
    EXPECT_EQ(ours, theirs);

    // Views are the file's bytes: shape and dtype as the Python reader saw them under the HF name.
    for (const auto& [hf_name, want] : expected["tensors"].items()) {
      const TensorView* t = f.find(hf_to_canonical_name(hf_name).value_or(hf_name));
      ASSERT_NE(t, nullptr) << hf_name;
      EXPECT_EQ(t->shape, want["shape"].get<std::vector<int64_t>>()) << hf_name;
    }
  }
}

TEST(HfFolder, DenseFamiliesExactNames) {
  // Spelled out for one dense family, so a regression names the tensor.
  auto folder = HfFolder::open(test::fixture_path("arch/qwen3/hf"));
  ASSERT_TRUE(folder.is_ok()) << folder.status().message();
  const HfFolder& f = **folder;
  for (const char* name : {"token_embd.weight", "output_norm.weight", "output.weight", "blk.1.attn_norm.weight",
                           "blk.1.ffn_norm.weight", "blk.1.attn_q.weight", "blk.1.attn_k.weight", "blk.1.attn_v.weight",
                           "blk.1.attn_output.weight", "blk.1.attn_q_norm.weight", "blk.1.attn_k_norm.weight",
                           "blk.1.ffn_gate.weight", "blk.1.ffn_up.weight", "blk.1.ffn_down.weight"}) {
    const TensorView* t = f.find(name);
    ASSERT_NE(t, nullptr) << name;
    EXPECT_EQ(t->dtype, DType::BF16) << name;
  }
  EXPECT_EQ(f.find("blk.1.attn_q.weight")->shape, (std::vector<int64_t>{256, 256}));
  EXPECT_EQ(f.find("blk.1.attn_k_norm.weight")->shape, (std::vector<int64_t>{64}));
}

// ---------------------------------------------------------------------------------------------
// Sharded folders, written at test time.

std::string make_folder(const std::string& config = R"({"model_type": "qwen3"})") {
  const std::string dir = test::temp_dir();
  fs::create_directories(dir);
  test::write_binary_file(dir + "/config.json", config);
  return dir;
}

void write_index(const std::string& dir, const nlohmann::json& weight_map) {
  const nlohmann::json index = {{"metadata", {{"total_size", 0}}}, {"weight_map", weight_map}};
  test::write_binary_file(dir + "/model.safetensors.index.json", index.dump(2));
}

TEST(HfFolder, ShardedEqualsSingleFile) {
  const std::string src = test::fixture_path("arch/qwen3/hf");
  auto single = SafetensorsFile::open(src + "/model.safetensors");
  ASSERT_TRUE(single.is_ok()) << single.status().message();

  // Odd-indexed tensors in shard 1, the rest in shard 2 (in reverse order, so offsets differ).
  std::vector<TensorView> part1, part2;
  nlohmann::json weight_map = nlohmann::json::object();
  const auto& all = single->tensors();
  for (size_t i = 0; i < all.size(); ++i) {
    const bool first = i % 2 == 1;
    (first ? part1 : part2).push_back(all[i]);
    weight_map[all[i].name] = first ? "model-00001-of-00002.safetensors" : "model-00002-of-00002.safetensors";
  }
  std::reverse(part2.begin(), part2.end());
  const std::string dir = make_folder(test::read_file(src + "/config.json"));
  test::write_binary_file(dir + "/model-00001-of-00002.safetensors", test::safetensors_from_views(part1));
  test::write_binary_file(dir + "/model-00002-of-00002.safetensors", test::safetensors_from_views(part2));
  write_index(dir, weight_map);

  auto sharded = HfFolder::open(dir);
  ASSERT_TRUE(sharded.is_ok()) << sharded.status().message();
  auto reference = HfFolder::open(src);
  ASSERT_TRUE(reference.is_ok()) << reference.status().message();
  ASSERT_EQ((*sharded)->tensors().size(), (*reference)->tensors().size());
  EXPECT_EQ((*sharded)->config(), (*reference)->config());
  EXPECT_TRUE((*sharded)->generation_config().is_object());
  EXPECT_TRUE((*sharded)->generation_config().empty());  // absent -> {}
  for (const TensorView& want : (*reference)->tensors()) {
    const TensorView* got = (*sharded)->find(want.name);
    ASSERT_NE(got, nullptr) << want.name;
    EXPECT_EQ(got->dtype, want.dtype) << want.name;
    EXPECT_EQ(got->shape, want.shape) << want.name;
    ASSERT_EQ(got->nbytes, want.nbytes) << want.name;
    EXPECT_NE(got->data, want.data);
    EXPECT_EQ(std::memcmp(got->data, want.data, want.nbytes), 0) << want.name;
  }
}

TEST(HfFolder, IsHfFolder) {
  EXPECT_TRUE(is_hf_folder(test::fixture_path("stories260K/hf")));
  EXPECT_FALSE(is_hf_folder(test::fixture_path("stories260K")));  // no config.json
  EXPECT_FALSE(is_hf_folder(test::fixture_path("stories260K/stories260K.gguf")));
  EXPECT_FALSE(is_hf_folder("/nonexistent/folder"));
}

// ---------------------------------------------------------------------------------------------
// Hostile folders.

std::string open_error(const std::string& dir) {
  auto r = HfFolder::open(dir);
  return r.is_ok() ? "(opened fine)" : r.status().message();
}

void expect_error_contains(const std::string& message, const std::string& phrase) {
  EXPECT_NE(message.find(phrase), std::string::npos) << "message: " << message << "\nexpected phrase: " << phrase;
}

// A one-tensor shard "a.safetensors" holding "model.norm.weight" (F32 [2]).
std::string one_tensor_shard(const std::string& name = "model.norm.weight") {
  const float values[2] = {1.0f, 2.0f};
  TensorView v;
  v.name = name;
  v.dtype = DType::F32;
  v.shape = {2};
  v.data = reinterpret_cast<const uint8_t*>(values);
  v.nbytes = 8;
  return test::safetensors_from_views({v});
}

TEST(HfFolderHostile, NotADirectory) {
  expect_error_contains(open_error("/nonexistent/folder"), "/nonexistent/folder: not a directory");
}

TEST(HfFolderHostile, MissingConfig) {
  const std::string dir = test::temp_dir();
  fs::create_directories(dir);
  test::write_binary_file(dir + "/model.safetensors", one_tensor_shard());
  expect_error_contains(open_error(dir), dir + ": no config.json");
}

TEST(HfFolderHostile, InvalidConfig) {
  const std::string dir = make_folder("{\"hidden_size\": 64,\n \"x\": }");
  const std::string m = open_error(dir);
  // The '}' is byte 27 (1-based), line 2 column 7.
  expect_error_contains(m, dir + "/config.json: invalid JSON at byte 27");
  expect_error_contains(m, "line 2, column 7");
}

TEST(HfFolderHostile, ConfigNotAnObject) {
  expect_error_contains(open_error(make_folder("[64]")), "config.json: expected a JSON object, got array");
}

TEST(HfFolderHostile, InvalidGenerationConfig) {
  const std::string dir = make_folder();
  test::write_binary_file(dir + "/generation_config.json", "{\"eos\": 2,}");
  test::write_binary_file(dir + "/model.safetensors", one_tensor_shard());
  expect_error_contains(open_error(dir), dir + "/generation_config.json: invalid JSON at byte");
}

TEST(HfFolderHostile, NoWeights) {
  expect_error_contains(open_error(make_folder()), "no model.safetensors or model.safetensors.index.json");
}

TEST(HfFolderHostile, BadSingleFileNamesIt) {
  const std::string dir = make_folder();
  test::write_binary_file(dir + "/model.safetensors", "short");
  expect_error_contains(open_error(dir), dir + "/model.safetensors: too small for a safetensors header");
}

TEST(HfFolderHostile, IndexMissingShard) {
  const std::string dir = make_folder();
  write_index(dir, {{"model.norm.weight", "model-00001-of-00002.safetensors"}});
  const std::string m = open_error(dir);
  expect_error_contains(m, dir + "/model-00001-of-00002.safetensors: cannot open");
}

TEST(HfFolderHostile, IndexTensorMissingFromShard) {
  const std::string dir = make_folder();
  test::write_binary_file(dir + "/a.safetensors", one_tensor_shard());
  write_index(dir, {{"model.norm.weight", "a.safetensors"}, {"lm_head.weight", "a.safetensors"}});
  expect_error_contains(open_error(dir),
                        "model.safetensors.index.json: tensor 'lm_head.weight' is listed in shard 'a.safetensors' "
                        "but is not in that shard");
}

TEST(HfFolderHostile, IndexPathEscapesFolder) {
  const std::string dir = make_folder();
  fs::create_directories(dir + "/sub");
  test::write_binary_file(dir + "/a.safetensors", one_tensor_shard());
  test::write_binary_file(dir + "/sub/b.safetensors", one_tensor_shard());
  for (const std::string& shard : {std::string("../a.safetensors"), std::string("sub/../a.safetensors"),
                                   std::string("sub/../../etc/passwd"), std::string("..")}) {
    write_index(dir, {{"model.norm.weight", shard}});
    expect_error_contains(open_error(dir), "tensor 'model.norm.weight': shard file '" + shard + "' contains '..'");
  }
  write_index(dir, {{"model.norm.weight", dir + "/a.safetensors"}});
  expect_error_contains(open_error(dir), "is an absolute path");
  write_index(dir, {{"model.norm.weight", ""}});
  expect_error_contains(open_error(dir), "empty shard file name");
  // A plain subfolder is inside the folder: fine.
  write_index(dir, {{"model.norm.weight", "sub/b.safetensors"}});
  EXPECT_EQ(open_error(dir), "(opened fine)");
}

TEST(HfFolderHostile, IndexMalformed) {
  const std::string dir = make_folder();
  test::write_binary_file(dir + "/model.safetensors.index.json", R"({"metadata": {}})");
  expect_error_contains(open_error(dir), "missing \"weight_map\" object");
  test::write_binary_file(dir + "/model.safetensors.index.json", R"({"weight_map": {"x": 3}})");
  expect_error_contains(open_error(dir), "weight_map['x'] is not a file name");
  test::write_binary_file(dir + "/model.safetensors.index.json", R"({"weight_map": )");
  expect_error_contains(open_error(dir), "model.safetensors.index.json: invalid JSON at byte");
}

TEST(HfFolderHostile, DuplicateCanonicalNames) {
  const std::string dir = make_folder();
  test::write_binary_file(dir + "/a.safetensors", one_tensor_shard("model.norm.weight"));
  test::write_binary_file(dir + "/b.safetensors", one_tensor_shard("output_norm.weight"));
  write_index(dir, {{"model.norm.weight", "a.safetensors"}, {"output_norm.weight", "b.safetensors"}});
  expect_error_contains(open_error(dir), "both map to the canonical name 'output_norm.weight'");
}

}  // namespace
}  // namespace kaiyuan
