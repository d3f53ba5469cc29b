// Every quantized tensor of the qwen3 fixture GGUFs (written by llama.cpp's llama-quantize without an
// imatrix, i.e. by ggml's quantize_row_*_ref) against our quantizer, and their gguf-py dequantization
// against ours. Offsets come from tests/kernels/data/manifest.json (make_quant_goldens.py).
#include <gtest/gtest.h>

#include <fstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "kernels/quant/quant.h"
#include "kernels/quant_test_util.h"
#include "support/test_support.h"

namespace kaiyuan::quant {
namespace {

std::vector<uint8_t> read_range(const std::string& path, int64_t offset, int64_t size) {
  std::ifstream in(path, std::ios::binary);
  std::vector<uint8_t> out(static_cast<size_t>(size));
  in.seekg(offset);
  in.read(reinterpret_cast<char*>(out.data()), size);
  EXPECT_TRUE(in.good()) << path << " @" << offset << " +" << size;
  return out;
}

std::string fnv1a64(const std::vector<float>& values) {
  uint64_t h = 0xCBF29CE484222325ull;
  const auto* bytes = reinterpret_cast<const uint8_t*>(values.data());
  for (size_t i = 0; i < values.size() * sizeof(float); ++i) h = (h ^ bytes[i]) * 0x100000001B3ull;
  char hex[17];
  std::snprintf(hex, sizeof(hex), "%016llx", static_cast<unsigned long long>(h));
  return hex;
}

TEST(QuantFixture, EveryQuantizedTensorRoundTripsLikeGgml) {
  const nlohmann::json manifest = kaiyuan::test::read_json(test::data_path("manifest.json"));
  const auto& tensors = manifest.at("fixture_tensors");
  ASSERT_GE(tensors.size(), 32u);  // 16 Q4_K_M matrices (Q4_K + Q6_K) and 16 Q8_0 matrices
  for (const auto& t : tensors) {
    const std::string name = t.at("file").get<std::string>() + ":" + t.at("tensor").get<std::string>();
    SCOPED_TRACE(name);
    const DType type = test::dtype_from_name(t.at("type"));
    const int64_t n = t.at("n");
    const int64_t n_bytes = t.at("bytes");
    ASSERT_EQ(row_bytes(type, n).value(), static_cast<size_t>(n_bytes));
    const std::vector<uint8_t> q = read_range(kaiyuan::test::fixture_path(t.at("file")), t.at("offset"), n_bytes);
    const std::vector<uint8_t> f32_bytes =
        read_range(kaiyuan::test::fixture_path(t.at("f32_file")), t.at("f32_offset"), n * 4);
    std::vector<float> x(static_cast<size_t>(n));
    std::memcpy(x.data(), f32_bytes.data(), f32_bytes.size());

    std::vector<float> deq(static_cast<size_t>(n));
    ASSERT_TRUE(dequantize_row(type, q.data(), deq.data(), n));
    EXPECT_EQ(fnv1a64(deq), t.at("dequant_fnv1a64").get<std::string>());

    std::vector<uint8_t> requant(static_cast<size_t>(n_bytes));
    ASSERT_TRUE(quantize_row(type, x.data(), requant.data(), n));
    int64_t differing_blocks = 0;
    const size_t block = dtype_traits(type).block_bytes;
    for (size_t b = 0; b < requant.size(); b += block)
      differing_blocks += std::memcmp(requant.data() + b, q.data() + b, block) != 0;
    EXPECT_EQ(differing_blocks, 0) << "of " << n_bytes / static_cast<int64_t>(block) << " blocks";
  }
}

}  // namespace
}  // namespace kaiyuan::quant
