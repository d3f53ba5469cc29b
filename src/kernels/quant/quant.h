// GGUF quantized block layouts, bit-identical to ggml's (ggml-common.h), with the scalar reference
// (de)quantizers and dot products: the oracle every fast kernel is tested against.
#pragma once

#include <cstdint>

#include "core/dtype.h"

namespace kaiyuan::quant {

constexpr int kQK = 32;    // elements per block of Q4_0/Q4_1/Q5_0/Q5_1/Q8_0
constexpr int kQK_K = 256; // elements per super-block of the K-quants

struct BlockQ4_0 { uint16_t d; uint8_t qs[kQK / 2]; };
struct BlockQ4_1 { uint16_t d, m; uint8_t qs[kQK / 2]; };
struct BlockQ5_0 { uint16_t d; uint8_t qh[4]; uint8_t qs[kQK / 2]; };
struct BlockQ5_1 { uint16_t d, m; uint8_t qh[4]; uint8_t qs[kQK / 2]; };
struct BlockQ8_0 { uint16_t d; int8_t qs[kQK]; };
struct BlockQ4_K { uint16_t d, dmin; uint8_t scales[12]; uint8_t qs[kQK_K / 2]; };
struct BlockQ5_K { uint16_t d, dmin; uint8_t scales[12]; uint8_t qh[kQK_K / 8]; uint8_t qs[kQK_K / 2]; };
struct BlockQ6_K { uint8_t ql[kQK_K / 2]; uint8_t qh[kQK_K / 4]; int8_t scales[kQK_K / 16]; uint16_t d; };
struct BlockQ8_K { float d; int8_t qs[kQK_K]; int16_t bsums[kQK_K / 16]; };

static_assert(sizeof(BlockQ4_0) == 18 && sizeof(BlockQ4_1) == 20 && sizeof(BlockQ5_0) == 22 &&
              sizeof(BlockQ5_1) == 24 && sizeof(BlockQ8_0) == 34 && sizeof(BlockQ4_K) == 144 &&
              sizeof(BlockQ5_K) == 176 && sizeof(BlockQ6_K) == 210 && sizeof(BlockQ8_K) == 292);

// One row per supported type, as ggml's type_traits (ggml.c) / type_traits_cpu (ggml-cpu.c): the
// single plug-in point for a quant format. Block pointers may have any alignment (blocks are
// memcpy'd in and out), so rows can be read straight from a mmap'd file at any offset.
struct QuantTraits {
  DType type;
  int64_t block_elems;  // elements per block (1 for F32/F16/BF16)
  size_t block_bytes;   // bytes per block
  void (*to_float)(const uint8_t* src, float* dst, int64_t n_blocks);
  void (*from_float)(const float* src, uint8_t* dst, int64_t n_blocks);  // ggml quantize_row_*_ref
  // The activation type ggml-cpu quantizes to for this weight type's integer dot product
  // (type_traits_cpu[].vec_dot_type): Q8_0 for Q4_0/Q5_0/Q8_0, Q8_1 for Q4_1/Q5_1, Q8_K for K-quants.
  DType vec_dot_type;
};

// The row for `t`, or nullptr when this module cannot (de)quantize `t`.
const QuantTraits* quant_traits(DType t);

// Dequantizes `n` elements (a whole number of blocks) of type `t` at `src` into `dst`.
// Returns false for a type it cannot handle or an `n` that is not a whole number of blocks.
bool dequantize_row(DType t, const void* src, float* dst, int64_t n);

// Reference quantizers (ggml's quantize_row_*_ref), for `kaiyuan quantize` and tests.
bool quantize_row(DType t, const float* src, void* dst, int64_t n);

// sum_i w[i] * x[i] with w of type `t`: the reference dot product every fast kernel is compared
// with. w is dequantized exactly as dequantize_row does; products and the running sum are kept in
// double and rounded to float once, so the oracle's own rounding error is negligible.
// Returns NaN for a type it cannot handle or an `n` that is not a whole number of blocks.
float dot_ref(DType t, const void* w, const float* x, int64_t n);

}  // namespace kaiyuan::quant
