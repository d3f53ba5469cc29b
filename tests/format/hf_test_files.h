// Test helpers for the Hugging Face readers: build .safetensors bytes and write files at test time.
#pragma once

#include <cstdint>
#include <fstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/tensor.h"

namespace kaiyuan::test {

// tests/format/data/<name> (committed goldens), located from this header's own path.
inline std::string format_test_data(const std::string& name) {
  const std::string here = __FILE__;
  return here.substr(0, here.rfind('/')) + "/data/" + name;
}

// u64 LE header length | header (padded with spaces to a multiple of 8, as HF writers do) | data.
inline std::string safetensors_bytes(const std::string& header, const std::string& data) {
  std::string padded = header;
  while (padded.size() % 8 != 0) padded += ' ';
  std::string out(8, '\0');
  uint64_t n = padded.size();
  for (int i = 0; i < 8; ++i) out[i] = static_cast<char>((n >> (8 * i)) & 0xff);
  return out + padded + data;
}

inline std::string safetensors_dtype_name(DType t) {
  switch (t) {
    case DType::F32: return "F32";
    case DType::F16: return "F16";
    case DType::BF16: return "BF16";
    default: return "unsupported";
  }
}

// A valid safetensors file holding copies of `views` (written back to back in the given order).
inline std::string safetensors_from_views(const std::vector<TensorView>& views) {
  nlohmann::json header = nlohmann::json::object();
  std::string data;
  for (const TensorView& v : views) {
    header[v.name] = {{"dtype", safetensors_dtype_name(v.dtype)},
                      {"shape", v.shape},
                      {"data_offsets", {data.size(), data.size() + v.nbytes}}};
    data.append(reinterpret_cast<const char*>(v.data), v.nbytes);
  }
  return safetensors_bytes(header.dump(), data);
}

inline void write_binary_file(const std::string& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

}  // namespace kaiyuan::test
