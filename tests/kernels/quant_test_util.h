// Helpers for the quant tests: the golden files in tests/kernels/data and bit-exact comparisons.
#pragma once

#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "core/dtype.h"

namespace kaiyuan::quant::test {

// tests/kernels/data beside this header (CMake compiles with absolute source paths, so __FILE__
// locates the checkout without a configure-time definition).
inline std::string data_path(const std::string& name) {
  return (std::filesystem::path(__FILE__).parent_path() / "data" / name).string();
}

inline std::vector<uint8_t> read_bytes(const std::string& name) {
  std::ifstream in(data_path(name), std::ios::binary);
  EXPECT_TRUE(in.good()) << "cannot open " << data_path(name);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

inline std::vector<float> read_floats(const std::string& name) {
  const std::vector<uint8_t> bytes = read_bytes(name);
  std::vector<float> out(bytes.size() / sizeof(float));
  std::memcpy(out.data(), bytes.data(), out.size() * sizeof(float));
  return out;
}

inline uint32_t float_bits(float f) {
  uint32_t u;
  std::memcpy(&u, &f, sizeof(u));
  return u;
}

// GGUF type names as gguf-py spells them (GGMLQuantizationType.name).
inline DType dtype_from_name(const std::string& name) {
  static const std::pair<const char*, DType> kNames[] = {
      {"F32", DType::F32},   {"F16", DType::F16},   {"BF16", DType::BF16}, {"Q4_0", DType::Q4_0},
      {"Q4_1", DType::Q4_1}, {"Q5_0", DType::Q5_0}, {"Q5_1", DType::Q5_1}, {"Q8_0", DType::Q8_0},
      {"Q4_K", DType::Q4_K}, {"Q5_K", DType::Q5_K}, {"Q6_K", DType::Q6_K}, {"Q8_K", DType::Q8_K}};
  for (const auto& [n, t] : kNames)
    if (name == n) return t;
  ADD_FAILURE() << "unknown type name " << name;
  return DType::F32;
}

// First index where two float arrays differ bit for bit, or -1.
inline int64_t first_bit_mismatch(const std::vector<float>& a, const std::vector<float>& b) {
  if (a.size() != b.size()) return 0;
  for (size_t i = 0; i < a.size(); ++i)
    if (float_bits(a[i]) != float_bits(b[i])) return static_cast<int64_t>(i);
  return -1;
}

}  // namespace kaiyuan::quant::test
