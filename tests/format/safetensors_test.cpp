// SafetensorsFile: real fixture files against values read by the Python `safetensors` library
// (data/hf_golden.json), and hostile files that must fail with a message naming the problem.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>

#include "core/half.h"
#include "format/hf_folder.h"
#include "format/hf_test_files.h"
#include "support/test_support.h"

namespace kaiyuan {
namespace {

using test::safetensors_bytes;

std::string golden_path() { return test::format_test_data("hf_golden.json"); }

double element(const TensorView& t, int64_t i) {
  if (t.dtype == DType::F32) {
    float f;
    std::memcpy(&f, t.data + 4 * i, 4);
    return f;
  }
  uint16_t h;
  std::memcpy(&h, t.data + 2 * i, 2);
  return t.dtype == DType::BF16 ? bf16_to_f32(h) : f16_to_f32(h);
}

Result<SafetensorsFile> parse_bytes(const std::string& bytes) {
  return SafetensorsFile::parse(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size(), "mem.safetensors");
}

// Parses a file with `header` and `data_size` zero bytes of data; returns the error message.
std::string parse_error(const std::string& header, size_t data_size = 16) {
  auto r = parse_bytes(safetensors_bytes(header, std::string(data_size, '\0')));
  return r.is_ok() ? "(parsed fine)" : r.status().message();
}

TEST(Safetensors, ParsesValidFile) {
  // F32 [2, 3] = 0..5 at [0, 24), BF16 [2] = {1.0, -2.0} at [24, 28), empty F16 [0, 4].
  std::string data(28, '\0');
  for (int i = 0; i < 6; ++i) {
    const float f = static_cast<float>(i);
    std::memcpy(&data[4 * i], &f, 4);
  }
  const uint16_t bf[2] = {0x3f80, 0xc000};
  std::memcpy(&data[24], bf, 4);
  const std::string header =
      R"({"__metadata__": {"format": "pt"}, "b": {"dtype": "BF16", "shape": [2], "data_offsets": [24, 28]},)"
      R"( "a": {"dtype": "F32", "shape": [2, 3], "data_offsets": [0, 24]},)"
      R"( "e": {"dtype": "F16", "shape": [0, 4], "data_offsets": [28, 28]}})";
  const std::string bytes = safetensors_bytes(header, data);
  auto file = parse_bytes(bytes);
  ASSERT_TRUE(file.is_ok()) << file.status().message();
  ASSERT_EQ(file->tensors().size(), 3u);
  EXPECT_EQ(file->metadata().at("format"), "pt");

  const TensorView* a = file->find("a");
  ASSERT_NE(a, nullptr);
  EXPECT_EQ(a->dtype, DType::F32);
  EXPECT_EQ(a->shape, (std::vector<int64_t>{2, 3}));
  EXPECT_EQ(a->nbytes, 24u);
  EXPECT_EQ(a->rows(), 2);
  EXPECT_EQ(a->cols(), 3);
  for (int i = 0; i < 6; ++i) EXPECT_EQ(element(*a, i), i);

  const TensorView* b = file->find("b");
  ASSERT_NE(b, nullptr);
  EXPECT_EQ(b->dtype, DType::BF16);
  EXPECT_EQ(element(*b, 0), 1.0);
  EXPECT_EQ(element(*b, 1), -2.0);
  EXPECT_EQ(b->data, reinterpret_cast<const uint8_t*>(bytes.data()) + bytes.size() - 4);

  const TensorView* e = file->find("e");
  ASSERT_NE(e, nullptr);
  EXPECT_EQ(e->nbytes, 0u);
  EXPECT_EQ(file->find("c"), nullptr);
}

// ---------------------------------------------------------------------------------------------
// Real files: every tensor of every arch fixture, against the Python reader.

TEST(Safetensors, ArchFixturesMatchPythonReader) {
  const nlohmann::json golden = test::read_json(golden_path());
  ASSERT_EQ(golden.size(), 10u);
  for (const auto& [arch, expected] : golden.items()) {
    SCOPED_TRACE(arch);
    auto file = SafetensorsFile::open(test::fixture_path("arch/" + arch + "/hf/model.safetensors"));
    ASSERT_TRUE(file.is_ok()) << file.status().message();
    ASSERT_EQ(file->tensors().size(), expected["tensors"].size());
    for (const auto& [name, want] : expected["tensors"].items()) {
      SCOPED_TRACE(name);
      const TensorView* t = file->find(name);
      ASSERT_NE(t, nullptr);
      EXPECT_EQ(want["dtype"].get<std::string>(), test::safetensors_dtype_name(t->dtype));
      EXPECT_EQ(t->shape, want["shape"].get<std::vector<int64_t>>());
      double sum = 0, sum_abs = 0;
      for (int64_t i = 0; i < t->numel(); ++i) {
        sum += element(*t, i);
        sum_abs += std::fabs(element(*t, i));
      }
      EXPECT_NEAR(sum, want["sum"].get<double>(), 1e-9 * (sum_abs + 1));
      for (const auto& sample : want["samples"]) EXPECT_EQ(element(*t, sample[0].get<int64_t>()), sample[1].get<double>());
    }
  }
}

TEST(Safetensors, Stories260KFile) {
  auto file = SafetensorsFile::open(test::fixture_path("stories260K/hf/model.safetensors"));
  ASSERT_TRUE(file.is_ok()) << file.status().message();
  // embed + norm + 5 layers x 9 (2 norms, q/k/v/o, gate/up/down); no lm_head (tied).
  EXPECT_EQ(file->tensors().size(), 2u + 5u * 9u);
  for (const TensorView& t : file->tensors()) EXPECT_EQ(t.dtype, DType::F32) << t.name;
  ASSERT_NE(file->find("model.layers.4.mlp.down_proj.weight"), nullptr);
  EXPECT_EQ(file->find("model.layers.4.mlp.down_proj.weight")->shape, (std::vector<int64_t>{64, 172}));
}

TEST(Safetensors, OpenMissingFileNamesPath) {
  auto r = SafetensorsFile::open("/nonexistent/dir/model.safetensors");
  ASSERT_FALSE(r.is_ok());
  EXPECT_NE(r.status().message().find("/nonexistent/dir/model.safetensors"), std::string::npos);
}

// ---------------------------------------------------------------------------------------------
// Hostile input: each case must fail with its own message (and never crash: ASan/UBSan build).

void expect_error_contains(const std::string& message, const std::string& phrase) {
  EXPECT_NE(message.find(phrase), std::string::npos) << "message: " << message << "\nexpected phrase: " << phrase;
}

std::string header_with_length(uint64_t n, const std::string& rest) {
  std::string out(8, '\0');
  for (int i = 0; i < 8; ++i) out[i] = static_cast<char>((n >> (8 * i)) & 0xff);
  return out + rest;
}

TEST(SafetensorsHostile, TruncatedHeaderLength) {
  auto r = parse_bytes(std::string("\x10\x00\x00", 3));
  ASSERT_FALSE(r.is_ok());
  expect_error_contains(r.status().message(), "mem.safetensors: too small for a safetensors header (3 bytes)");
  auto empty = SafetensorsFile::parse(nullptr, 0, "empty");
  ASSERT_FALSE(empty.is_ok());
  expect_error_contains(empty.status().message(), "too small");
}

TEST(SafetensorsHostile, HeaderLengthPastEndOfFile) {
  auto r = parse_bytes(header_with_length(100, "{}"));
  ASSERT_FALSE(r.is_ok());
  expect_error_contains(r.status().message(), "header length 100 runs past the end of the file (10 bytes)");
}

TEST(SafetensorsHostile, HeaderLengthHuge) {
  for (uint64_t n : {uint64_t{100'000'001}, ~uint64_t{0}}) {
    auto r = parse_bytes(header_with_length(n, "{}"));
    ASSERT_FALSE(r.is_ok());
    expect_error_contains(r.status().message(), "exceeds the 100 MB limit");
  }
}

TEST(SafetensorsHostile, NotJson) {
  const std::string m = parse_error("{\"a\": {\"dtype\": ");
  expect_error_contains(m, "mem.safetensors: header: invalid JSON at byte");
  expect_error_contains(parse_error("\xff\xfe garbage"), "invalid JSON at byte 1");
}

TEST(SafetensorsHostile, DeepNesting) {
  const std::string deep(100000, '[');
  expect_error_contains(parse_error(deep), "JSON nested deeper than 4 levels");
}

TEST(SafetensorsHostile, NotAnObject) {
  expect_error_contains(parse_error("[1, 2, 3]"), "header is not a JSON object (got array)");
  expect_error_contains(parse_error("\"x\""), "header is not a JSON object (got string)");
}

TEST(SafetensorsHostile, EntryNotAnObject) {
  expect_error_contains(parse_error(R"({"w": 5})"), "tensor 'w': entry is not an object");
}

TEST(SafetensorsHostile, MissingFields) {
  expect_error_contains(parse_error(R"({"w": {"shape": [2], "data_offsets": [0, 8]}})"),
                        "mem.safetensors: tensor 'w': missing or non-string dtype");
  expect_error_contains(parse_error(R"({"w": {"dtype": 5, "shape": [2], "data_offsets": [0, 8]}})"),
                        "tensor 'w': missing or non-string dtype");
  expect_error_contains(parse_error(R"({"w": {"dtype": "F32", "data_offsets": [0, 8]}})"), "tensor 'w': missing shape");
  expect_error_contains(parse_error(R"({"w": {"dtype": "F32", "shape": 2, "data_offsets": [0, 8]}})"),
                        "tensor 'w': missing shape");
  expect_error_contains(parse_error(R"({"w": {"dtype": "F32", "shape": [2]}})"), "tensor 'w': missing data_offsets");
  expect_error_contains(parse_error(R"({"w": {"dtype": "F32", "shape": [2], "data_offsets": [0]}})"),
                        "tensor 'w': missing data_offsets");
  expect_error_contains(parse_error(R"({"w": {"dtype": "F32", "shape": [2], "data_offsets": [-8, 0]}})"),
                        "tensor 'w': missing data_offsets");
}

TEST(SafetensorsHostile, BadShape) {
  expect_error_contains(parse_error(R"({"w": {"dtype": "F32", "shape": [2, -1], "data_offsets": [0, 8]}})"),
                        "tensor 'w': shape [2,-1] must hold non-negative integers");
  expect_error_contains(parse_error(R"({"w": {"dtype": "F32", "shape": [2.5], "data_offsets": [0, 8]}})"),
                        "must hold non-negative integers");
  expect_error_contains(parse_error(R"({"w": {"dtype": "F32", "shape": ["2"], "data_offsets": [0, 8]}})"),
                        "must hold non-negative integers");
  // 2^32 * 2^32 elements overflows u64; 2^62 F32 elements overflow the byte count.
  expect_error_contains(
      parse_error(R"({"w": {"dtype": "F32", "shape": [4294967296, 4294967296], "data_offsets": [0, 8]}})"),
      "tensor 'w': shape [4294967296,4294967296] is too large");
  expect_error_contains(parse_error(R"({"w": {"dtype": "F32", "shape": [4611686018427387904], "data_offsets": [0, 8]}})"),
                        "is too large");
  expect_error_contains(parse_error(R"({"w": {"dtype": "F32", "shape": [18446744073709551615, 0], "data_offsets": [0, 0]}})"),
                        "is too large");
}

TEST(SafetensorsHostile, UnsupportedDtype) {
  for (const char* dtype : {"I64", "F8_E4M3", "F64", "BOOL", "f32", ""}) {
    const std::string header =
        std::string(R"({"w": {"dtype": ")") + dtype + R"(", "shape": [2], "data_offsets": [0, 8]}})";
    expect_error_contains(parse_error(header),
                          std::string("tensor 'w': unsupported dtype ") + dtype + " (supported: F32, F16, BF16)");
  }
}

TEST(SafetensorsHostile, OffsetsPastEnd) {
  expect_error_contains(parse_error(R"({"w": {"dtype": "F32", "shape": [2], "data_offsets": [12, 20]}})"),
                        "mem.safetensors: tensor 'w': data_offsets [12, 20] exceed the data section (16 bytes)");
  expect_error_contains(
      parse_error(R"({"w": {"dtype": "F32", "shape": [0], "data_offsets": [18446744073709551615, 18446744073709551615]}})"),
      "exceed the data section (16 bytes)");
}

TEST(SafetensorsHostile, OffsetsReversed) {
  expect_error_contains(parse_error(R"({"w": {"dtype": "F32", "shape": [2], "data_offsets": [8, 0]}})"),
                        "tensor 'w': data_offsets [8, 0] begin after they end");
}

TEST(SafetensorsHostile, SizeMismatch) {
  expect_error_contains(parse_error(R"({"w": {"dtype": "BF16", "shape": [3, 2], "data_offsets": [0, 16]}})"),
                        "tensor 'w': data_offsets [0, 16] hold 16 bytes but BF16 [3, 2] needs 12");
}

TEST(SafetensorsHostile, OverlappingTensors) {
  expect_error_contains(parse_error(R"({"a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]},)"
                                    R"( "b": {"dtype": "F32", "shape": [2], "data_offsets": [4, 12]}})"),
                        "tensors 'a' [0, 8] and 'b' [4, 12] overlap");
  // A short tensor inside a long one, with an empty tensor in between, is still caught.
  expect_error_contains(parse_error(R"({"long": {"dtype": "F32", "shape": [4], "data_offsets": [0, 16]},)"
                                    R"( "empty": {"dtype": "F32", "shape": [0], "data_offsets": [2, 2]},)"
                                    R"( "inner": {"dtype": "F32", "shape": [1], "data_offsets": [8, 12]}})"),
                        "tensors 'long' [0, 16] and 'inner' [8, 12] overlap");
  // Adjacent tensors and empty tensors anywhere are fine.
  EXPECT_EQ(parse_error(R"({"a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]},)"
                        R"( "z": {"dtype": "F32", "shape": [0], "data_offsets": [4, 4]},)"
                        R"( "b": {"dtype": "F32", "shape": [2], "data_offsets": [8, 16]}})"),
            "(parsed fine)");
}

TEST(SafetensorsHostile, BadMetadata) {
  expect_error_contains(parse_error(R"({"__metadata__": {"format": 1}})"), "__metadata__ entry 'format' is not a string");
  expect_error_contains(parse_error(R"({"__metadata__": [1]})"), "__metadata__ must be an object of strings");
}

}  // namespace
}  // namespace kaiyuan
