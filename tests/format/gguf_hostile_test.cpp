// GGUF reader on hostile and broken inputs: each must yield an error naming the problem (checked
// by phrase), never a crash, an out-of-bounds read or a huge allocation (the suite runs under
// ASan+UBSan; every image is parsed from a heap buffer of exactly its size).
#include <gtest/gtest.h>

#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

#include "format/gguf.h"
#include "format/gguf_writer.h"
#include "support/test_support.h"

namespace kaiyuan {
namespace {

// Hand-assembled GGUF bytes, independent of GgufWriter, so every field can be made wrong.
class RawGguf {
 public:
  RawGguf& u8(uint8_t v) { return pod(v); }
  RawGguf& u32(uint32_t v) { return pod(v); }
  RawGguf& u64(uint64_t v) { return pod(v); }
  RawGguf& str(std::string_view s) {
    u64(s.size());
    bytes_.insert(bytes_.end(), s.begin(), s.end());
    return *this;
  }
  RawGguf& header(uint64_t n_tensors, uint64_t n_kv, uint32_t version = 3) {
    bytes_.insert(bytes_.end(), {'G', 'G', 'U', 'F'});
    return u32(version).u64(n_tensors).u64(n_kv);
  }
  RawGguf& kv_u32(std::string_view key, uint32_t v) { return str(key).u32(4).u32(v); }
  // A tensor info: ne innermost first, as in the file.
  RawGguf& tensor(std::string_view name, std::vector<uint64_t> ne, uint32_t type, uint64_t offset) {
    str(name).u32(static_cast<uint32_t>(ne.size()));
    for (uint64_t d : ne) u64(d);
    return u32(type).u64(offset);
  }
  RawGguf& pad_to(size_t alignment) {
    while (bytes_.size() % alignment != 0) bytes_.push_back(0);
    return *this;
  }
  RawGguf& zeros(size_t n) {
    bytes_.insert(bytes_.end(), n, 0);
    return *this;
  }
  const std::vector<uint8_t>& bytes() const { return bytes_; }

 private:
  template <class T>
  RawGguf& pod(T v) {
    const auto* p = reinterpret_cast<const uint8_t*>(&v);
    bytes_.insert(bytes_.end(), p, p + sizeof(T));
    return *this;
  }
  std::vector<uint8_t> bytes_;
};

constexpr uint32_t kF32 = 0, kQ4_K = 12;
constexpr uint32_t kTypeU32 = 4, kTypeString = 8, kTypeArray = 9;

// Parses from an exactly-sized heap copy so ASan catches any read past the end.
Result<std::unique_ptr<GgufFile>> parse_exact(const std::vector<uint8_t>& bytes, size_t len) {
  auto copy = std::make_unique<uint8_t[]>(len == 0 ? 1 : len);
  if (len != 0) std::memcpy(copy.get(), bytes.data(), len);
  auto r = GgufFile::parse(copy.get(), len, "hostile.gguf");
  if (r.is_ok()) {
    // The views point into `copy`; touch every byte before it goes away to prove they are in bounds.
    unsigned sum = 0;
    for (const TensorView& t : r.value()->tensors())
      for (size_t k = 0; k < t.nbytes; ++k) sum += t.data[k];
    (void)sum;
  }
  return r;
}

void expect_error(const RawGguf& raw, const std::string& phrase) {
  auto r = parse_exact(raw.bytes(), raw.bytes().size());
  ASSERT_FALSE(r.is_ok()) << "expected an error containing: " << phrase;
  const std::string& msg = r.status().message();
  EXPECT_NE(msg.find(phrase), std::string::npos) << "message: " << msg << "\nexpected phrase: " << phrase;
  EXPECT_EQ(msg.rfind("hostile.gguf: ", 0), 0u) << "message does not name the file: " << msg;
}

std::unique_ptr<GgufFile> expect_ok(const RawGguf& raw) {
  auto r = parse_exact(raw.bytes(), raw.bytes().size());
  EXPECT_TRUE(r.is_ok()) << r.status().message();
  return r.is_ok() ? std::move(r).value() : nullptr;
}

// One F32 tensor 'w' of ne [8] (32 bytes) at offset 0, with optional extra metadata.
RawGguf one_tensor_file(std::vector<uint64_t> ne = {8}, uint32_t type = kF32, uint64_t offset = 0,
                        std::string_view name = "w") {
  RawGguf g;
  g.header(1, 0).tensor(name, std::move(ne), type, offset).pad_to(32).zeros(32);
  return g;
}

TEST(GgufHostile, ValidBaselineParses) {
  auto f = expect_ok(one_tensor_file());
  ASSERT_TRUE(f);
  ASSERT_EQ(f->tensors().size(), 1u);
  EXPECT_EQ(f->tensors()[0].nbytes, 32u);
  EXPECT_EQ(f->data_offset(), 64u);  // 24 header + 8+1 name + 4 + 8 + 4 + 8 = 57, aligned to 64
}

TEST(GgufHostile, TruncatedAtEveryBytePosition) {
  GgufWriter w;
  ASSERT_TRUE(w.add_string("general.architecture", "llama"));
  ASSERT_TRUE(w.add_u32("llama.block_count", 2));
  ASSERT_TRUE(w.add_f32("llama.rope.freq_base", 10000.0f));
  ASSERT_TRUE(w.add_bool("flag", true));
  ASSERT_TRUE(w.add_string_array("tokenizer.ggml.tokens", {"a", "bc", ""}));
  GgufValue nested;
  nested.type = GgufType::ARRAY;
  nested.elem_type = GgufType::ARRAY;
  for (int k = 0; k < 2; ++k) {
    GgufValue inner;
    inner.type = GgufType::ARRAY;
    inner.elem_type = GgufType::I16;
    for (int j = 0; j <= k; ++j) {
      GgufValue e;
      e.type = GgufType::I16;
      e.i = -j;
      ASSERT_TRUE(inner.push_back(e));
    }
    ASSERT_TRUE(nested.push_back(inner));
  }
  ASSERT_TRUE(w.add("nested", nested));
  std::vector<uint8_t> q8(34 * 2, 7);  // Q8_0 [1, 64]: 2 blocks of 34 bytes
  std::vector<uint8_t> f32(32, 1);     // F32 [8]: a multiple of the alignment, so no tail padding
  ASSERT_TRUE(w.add_tensor("a", DType::Q8_0, {1, 64}, q8));
  ASSERT_TRUE(w.add_tensor("b", DType::F32, {8}, f32));
  const std::vector<uint8_t> image = w.serialize();

  for (size_t len = 0; len < image.size(); ++len) {
    auto r = parse_exact(image, len);
    EXPECT_FALSE(r.is_ok()) << "prefix of " << len << " of " << image.size() << " bytes parsed";
    if (!r.is_ok()) {
      EXPECT_FALSE(r.status().message().empty());
    }
  }
  auto full = parse_exact(image, image.size());
  ASSERT_TRUE(full.is_ok()) << full.status().message();
  EXPECT_EQ(full.value()->tensors().size(), 2u);
}

TEST(GgufHostile, TooSmallOrWrongMagic) {
  RawGguf tiny;
  tiny.u8('G').u8('G');
  expect_error(tiny, "too small to be a GGUF file");
  RawGguf g;
  g.u32(0x46554746).u32(3).u64(0).u64(0);  // "FGUF"
  expect_error(g, "not a GGUF file");
}

TEST(GgufHostile, Version1And99) {
  RawGguf v1;
  v1.header(0, 0, 1);
  expect_error(v1, "GGUF version 1 is not supported");
  RawGguf v99;
  v99.header(0, 0, 99);
  expect_error(v99, "unsupported GGUF version 99");
  RawGguf big_endian;
  big_endian.header(0, 0, 0x03000000);
  expect_error(big_endian, "big-endian");
  RawGguf v2;  // v2 has v3's layout
  v2.header(0, 0, 2);
  auto f = expect_ok(v2);
  ASSERT_TRUE(f);
  EXPECT_EQ(f->version(), 2u);
}

TEST(GgufHostile, HugeCounts) {
  RawGguf tensors;
  tensors.header(uint64_t{1} << 63, 0);
  expect_error(tensors, "tensor count 9223372036854775808 is impossible");
  RawGguf kvs;
  kvs.header(0, ~uint64_t{0}).zeros(64);
  expect_error(kvs, "metadata count 18446744073709551615 is impossible");
}

TEST(GgufHostile, HugeStringLengths) {
  RawGguf key;
  key.header(0, 1).u64(uint64_t{1} << 62).zeros(16);
  expect_error(key, "string length 4611686018427387904");
  RawGguf value;
  value.header(0, 1).str("k").u32(kTypeString).u64(~uint64_t{0});
  expect_error(value, "exceeds the 0 bytes left");
  RawGguf name;
  name.header(1, 0).u64(1000).zeros(40);
  expect_error(name, "string length 1000");
}

TEST(GgufHostile, HugeArrayLength) {
  RawGguf g;
  g.header(0, 1).str("a").u32(kTypeArray).u32(kTypeU32).u64(uint64_t{1} << 61).zeros(64);
  expect_error(g, "array length 2305843009213693952 of u32 is impossible");
  RawGguf strings;  // each string needs at least its 8-byte length
  strings.header(0, 1).str("a").u32(kTypeArray).u32(kTypeString).u64(9).zeros(64);
  expect_error(strings, "array length 9 of string is impossible");
}

RawGguf nested_arrays(int depth) {
  RawGguf g;
  g.header(0, 1).str("deep").u32(kTypeArray);
  for (int d = 1; d < depth; ++d) g.u32(kTypeArray).u64(1);  // each level holds one array
  g.u32(kTypeU32).u64(1).u32(42);                           // the innermost holds one u32
  return g;
}

TEST(GgufHostile, NestedArraysTooDeep) {
  auto ok = expect_ok(nested_arrays(kGgufMaxArrayDepth));
  ASSERT_TRUE(ok);
  const GgufValue* v = ok->get("deep");
  for (int d = 1; d < kGgufMaxArrayDepth; ++d) {
    v = v->array_at(0);
    ASSERT_NE(v, nullptr) << d;
  }
  EXPECT_EQ(v->int_at(0), 42);
  expect_error(nested_arrays(kGgufMaxArrayDepth + 1), "arrays nested too deep");
  expect_error(nested_arrays(10000), "arrays nested too deep");
}

TEST(GgufHostile, UnknownValueTypes) {
  RawGguf g;
  g.header(0, 1).str("k").u32(13).u32(0);
  expect_error(g, "key 'k': unknown value type 13");
  RawGguf arr;
  arr.header(0, 1).str("k").u32(kTypeArray).u32(0xFFFFFFFF).u64(0);
  expect_error(arr, "array of unknown value type 4294967295");
  RawGguf boolean;
  boolean.header(0, 1).str("b").u32(7).u8(2);
  expect_error(boolean, "invalid bool value 2");
}

TEST(GgufHostile, UnknownTensorType) {
  expect_error(one_tensor_file({8}, 99), "tensor 'w': unknown tensor type 99");
  expect_error(one_tensor_file({8}, 4), "tensor 'w': unknown tensor type 4");  // retired Q4_2
}

TEST(GgufHostile, LongNamesAreCutShortInMessages) {
  const std::string name(5000, 'x');
  const RawGguf g = one_tensor_file({8}, 99, 0, name);
  auto r = parse_exact(g.bytes(), g.bytes().size());
  ASSERT_FALSE(r.is_ok());
  EXPECT_NE(r.status().message().find("...' (5000 bytes): unknown tensor type 99"), std::string::npos);
  EXPECT_LT(r.status().message().size(), 300u);
}

TEST(GgufHostile, DimensionCountOutOfRange) {
  RawGguf zero;
  zero.header(1, 0).str("w").u32(0).u32(kF32).u64(0).pad_to(32).zeros(32);
  expect_error(zero, "tensor 'w': n_dims 0 out of range 1..4");
  expect_error(one_tensor_file({1, 1, 1, 1, 8}), "n_dims 5 out of range");
}

TEST(GgufHostile, DimensionsOverflow) {
  expect_error(one_tensor_file({uint64_t{1} << 32, uint64_t{1} << 32}), "element count of shape");
  expect_error(one_tensor_file({uint64_t{1} << 63}), "ne[0] = 9223372036854775808 is too large");
  // 2^62 elements fit in int64, their 2^64 bytes do not.
  expect_error(one_tensor_file({uint64_t{1} << 31, uint64_t{1} << 31}), "byte size of shape");
  // A large but representable size still has to fit in the file.
  expect_error(one_tensor_file({uint64_t{1} << 40}), "extends past end of file");
}

TEST(GgufHostile, OffsetNotAlignedOrPastEnd) {
  expect_error(one_tensor_file({8}, kF32, 4), "tensor 'w': offset 4 is not a multiple of the alignment 32");
  expect_error(one_tensor_file({8}, kF32, 32),
               "hostile.gguf: tensor 'w': data [offset 96, 32 bytes] extends past end of file (size 96)");
  expect_error(one_tensor_file({8}, kF32, ~uint64_t{31}), "extends past end of file");
  RawGguf no_data;  // tensor infos but no data section at all
  no_data.header(1, 0).tensor("w", {8}, kF32, 0);
  expect_error(no_data, "tensor data section starts at offset 64, past end of file");
}

TEST(GgufHostile, OverlappingTensors) {
  RawGguf g;
  g.header(3, 0)
      .tensor("a", {16}, kF32, 0)   // [0, 64)
      .tensor("e", {0}, kF32, 32)   // empty: overlaps nothing
      .tensor("b", {8}, kF32, 32)   // [32, 64) inside a
      .pad_to(32)
      .zeros(64);
  expect_error(g, "tensors 'a' [offset 128, 64 bytes] and 'b' [offset 160, 32 bytes] overlap");
  RawGguf adjacent;  // touching is fine
  adjacent.header(2, 0).tensor("a", {8}, kF32, 0).tensor("b", {8}, kF32, 32).pad_to(32).zeros(64);
  EXPECT_TRUE(expect_ok(adjacent));
}

TEST(GgufHostile, DuplicateNamesAndKeys) {
  RawGguf tensors;
  tensors.header(2, 0).tensor("w", {8}, kF32, 0).tensor("w", {8}, kF32, 32).pad_to(32).zeros(64);
  expect_error(tensors, "duplicate tensor name 'w'");
  RawGguf keys;
  keys.header(0, 2).kv_u32("k", 1).kv_u32("k", 2);
  expect_error(keys, "duplicate metadata key 'k'");
}

RawGguf with_alignment(uint32_t type, uint64_t value) {
  RawGguf g;
  g.header(1, 1).str("general.alignment").u32(type);
  if (type == kTypeU32) g.u32(static_cast<uint32_t>(value));
  else if (type == 10) g.u64(value);
  else g.str("64");
  g.tensor("w", {8}, kF32, 0).pad_to(value == 0 || value > 4096 ? 32 : value).zeros(32);
  return g;
}

TEST(GgufHostile, AlignmentMustBeANonzeroPowerOfTwo) {
  expect_error(with_alignment(kTypeU32, 0), "general.alignment must be a nonzero power of two, got 0");
  expect_error(with_alignment(kTypeU32, 48), "general.alignment must be a nonzero power of two, got 48");
  expect_error(with_alignment(kTypeString, 64), "general.alignment: expected an unsigned integer, got string");
  auto f = expect_ok(with_alignment(10, 64));  // u64 holding 64: accepted
  ASSERT_TRUE(f);
  EXPECT_EQ(f->alignment(), 64u);
  EXPECT_EQ(f->data_offset() % 64, 0u);
}

TEST(GgufHostile, NonUtf8NamesAndKeysRejectedButValuesKept) {
  expect_error(one_tensor_file({8}, kF32, 0, "w\xff"), "tensor 0: name is not valid UTF-8 (bad byte at position 1)");
  expect_error(one_tensor_file({8}, kF32, 0, "\xc0\xaf"), "name is not valid UTF-8");      // overlong '/'
  expect_error(one_tensor_file({8}, kF32, 0, "\xed\xa0\x80"), "name is not valid UTF-8");  // a surrogate
  RawGguf key;
  key.header(0, 1).kv_u32("bad\x80key", 1);
  expect_error(key, "metadata entry 0: key is not valid UTF-8");
  RawGguf value;  // byte-level BPE pieces may be partial UTF-8: string values stay raw bytes
  value.header(0, 1).str("piece").u32(kTypeString).str("\xe4\xb8");
  auto f = expect_ok(value);
  ASSERT_TRUE(f);
  EXPECT_EQ(*f->get_string("piece"), "\xe4\xb8");
  RawGguf utf8_name;
  utf8_name.header(1, 0).tensor("блок.0 ✓", {8}, kF32, 0).pad_to(32).zeros(32);
  EXPECT_TRUE(expect_ok(utf8_name));
}

TEST(GgufHostile, InnermostDimensionMustBeWholeBlocks) {
  RawGguf g;
  g.header(1, 0).tensor("blk.0.ffn_down.weight", {100, 2}, kQ4_K, 0).pad_to(32).zeros(512);
  expect_error(g, "tensor 'blk.0.ffn_down.weight': ne[0] = 100 is not a multiple of the q4_K block size 256");
  RawGguf ok;  // ne [256, 2] of Q4_K = 2 blocks of 144 bytes
  ok.header(1, 0).tensor("q", {256, 2}, kQ4_K, 0).pad_to(32).zeros(288);
  auto f = expect_ok(ok);
  ASSERT_TRUE(f);
  EXPECT_EQ(f->tensors()[0].nbytes, 288u);
  EXPECT_EQ(f->tensors()[0].shape, (std::vector<int64_t>{2, 256}));
}

TEST(GgufHostile, EmptyTensorsAreAllowed) {
  RawGguf g;
  g.header(1, 0).tensor("empty", {32, 0}, kF32, 0).pad_to(32);
  auto f = expect_ok(g);
  ASSERT_TRUE(f);
  EXPECT_EQ(f->tensors()[0].nbytes, 0u);
  EXPECT_EQ(f->tensors()[0].shape, (std::vector<int64_t>{0, 32}));
}

TEST(GgufHostile, OpenNamesThePath) {
  auto missing = GgufFile::open("/nonexistent/model.gguf");
  ASSERT_FALSE(missing.is_ok());
  EXPECT_NE(missing.status().message().find("/nonexistent/model.gguf"), std::string::npos);
  const std::string dir = test::temp_dir();
  auto directory = GgufFile::open(dir);
  EXPECT_FALSE(directory.is_ok());
  const std::string path = dir + "/truncated.gguf";
  RawGguf g;
  g.header(5, 0);
  {
    std::FILE* f = std::fopen(path.c_str(), "wb");
    ASSERT_NE(f, nullptr);
    std::fwrite(g.bytes().data(), 1, g.bytes().size(), f);
    std::fclose(f);
  }
  auto r = GgufFile::open(path);
  ASSERT_FALSE(r.is_ok());
  EXPECT_EQ(r.status().message().rfind(path + ": tensor count 5 is impossible", 0), 0u) << r.status().message();
}

}  // namespace
}  // namespace kaiyuan
