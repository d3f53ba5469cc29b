// GgufWriter: round trips of every value type and several tensor types through the reader, a
// byte-for-byte rewrite of a llama.cpp-made file, and the writer's own refusals.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "format/gguf.h"
#include "format/gguf_writer.h"
#include "support/test_support.h"

namespace kaiyuan {
namespace {

GgufValue scalar(GgufType t) {
  GgufValue v;
  v.type = t;
  return v;
}

GgufValue array_of(GgufType elem, std::vector<GgufValue> items) {
  GgufValue v = scalar(GgufType::ARRAY);
  v.elem_type = elem;
  for (GgufValue& e : items) EXPECT_TRUE(v.push_back(std::move(e)));
  return v;
}

// Deep equality of two values, reporting the first difference with its path.
void expect_same(const GgufValue& a, const GgufValue& b, const std::string& path) {
  ASSERT_EQ(a.type, b.type) << path;
  switch (a.type) {
    case GgufType::STRING: EXPECT_EQ(a.str, b.str) << path; break;
    case GgufType::F32:
    case GgufType::F64:
      if (std::isnan(a.f)) {
        EXPECT_TRUE(std::isnan(b.f)) << path;
      } else {
        EXPECT_EQ(a.f, b.f) << path;
      }
      break;
    case GgufType::ARRAY:
      ASSERT_EQ(a.elem_type, b.elem_type) << path;
      ASSERT_EQ(a.size(), b.size()) << path;
      for (size_t k = 0; k < a.size(); ++k) expect_same(a.at(k), b.at(k), path + "[" + std::to_string(k) + "]");
      break;
    default:
      EXPECT_EQ(a.u, b.u) << path;
      EXPECT_EQ(a.i, b.i) << path;
  }
}

std::vector<uint8_t> random_bytes(size_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::vector<uint8_t> out(n);
  for (uint8_t& b : out) b = static_cast<uint8_t>(rng());
  return out;
}

struct Expected {
  std::string name;
  DType dtype;
  std::vector<int64_t> shape;
  std::vector<uint8_t> bytes;
};

TEST(GgufWriter, RoundTripsEveryValueTypeAndTensor) {
  std::vector<std::pair<std::string, GgufValue>> kv;
  auto u = [](GgufType t, uint64_t x) { GgufValue v = scalar(t); v.u = x; return v; };
  auto i = [](GgufType t, int64_t x) { GgufValue v = scalar(t); v.i = x; return v; };
  auto f = [](GgufType t, double x) { GgufValue v = scalar(t); v.f = x; return v; };
  auto s = [](std::string x) { GgufValue v = scalar(GgufType::STRING); v.str = std::move(x); return v; };
  kv.emplace_back("u8", u(GgufType::U8, 255));
  kv.emplace_back("i8", i(GgufType::I8, -128));
  kv.emplace_back("u16", u(GgufType::U16, 65535));
  kv.emplace_back("i16", i(GgufType::I16, -32768));
  kv.emplace_back("u32", u(GgufType::U32, 4294967295u));
  kv.emplace_back("i32", i(GgufType::I32, std::numeric_limits<int32_t>::min()));
  kv.emplace_back("u64", u(GgufType::U64, std::numeric_limits<uint64_t>::max()));
  kv.emplace_back("i64", i(GgufType::I64, std::numeric_limits<int64_t>::min()));
  kv.emplace_back("f32", f(GgufType::F32, 1e-6f));  // a value that is exact in float
  kv.emplace_back("f32.nan", f(GgufType::F32, std::nan("")));
  kv.emplace_back("f64", f(GgufType::F64, 0.1));
  kv.emplace_back("bool.true", u(GgufType::BOOL, 1));
  kv.emplace_back("bool.false", u(GgufType::BOOL, 0));
  kv.emplace_back("string", s("héllo ✓"));
  kv.emplace_back("string.empty", s(""));
  kv.emplace_back("string.bytes", s(std::string("a\0b\xff\xe4", 5)));  // NUL and non-UTF-8 kept
  kv.emplace_back("array.u8", array_of(GgufType::U8, {u(GgufType::U8, 0), u(GgufType::U8, 200)}));
  kv.emplace_back("array.i64", array_of(GgufType::I64, {i(GgufType::I64, -1), i(GgufType::I64, 1LL << 40)}));
  kv.emplace_back("array.f32", array_of(GgufType::F32, {f(GgufType::F32, -2.5), f(GgufType::F32, 0.25)}));
  kv.emplace_back("array.f64", array_of(GgufType::F64, {f(GgufType::F64, 1e300)}));
  kv.emplace_back("array.bool", array_of(GgufType::BOOL, {u(GgufType::BOOL, 1), u(GgufType::BOOL, 0)}));
  kv.emplace_back("array.string", array_of(GgufType::STRING, {s("a"), s(""), s("\xe4\xb8")}));
  kv.emplace_back("array.empty", array_of(GgufType::U32, {}));
  kv.emplace_back("array.nested",
                  array_of(GgufType::ARRAY, {array_of(GgufType::I32, {i(GgufType::I32, 1), i(GgufType::I32, -2)}),
                                             array_of(GgufType::I32, {}),
                                             array_of(GgufType::STRING, {s("mixed element types per inner array")})}));
  GgufValue deepest = array_of(GgufType::U16, {u(GgufType::U16, 7)});
  for (int d = 1; d < kGgufMaxArrayDepth; ++d) deepest = array_of(GgufType::ARRAY, {deepest});
  kv.emplace_back("array.deepest", deepest);

  std::vector<Expected> tensors = {
      {"f32", DType::F32, {3, 5}, random_bytes(3 * 5 * 4, 1)},
      {"f16", DType::F16, {2, 64}, random_bytes(2 * 64 * 2, 2)},
      {"bf16", DType::BF16, {7}, random_bytes(7 * 2, 3)},
      {"q8_0", DType::Q8_0, {3, 64}, random_bytes(3 * 2 * 34, 4)},
      {"q4_k", DType::Q4_K, {2, 256}, random_bytes(2 * 144, 5)},
      {"q6_k.4d", DType::Q6_K, {2, 1, 3, 256}, random_bytes(6 * 210, 6)},
      {"empty", DType::F32, {0, 32}, {}},
  };

  GgufWriter w;
  ASSERT_TRUE(w.set_alignment(64));
  for (const auto& [key, value] : kv) ASSERT_TRUE(w.add(key, value)) << key;
  for (const Expected& t : tensors) {
    Status st = w.add_tensor(t.name, t.dtype, t.shape, t.bytes);
    ASSERT_TRUE(st) << st.message();
  }
  const std::vector<uint8_t> image = w.serialize();

  auto parsed = GgufFile::parse(image.data(), image.size(), "roundtrip.gguf");
  ASSERT_TRUE(parsed.is_ok()) << parsed.status().message();
  const GgufFile& g = *parsed.value();
  EXPECT_EQ(g.version(), 3u);
  EXPECT_EQ(g.alignment(), 64u);
  ASSERT_EQ(g.metadata().size(), kv.size() + 1);  // + general.alignment, written first
  EXPECT_EQ(g.metadata()[0].first, "general.alignment");
  EXPECT_EQ(g.metadata()[0].second.type, GgufType::U32);
  for (size_t k = 0; k < kv.size(); ++k) {
    EXPECT_EQ(g.metadata()[k + 1].first, kv[k].first);  // file order kept
    const GgufValue* v = g.get(kv[k].first);
    ASSERT_NE(v, nullptr) << kv[k].first;
    expect_same(kv[k].second, *v, kv[k].first);
  }
  ASSERT_EQ(g.tensors().size(), tensors.size());
  for (size_t k = 0; k < tensors.size(); ++k) {
    const TensorView& t = g.tensors()[k];
    EXPECT_EQ(t.name, tensors[k].name);
    EXPECT_EQ(t.dtype, tensors[k].dtype) << t.name;
    EXPECT_EQ(t.shape, tensors[k].shape) << t.name;
    ASSERT_EQ(t.nbytes, tensors[k].bytes.size()) << t.name;
    EXPECT_EQ(static_cast<size_t>(t.data - image.data()) % 64, 0u) << t.name;
    EXPECT_TRUE(std::equal(t.data, t.data + t.nbytes, tensors[k].bytes.begin())) << t.name;
  }

  // write() streams exactly the bytes serialize() builds, and open() reads them back.
  const std::string path = test::temp_dir() + "/roundtrip.gguf";
  ASSERT_TRUE(w.write(path));
  const std::string on_disk = test::read_file(path);
  EXPECT_EQ(on_disk, std::string(image.begin(), image.end()));
  auto opened = GgufFile::open(path);
  ASSERT_TRUE(opened.is_ok()) << opened.status().message();
  EXPECT_EQ(opened.value()->tensors().size(), tensors.size());
}

TEST(GgufWriter, TypedHelpersWriteTheDeclaredTypes) {
  GgufWriter w;
  ASSERT_TRUE(w.add_u8("a", 1));
  ASSERT_TRUE(w.add_i8("b", -1));
  ASSERT_TRUE(w.add_u16("c", 2));
  ASSERT_TRUE(w.add_i16("d", -2));
  ASSERT_TRUE(w.add_u32("e", 3));
  ASSERT_TRUE(w.add_i32("f", -3));
  ASSERT_TRUE(w.add_u64("g", 4));
  ASSERT_TRUE(w.add_i64("h", -4));
  ASSERT_TRUE(w.add_f32("i", 0.5f));
  ASSERT_TRUE(w.add_f64("j", 0.25));
  ASSERT_TRUE(w.add_bool("k", true));
  ASSERT_TRUE(w.add_string("l", "s"));
  ASSERT_TRUE(w.add_string_array("m", {"x", "y"}));
  ASSERT_TRUE(w.add_i32_array("n", {1, -1}));
  ASSERT_TRUE(w.add_f32_array("o", {1.5f}));
  const std::vector<uint8_t> image = w.serialize();
  auto r = GgufFile::parse(image.data(), image.size(), "typed.gguf");
  ASSERT_TRUE(r.is_ok()) << r.status().message();
  const GgufFile& g = *r.value();
  const GgufType expected[] = {GgufType::U8, GgufType::I8, GgufType::U16, GgufType::I16, GgufType::U32,
                               GgufType::I32, GgufType::U64, GgufType::I64, GgufType::F32, GgufType::F64,
                               GgufType::BOOL, GgufType::STRING, GgufType::ARRAY, GgufType::ARRAY, GgufType::ARRAY};
  ASSERT_EQ(g.metadata().size(), std::size(expected));
  for (size_t k = 0; k < std::size(expected); ++k) EXPECT_EQ(g.metadata()[k].second.type, expected[k]) << k;
  EXPECT_EQ(*g.get_int("b"), -1);
  EXPECT_EQ(*g.get_int("g"), 4);
  EXPECT_EQ(*g.get_float("i"), 0.5);
  EXPECT_EQ(g.get("k")->as_bool(), true);
  EXPECT_EQ(g.get("k")->as_int(), std::nullopt);  // bool is not an integer
  EXPECT_EQ(*g.get_string("l"), "s");
  EXPECT_EQ(g.get("m")->elem_type, GgufType::STRING);
  EXPECT_EQ(g.get("n")->int_at(1), -1);
  EXPECT_EQ(g.get("o")->float_at(0), 1.5);
}

// Reading a llama.cpp-made file and writing it back with GgufWriter must reproduce it byte for
// byte: same metadata encoding, tensor info layout, offsets and padding as ggml's gguf writer.
TEST(GgufWriter, RewritesALlamaCppFileByteForByte) {
  for (const char* rel : {"arch/qwen3/model-q4_k_m.gguf", "stories260K/stories260K.gguf"}) {
    SCOPED_TRACE(rel);
    const std::string path = test::fixture_path(rel);
    auto r = GgufFile::open(path);
    ASSERT_TRUE(r.is_ok()) << r.status().message();
    const GgufFile& g = *r.value();
    GgufWriter w;
    for (const auto& [key, value] : g.metadata()) ASSERT_TRUE(w.add(key, value)) << key;
    for (const TensorView& t : g.tensors())
      ASSERT_TRUE(w.add_tensor(t.name, t.dtype, t.shape, {t.data, t.nbytes})) << t.name;
    const std::vector<uint8_t> image = w.serialize();
    const std::string original = test::read_file(path);
    ASSERT_EQ(image.size(), original.size());
    EXPECT_TRUE(std::equal(image.begin(), image.end(), reinterpret_cast<const uint8_t*>(original.data())));
  }
}

TEST(GgufWriter, RefusesWhatTheReaderWouldReject) {
  GgufWriter w;
  ASSERT_TRUE(w.add_u32("k", 1));
  EXPECT_NE(w.add_u32("k", 2).message().find("duplicate metadata key 'k'"), std::string::npos);
  EXPECT_NE(w.add_u32(std::string("bad\xff"), 1).message().find("not valid UTF-8"), std::string::npos);
  EXPECT_FALSE(w.add_u32("", 1));
  EXPECT_NE(w.set_alignment(48).message().find("power of two"), std::string::npos);
  EXPECT_FALSE(w.set_alignment(0));

  GgufValue too_big = scalar(GgufType::U8);
  too_big.u = 300;
  EXPECT_NE(w.add("u8", too_big).message().find("out of range for u8"), std::string::npos);
  GgufValue mixed = array_of(GgufType::U32, {scalar(GgufType::U32)});
  EXPECT_FALSE(mixed.push_back(scalar(GgufType::STRING)));  // an array holds its elem_type only
  EXPECT_EQ(mixed.size(), 1u);
  GgufValue wide = array_of(GgufType::U8, {scalar(GgufType::U8)});
  GgufValue byte = scalar(GgufType::U8);
  byte.u = 256;
  ASSERT_TRUE(wide.push_back(byte));
  EXPECT_NE(w.add("wide", wide).message().find("element 1: value out of range for u8"), std::string::npos);
  GgufValue deep = array_of(GgufType::U8, {});
  for (int d = 0; d < kGgufMaxArrayDepth; ++d) deep = array_of(GgufType::ARRAY, {deep});
  EXPECT_NE(w.add("deep", deep).message().find("nested too deep"), std::string::npos);

  std::vector<uint8_t> bytes(144);
  EXPECT_TRUE(w.add_tensor("q", DType::Q4_K, {256}, bytes));
  EXPECT_NE(w.add_tensor("q", DType::Q4_K, {256}, bytes).message().find("duplicate tensor name 'q'"),
            std::string::npos);
  EXPECT_NE(w.add_tensor("r", DType::Q4_K, {100}, bytes).message().find("not a multiple of the q4_K block size"),
            std::string::npos);
  EXPECT_NE(w.add_tensor("s", DType::Q4_K, {512}, bytes).message().find("144 bytes given"), std::string::npos);
  EXPECT_FALSE(w.add_tensor("t", DType::F32, {}, {}));
  EXPECT_FALSE(w.add_tensor("u", DType::F32, {1, 1, 1, 1, 1}, bytes));
  EXPECT_FALSE(w.add_tensor("v", DType::F32, {-1, 4}, {}));
  EXPECT_FALSE(w.add_tensor(std::string("w\xff"), DType::F32, {36}, bytes));
  EXPECT_FALSE(w.write("/nonexistent/dir/out.gguf"));
}

}  // namespace
}  // namespace kaiyuan
