// Q4_0, Q4_1, Q5_0, Q5_1, Q8_0: 32-element blocks with one fp16 scale (and min). Transcribed from
// ggml-quants.c (quantize_row_*_ref / dequantize_row_*) operation for operation, so that the bytes
// and floats are bit-identical to ggml's and gguf-py's (this file is built with -ffp-contract=off).
#include <algorithm>
#include <cfloat>
#include <cmath>

#include "core/half.h"
#include "kernels/quant/block_codecs.h"
#include "kernels/quant/quant.h"

namespace kaiyuan::quant::detail {
namespace {

constexpr int kHalf = kQK / 2;

// C's (int8_t)/(uint8_t) float conversion, which ggml applies to values already in range; clamped so
// NaN or huge inputs give garbage bytes instead of undefined behaviour.
int truncate_to_int(float v) {
  if (!(v > -256.0f)) return -256;
  if (v > 255.0f) return 255;
  return static_cast<int>(v);
}

// The value of largest magnitude (the first one on ties), sign kept: ggml's `max` for Q4_0/Q5_0.
float signed_absmax(const float* x) {
  float amax = 0.0f, max = 0.0f;
  for (int j = 0; j < kQK; ++j) {
    if (amax < std::fabs(x[j])) {
      amax = std::fabs(x[j]);
      max = x[j];
    }
  }
  return max;
}

void min_max(const float* x, float* min, float* max) {
  *min = FLT_MAX;
  *max = -FLT_MAX;
  for (int j = 0; j < kQK; ++j) {
    if (x[j] < *min) *min = x[j];
    if (x[j] > *max) *max = x[j];
  }
}

// The 5th bits of Q5_0/Q5_1: bit j of the little-endian uint32 qh belongs to element j.
uint32_t load_qh(const uint8_t (&qh)[4]) {
  uint32_t v;
  std::memcpy(&v, qh, sizeof(v));
  return v;
}

}  // namespace

void dequantize_q4_0(const uint8_t* src, float* dst, int64_t n_blocks) {
  for (int64_t i = 0; i < n_blocks; ++i, dst += kQK) {
    const auto b = load_block<BlockQ4_0>(src, i);
    const float d = f16_to_f32(b.d);
    for (int j = 0; j < kHalf; ++j) {
      const int x0 = (b.qs[j] & 0x0F) - 8;  // low nibbles hold elements 0..15, high ones 16..31
      const int x1 = (b.qs[j] >> 4) - 8;
      dst[j] = x0 * d;
      dst[j + kHalf] = x1 * d;
    }
  }
}

void quantize_q4_0(const float* src, uint8_t* dst, int64_t n_blocks) {
  for (int64_t i = 0; i < n_blocks; ++i, src += kQK) {
    const float d = signed_absmax(src) / -8;  // the extreme value maps to -8, the one-sided end
    const float id = d != 0.0f ? 1.0f / d : 0.0f;
    BlockQ4_0 b;
    b.d = f32_to_f16(d);
    for (int j = 0; j < kHalf; ++j) {
      const int xi0 = std::min(15, truncate_to_int(src[j] * id + 8.5f));
      const int xi1 = std::min(15, truncate_to_int(src[j + kHalf] * id + 8.5f));
      b.qs[j] = static_cast<uint8_t>(xi0 | (xi1 << 4));
    }
    store_block(dst, i, b);
  }
}

void dequantize_q4_1(const uint8_t* src, float* dst, int64_t n_blocks) {
  for (int64_t i = 0; i < n_blocks; ++i, dst += kQK) {
    const auto b = load_block<BlockQ4_1>(src, i);
    const float d = f16_to_f32(b.d);
    const float m = f16_to_f32(b.m);
    for (int j = 0; j < kHalf; ++j) {
      const int x0 = b.qs[j] & 0x0F;
      const int x1 = b.qs[j] >> 4;
      dst[j] = x0 * d + m;
      dst[j + kHalf] = x1 * d + m;
    }
  }
}

void quantize_q4_1(const float* src, uint8_t* dst, int64_t n_blocks) {
  for (int64_t i = 0; i < n_blocks; ++i, src += kQK) {
    float min, max;
    min_max(src, &min, &max);
    const float d = (max - min) / ((1 << 4) - 1);
    const float id = d != 0.0f ? 1.0f / d : 0.0f;
    BlockQ4_1 b;
    b.d = f32_to_f16(d);
    b.m = f32_to_f16(min);
    for (int j = 0; j < kHalf; ++j) {
      const int xi0 = std::min(15, truncate_to_int((src[j] - min) * id + 0.5f));
      const int xi1 = std::min(15, truncate_to_int((src[j + kHalf] - min) * id + 0.5f));
      b.qs[j] = static_cast<uint8_t>(xi0 | (xi1 << 4));
    }
    store_block(dst, i, b);
  }
}

void dequantize_q5_0(const uint8_t* src, float* dst, int64_t n_blocks) {
  for (int64_t i = 0; i < n_blocks; ++i, dst += kQK) {
    const auto b = load_block<BlockQ5_0>(src, i);
    const float d = f16_to_f32(b.d);
    const uint32_t qh = load_qh(b.qh);
    for (int j = 0; j < kHalf; ++j) {
      const int xh0 = ((qh >> j) << 4) & 0x10;
      const int xh1 = (qh >> (j + 12)) & 0x10;  // bit j+16, moved to 0x10
      const int x0 = ((b.qs[j] & 0x0F) | xh0) - 16;
      const int x1 = ((b.qs[j] >> 4) | xh1) - 16;
      dst[j] = x0 * d;
      dst[j + kHalf] = x1 * d;
    }
  }
}

void quantize_q5_0(const float* src, uint8_t* dst, int64_t n_blocks) {
  for (int64_t i = 0; i < n_blocks; ++i, src += kQK) {
    const float d = signed_absmax(src) / -16;
    const float id = d != 0.0f ? 1.0f / d : 0.0f;
    BlockQ5_0 b;
    b.d = f32_to_f16(d);
    uint32_t qh = 0;
    for (int j = 0; j < kHalf; ++j) {
      const int xi0 = std::min(31, truncate_to_int(src[j] * id + 16.5f));
      const int xi1 = std::min(31, truncate_to_int(src[j + kHalf] * id + 16.5f));
      b.qs[j] = static_cast<uint8_t>((xi0 & 0x0F) | ((xi1 & 0x0F) << 4));
      qh |= ((static_cast<uint32_t>(xi0) & 0x10u) >> 4) << j;
      qh |= ((static_cast<uint32_t>(xi1) & 0x10u) >> 4) << (j + kHalf);
    }
    std::memcpy(b.qh, &qh, sizeof(qh));
    store_block(dst, i, b);
  }
}

void dequantize_q5_1(const uint8_t* src, float* dst, int64_t n_blocks) {
  for (int64_t i = 0; i < n_blocks; ++i, dst += kQK) {
    const auto b = load_block<BlockQ5_1>(src, i);
    const float d = f16_to_f32(b.d);
    const float m = f16_to_f32(b.m);
    const uint32_t qh = load_qh(b.qh);
    for (int j = 0; j < kHalf; ++j) {
      const int xh0 = ((qh >> j) << 4) & 0x10;
      const int xh1 = (qh >> (j + 12)) & 0x10;
      const int x0 = (b.qs[j] & 0x0F) | xh0;
      const int x1 = (b.qs[j] >> 4) | xh1;
      dst[j] = x0 * d + m;
      dst[j + kHalf] = x1 * d + m;
    }
  }
}

void quantize_q5_1(const float* src, uint8_t* dst, int64_t n_blocks) {
  for (int64_t i = 0; i < n_blocks; ++i, src += kQK) {
    float min, max;
    min_max(src, &min, &max);
    const float d = (max - min) / ((1 << 5) - 1);
    const float id = d != 0.0f ? 1.0f / d : 0.0f;
    BlockQ5_1 b;
    b.d = f32_to_f16(d);
    b.m = f32_to_f16(min);
    uint32_t qh = 0;
    for (int j = 0; j < kHalf; ++j) {
      // ggml stores (uint8_t)(x + 0.5f) without a clamp to 31 (x <= 31 + rounding by construction)
      const int xi0 = truncate_to_int((src[j] - min) * id + 0.5f) & 0xFF;
      const int xi1 = truncate_to_int((src[j + kHalf] - min) * id + 0.5f) & 0xFF;
      b.qs[j] = static_cast<uint8_t>((xi0 & 0x0F) | ((xi1 & 0x0F) << 4));
      qh |= ((static_cast<uint32_t>(xi0) & 0x10u) >> 4) << j;
      qh |= ((static_cast<uint32_t>(xi1) & 0x10u) >> 4) << (j + kHalf);
    }
    std::memcpy(b.qh, &qh, sizeof(qh));
    store_block(dst, i, b);
  }
}

void dequantize_q8_0(const uint8_t* src, float* dst, int64_t n_blocks) {
  for (int64_t i = 0; i < n_blocks; ++i, dst += kQK) {
    const auto b = load_block<BlockQ8_0>(src, i);
    const float d = f16_to_f32(b.d);
    for (int j = 0; j < kQK; ++j) dst[j] = b.qs[j] * d;
  }
}

void quantize_q8_0(const float* src, uint8_t* dst, int64_t n_blocks) {
  for (int64_t i = 0; i < n_blocks; ++i, src += kQK) {
    float amax = 0.0f;
    for (int j = 0; j < kQK; ++j) amax = std::max(amax, std::fabs(src[j]));
    const float d = amax / ((1 << 7) - 1);
    const float id = d != 0.0f ? 1.0f / d : 0.0f;
    BlockQ8_0 b;
    b.d = f32_to_f16(d);
    // roundf: halves away from zero, as ggml (gguf-py's np_roundf imitates it)
    for (int j = 0; j < kQK; ++j) b.qs[j] = static_cast<int8_t>(truncate_to_int(std::round(src[j] * id)));
    store_block(dst, i, b);
  }
}

}  // namespace kaiyuan::quant::detail
