// Golden tests of kernels/quant against gguf-py (numpy transcriptions of ggml-quants.c) and against
// blocks llama-quantize wrote into the qwen3 fixture GGUFs (tests/kernels/data/README.md).
#include "kernels/quant/quant.h"

#include <gtest/gtest.h>

#include <cmath>
#include <set>
#include <string>

#include <nlohmann/json.hpp>

#include "kernels/quant_test_util.h"
#include "support/test_support.h"

namespace kaiyuan::quant {
namespace {

using test::data_path;
using test::dtype_from_name;
using test::first_bit_mismatch;
using test::read_bytes;
using test::read_floats;

std::vector<nlohmann::json> golden_cases() {
  const nlohmann::json manifest = kaiyuan::test::read_json(data_path("manifest.json"));
  return manifest.at("cases").get<std::vector<nlohmann::json>>();
}

TEST(QuantGolden, ManifestCoversEveryFormat) {
  std::set<std::string> types;
  for (const auto& c : golden_cases()) types.insert(c.at("type").get<std::string>());
  for (const char* t : {"F32", "F16", "BF16", "Q4_0", "Q4_1", "Q5_0", "Q5_1", "Q8_0", "Q4_K", "Q5_K", "Q6_K"})
    EXPECT_TRUE(types.count(t)) << t;
}

TEST(QuantGolden, DequantizeMatchesGgufPyBitForBit) {
  for (const auto& c : golden_cases()) {
    SCOPED_TRACE(c.at("name").get<std::string>());
    const DType t = dtype_from_name(c.at("type"));
    const int64_t n = c.at("n");
    const std::vector<uint8_t> q = read_bytes(c.at("quant"));
    const std::vector<float> want = read_floats(c.at("dequant"));
    ASSERT_EQ(q.size(), row_bytes(t, n).value());
    ASSERT_EQ(want.size(), static_cast<size_t>(n));

    std::vector<float> got(static_cast<size_t>(n));
    ASSERT_TRUE(dequantize_row(t, q.data(), got.data(), n));
    const int64_t bad = first_bit_mismatch(got, want);
    EXPECT_EQ(bad, -1) << "element " << bad << ": got " << got[bad] << " want " << want[bad];

    // Same bytes one byte past an aligned address: block loads must not assume alignment.
    std::vector<uint8_t> shifted(q.size() + 1);
    std::memcpy(shifted.data() + 1, q.data(), q.size());
    std::vector<float> got_shifted(static_cast<size_t>(n));
    ASSERT_TRUE(dequantize_row(t, shifted.data() + 1, got_shifted.data(), n));
    EXPECT_EQ(first_bit_mismatch(got_shifted, want), -1);
  }
}

TEST(QuantGolden, QuantizeMatchesReferenceBytes) {
  int checked = 0;
  for (const auto& c : golden_cases()) {
    if (!c.at("quantize_exact").get<bool>()) continue;
    SCOPED_TRACE(c.at("name").get<std::string>());
    const DType t = dtype_from_name(c.at("type"));
    const int64_t n = c.at("n");
    const std::vector<float> x = read_floats(c.at("input"));
    const std::vector<uint8_t> want = read_bytes(c.at("quant"));
    ASSERT_EQ(x.size(), static_cast<size_t>(n));

    std::vector<uint8_t> got(want.size() + 1, 0xAA);
    ASSERT_TRUE(quantize_row(t, x.data(), got.data() + 1, n));  // misaligned destination
    EXPECT_EQ(got[0], 0xAA);                                  // nothing written before it
    const std::vector<uint8_t> got_row(got.begin() + 1, got.end());
    size_t bad = 0;
    while (bad < want.size() && got_row[bad] == want[bad]) ++bad;
    const size_t block = dtype_traits(t).block_bytes;
    EXPECT_EQ(bad, want.size()) << "first differing byte " << bad << " (block " << bad / block << ", byte "
                                << bad % block << "): got " << int(got_row[bad]) << " want " << int(want[bad]);
    ++checked;
  }
  EXPECT_GE(checked, 12);  // 8 synthetic (gguf-py) + 4 real llama-quantize tensors
}

TEST(QuantGolden, RealFileCasesArePresent) {
  // The fixture's Q4_K and Q6_K rows come straight from llama-quantize: name them so a missing case
  // fails loudly instead of silently shrinking the coverage above.
  std::set<std::string> names;
  for (const auto& c : golden_cases()) names.insert(c.at("name").get<std::string>());
  EXPECT_TRUE(names.count("q4_k_m_blk_0_attn_q"));
  EXPECT_TRUE(names.count("q4_k_m_output"));
  EXPECT_TRUE(names.count("q4_k_m_blk_1_ffn_down"));
  EXPECT_TRUE(names.count("q8_0_blk_0_ffn_down"));
}

TEST(QuantApi, RejectsPartialBlocksAndUnsupportedTypes) {
  std::vector<float> x(kQK_K + 1, 1.0f);
  std::vector<uint8_t> buf(4096);
  for (DType t : {DType::Q4_0, DType::Q4_1, DType::Q5_0, DType::Q5_1, DType::Q8_0, DType::Q4_K, DType::Q5_K,
                  DType::Q6_K, DType::Q8_K}) {
    SCOPED_TRACE(std::string(dtype_name(t)));
    const int64_t block = quant_traits(t)->block_elems;
    for (int64_t n : {block - 1, block + 1, int64_t{-block}}) {
      EXPECT_FALSE(quantize_row(t, x.data(), buf.data(), n)) << n;
      EXPECT_FALSE(dequantize_row(t, buf.data(), x.data(), n)) << n;
      EXPECT_TRUE(std::isnan(dot_ref(t, buf.data(), x.data(), n))) << n;
    }
    EXPECT_TRUE(quantize_row(t, x.data(), buf.data(), 0));  // an empty row is a whole number of blocks
  }
  for (DType t : {DType::Q2_K, DType::Q3_K, DType::Q8_1, DType::I8, DType::F64}) {
    EXPECT_EQ(quant_traits(t), nullptr);
    EXPECT_FALSE(quantize_row(t, x.data(), buf.data(), kQK_K));
    EXPECT_FALSE(dequantize_row(t, buf.data(), x.data(), kQK_K));
    EXPECT_TRUE(std::isnan(dot_ref(t, buf.data(), x.data(), kQK_K)));
  }
}

TEST(QuantApi, TraitsAgreeWithCoreDtypeTable) {
  for (DType t : {DType::F32, DType::F16, DType::BF16, DType::Q4_0, DType::Q4_1, DType::Q5_0, DType::Q5_1,
                  DType::Q8_0, DType::Q4_K, DType::Q5_K, DType::Q6_K, DType::Q8_K}) {
    const QuantTraits* tr = quant_traits(t);
    ASSERT_NE(tr, nullptr) << dtype_name(t);
    EXPECT_EQ(tr->block_elems, dtype_traits(t).block_elems) << dtype_name(t);
    EXPECT_EQ(tr->block_bytes, dtype_traits(t).block_bytes) << dtype_name(t);
    EXPECT_TRUE(dtype_traits(t).supported) << dtype_name(t);
  }
}

}  // namespace
}  // namespace kaiyuan::quant
