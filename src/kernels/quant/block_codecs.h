// Per-format block codecs behind the QuantTraits table (quant.cpp). Internal to kernels/quant.
// Every function handles `n_blocks` whole blocks; byte pointers may have any alignment.
#pragma once

#include <cstdint>
#include <cstring>

namespace kaiyuan::quant::detail {

// Unaligned-safe block access: a block is copied whole, never dereferenced in place (a GGUF tensor
// may start at any byte offset of a mapped file, and UBSan rejects misaligned uint16_t reads).
template <class Block>
Block load_block(const uint8_t* src, int64_t i) {
  Block b;
  std::memcpy(&b, src + i * static_cast<int64_t>(sizeof(Block)), sizeof(Block));
  return b;
}

template <class Block>
void store_block(uint8_t* dst, int64_t i, const Block& b) {
  std::memcpy(dst + i * static_cast<int64_t>(sizeof(Block)), &b, sizeof(Block));
}

// float_types.cpp
void f32_to_float(const uint8_t* src, float* dst, int64_t n);
void f32_from_float(const float* src, uint8_t* dst, int64_t n);
void f16_to_float(const uint8_t* src, float* dst, int64_t n);
void f16_from_float(const float* src, uint8_t* dst, int64_t n);
void bf16_to_float(const uint8_t* src, float* dst, int64_t n);
void bf16_from_float(const float* src, uint8_t* dst, int64_t n);

// legacy_quants.cpp: the 32-element formats
void dequantize_q4_0(const uint8_t* src, float* dst, int64_t n_blocks);
void quantize_q4_0(const float* src, uint8_t* dst, int64_t n_blocks);
void dequantize_q4_1(const uint8_t* src, float* dst, int64_t n_blocks);
void quantize_q4_1(const float* src, uint8_t* dst, int64_t n_blocks);
void dequantize_q5_0(const uint8_t* src, float* dst, int64_t n_blocks);
void quantize_q5_0(const float* src, uint8_t* dst, int64_t n_blocks);
void dequantize_q5_1(const uint8_t* src, float* dst, int64_t n_blocks);
void quantize_q5_1(const float* src, uint8_t* dst, int64_t n_blocks);
void dequantize_q8_0(const uint8_t* src, float* dst, int64_t n_blocks);
void quantize_q8_0(const float* src, uint8_t* dst, int64_t n_blocks);

// q4_k.cpp, q5_k.cpp, q6_k.cpp, q8_k.cpp: the 256-element super-block formats
void dequantize_q4_k(const uint8_t* src, float* dst, int64_t n_blocks);
void quantize_q4_k(const float* src, uint8_t* dst, int64_t n_blocks);
void dequantize_q5_k(const uint8_t* src, float* dst, int64_t n_blocks);
void quantize_q5_k(const float* src, uint8_t* dst, int64_t n_blocks);
void dequantize_q6_k(const uint8_t* src, float* dst, int64_t n_blocks);
void quantize_q6_k(const float* src, uint8_t* dst, int64_t n_blocks);
void dequantize_q8_k(const uint8_t* src, float* dst, int64_t n_blocks);
void quantize_q8_k(const float* src, uint8_t* dst, int64_t n_blocks);

}  // namespace kaiyuan::quant::detail
