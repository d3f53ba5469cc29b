// Hostile or broken model files at the model level: every problem is reported at load time with
// the tensor or key named, never discovered inside a kernel or as a crash. Variants of the real
// stories260K GGUF are written with one thing wrong each.
#include <gtest/gtest.h>

#include <functional>

#include "format/gguf.h"
#include "format/gguf_writer.h"
#include "model/model.h"
#include "test_support.h"

namespace kaiyuan {
namespace {

using Mutation = std::function<void(std::string& name, DType& dtype, std::vector<int64_t>& shape, bool& keep)>;
using MetaMutation = std::function<void(const std::string& key, GgufValue& value, bool& keep)>;

// Rewrites stories260K.gguf through the writer, letting the mutations change metadata or tensors.
std::string write_variant(const Mutation& mutate_tensor, const MetaMutation& mutate_meta = nullptr) {
  auto src = GgufFile::open(test::fixture_path("stories260K/stories260K.gguf"));
  EXPECT_TRUE(src.is_ok());
  GgufWriter w;
  for (const auto& [key, value] : (*src)->metadata()) {
    if (key == "general.alignment") continue;
    GgufValue v = value;
    bool keep = true;
    if (mutate_meta) mutate_meta(key, v, keep);
    if (keep) {
      EXPECT_TRUE(w.add(key, v).is_ok()) << key;
    }
  }
  for (const TensorView& t : (*src)->tensors()) {
    std::string name = t.name;
    DType dtype = t.dtype;
    std::vector<int64_t> shape = t.shape;
    bool keep = true;
    if (mutate_tensor) mutate_tensor(name, dtype, shape, keep);
    if (!keep) continue;
    std::vector<uint8_t> bytes(t.data, t.data + t.nbytes);
    const auto rb = row_bytes(dtype, shape.empty() ? 1 : shape.back());
    int64_t rows = 1;
    for (size_t i = 0; i + 1 < shape.size(); ++i) rows *= shape[i];
    if (rb) bytes.resize(*rb * static_cast<size_t>(rows));  // keep the file self-consistent
    Status st = w.add_tensor_copy(name, dtype, shape, std::move(bytes));
    EXPECT_TRUE(st.is_ok()) << st.message();
  }
  const std::string path = test::temp_dir() + "/variant.gguf";
  EXPECT_TRUE(w.write(path).is_ok());
  return path;
}

std::string load_error(const std::string& path) {
  auto m = load_model(path);
  return m.is_ok() ? std::string("(loaded fine)") : m.status().message();
}

TEST(ModelBinding, UnchangedCopyLoads) {
  auto m = load_model(write_variant(nullptr));
  ASSERT_TRUE(m.is_ok()) << m.status().message();
}

TEST(ModelBinding, MissingTensorIsNamed) {
  const std::string err = load_error(write_variant([](auto& name, auto&, auto&, bool& keep) {
    if (name == "blk.2.ffn_up.weight") keep = false;
  }));
  EXPECT_NE(err.find("missing tensor 'blk.2.ffn_up.weight'"), std::string::npos) << err;
}

TEST(ModelBinding, WrongShapeIsNamed) {
  const std::string err = load_error(write_variant([](auto& name, auto&, auto& shape, bool&) {
    if (name == "blk.1.attn_k.weight") shape = {64, 64};  // expected [32, 64]
  }));
  EXPECT_NE(err.find("blk.1.attn_k.weight: shape [64, 64], expected [32, 64]"), std::string::npos) << err;
}

TEST(ModelBinding, UnsupportedTypeIsNamed) {
  const std::string err = load_error(write_variant([](auto& name, auto& dtype, auto&, bool&) {
    if (name == "blk.0.attn_q.weight") dtype = DType::I32;
  }));
  EXPECT_NE(err.find("blk.0.attn_q.weight: tensor type i32 is not supported"), std::string::npos) << err;
}

TEST(ModelBinding, WrongNormLengthIsNamed) {
  const std::string err = load_error(write_variant([](auto& name, auto&, auto& shape, bool&) {
    if (name == "output_norm.weight") shape = {32};
  }));
  EXPECT_NE(err.find("output_norm.weight: shape [32], expected [64]"), std::string::npos) << err;
}

TEST(ModelBinding, MissingArchitectureKeyIsNamed) {
  const std::string err = load_error(write_variant(nullptr, [](const std::string& key, GgufValue&, bool& keep) {
    if (key == "llama.block_count") keep = false;
  }));
  EXPECT_NE(err.find("llama.block_count"), std::string::npos) << err;
}

TEST(ModelBinding, AbsurdDimensionsAreRejected) {
  for (const char* key : {"llama.embedding_length", "llama.attention.head_count", "llama.block_count"}) {
    const std::string err = load_error(write_variant(nullptr, [&](const std::string& k, GgufValue& v, bool&) {
      if (k == key) v.u = v.i = int64_t{1} << 30;
    }));
    EXPECT_NE(err.find("out of range"), std::string::npos) << key << ": " << err;
  }
}

TEST(ModelBinding, KvHeadsNotDividingHeadsIsRejected) {
  const std::string err = load_error(write_variant(nullptr, [](const std::string& k, GgufValue& v, bool&) {
    if (k == "llama.attention.head_count_kv") v.u = v.i = 3;
  }));
  EXPECT_NE(err.find("not a multiple of n_kv_heads"), std::string::npos) << err;
}

TEST(ModelBinding, UnknownArchitectureListsSupportedOnes) {
  const std::string err = load_error(write_variant(nullptr, [](const std::string& k, GgufValue& v, bool&) {
    if (k == "general.architecture") v.str = "nonexistent";
  }));
  EXPECT_NE(err.find("nonexistent"), std::string::npos) << err;
}

TEST(ModelBinding, HfFolderWithoutConfigIsExplained) {
  const std::string dir = test::temp_dir();
  const std::string err = load_error(dir);
  EXPECT_NE(err.find("config.json"), std::string::npos) << err;
}

}  // namespace
}  // namespace kaiyuan
