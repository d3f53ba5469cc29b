// Scalar reference kernels: the oracle for every ISA path, and the path KAIYUAN_ISA=scalar runs.
// Same contracts as the entry points of kernels/ops.h.
#pragma once

#include <cstdint>

#include "core/tensor.h"
#include "kernels/ops.h"

namespace kaiyuan::kernels::ref {

void matmul(const TensorView& w, const float* x, int64_t n_tokens, float* y);
void dequantize_row(const TensorView& w, int64_t row, float* dst);
void rmsnorm(const float* x, const float* weight, int64_t n, float eps, float* y);
void rope(float* head, int64_t rope_dim, int64_t position, const float* inv_freq, float attn_factor,
          RopePairing pairing);
void rope_angles(int64_t rope_dim, int64_t position, const float* inv_freq, float attn_factor, float* cos, float* sin);
void rope_rotate(float* head, int64_t rope_dim, const float* cos, const float* sin, RopePairing pairing);
void softmax(float* x, int64_t n);
void attend_head(const float* q, const float* k, int64_t k_stride, const float* v, int64_t v_stride, int64_t n_kv,
                 int64_t head_dim, float scale, float* scores, float* out);
void attend_head_f16(const float* q, const uint16_t* k, int64_t k_stride, const uint16_t* v, int64_t v_stride,
                     int64_t n_kv, int64_t head_dim, float scale, float* scores, float* out);
void f32_to_f16(const float* src, uint16_t* dst, int64_t n);
void swiglu(const float* gate, const float* up, int64_t n, float* out);

}  // namespace kaiyuan::kernels::ref
