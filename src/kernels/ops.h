// The kernel entry points models call. Each takes plain pointers and sizes, never allocates, and
// knows nothing of models. They call through the KernelTable chosen once for this CPU
// (kernels/kernel_table.h); KAIYUAN_ISA=scalar runs the reference path (kernels/ref/) everywhere.
#pragma once

#include <cstdint>

#include "core/tensor.h"

namespace kaiyuan::kernels {

// y[t, r] = sum_k W[r, k] * x[t, k] for t < n_tokens.   W: [n_out, n_in] of any supported dtype.
// x: [n_tokens, n_in] f32, y: [n_tokens, n_out] f32 (row stride n_out). Splits rows over the
// thread pool.
void matmul(const TensorView& w, const float* x, int64_t n_tokens, float* y);

// matmul() of a matrix that stays in its mapped layout (never repacked at load, e.g. MoE experts)
// but is used for several tokens at once: packs it on the fly, a group of rows at a time, for the
// repacked kernels (kernels/kernel_table.h matmul_packing_with). Same results as matmul() on the
// repacked matrix.
void matmul_packing(const TensorView& w, const float* x, int64_t n_tokens, float* y);

// One row of a (possibly quantized) matrix as f32, e.g. an embedding lookup.  dst: [cols]
void dequantize_row(const TensorView& w, int64_t row, float* dst);

// y = x / rms(x) * weight over n elements (weight may be null: no scale).
void rmsnorm(const float* x, const float* weight, int64_t n, float eps, float* y);

// Rotary embedding in place on one head vector of head_dim elements; only the first rope_dim are
// rotated. `inv_freq` has rope_dim/2 entries. Interleaved pairs (2i, 2i+1) as Meta/GGUF llama
// weights expect, or NeoX/HF rotate_half pairs (i, i + rope_dim/2).
enum class RopePairing { kInterleaved, kNeox };
void rope(float* head, int64_t rope_dim, int64_t position, const float* inv_freq, float attn_factor,
          RopePairing pairing);

// rope() in two steps, for callers that rotate many heads at one position: rope_angles() writes
// the rotation at `position` (cos/sin[rope_dim/2], times attn_factor), rope_rotate() applies it.
// Together they give exactly rope()'s floats.
void rope_angles(int64_t rope_dim, int64_t position, const float* inv_freq, float attn_factor, float* cos, float* sin);
void rope_rotate(float* head, int64_t rope_dim, const float* cos, const float* sin, RopePairing pairing);

// In-place softmax over n values (max-subtracted).
void softmax(float* x, int64_t n);

// Attention of n_q query heads that share one K/V head (a GQA group) over n_kv cached positions:
//   out_i[head_dim] = sum_j p_ij * v_j,  p_i = softmax(scale * q_i . k_j),  q_i = q + i * head_dim,
//   out_i = out + i * head_dim, k_j = k + j * k_stride (floats), v_j = v + j * v_stride.
// `scores` is caller-owned scratch of n_q * n_kv floats (kernels never allocate). Sharing the group
// lets a kernel read each cached K/V row once for all of its heads.
void attend_heads(const float* q, int64_t n_q, const float* k, int64_t k_stride, const float* v, int64_t v_stride,
                  int64_t n_kv, int64_t head_dim, float scale, float* scores, float* out);

// attend_heads over an f16 KV cache (IEEE half, as KvCache's KvType::kF16 stores it). Same contract.
void attend_heads_f16(const float* q, int64_t n_q, const uint16_t* k, int64_t k_stride, const uint16_t* v,
                      int64_t v_stride, int64_t n_kv, int64_t head_dim, float scale, float* scores, float* out);

// attend_heads for n_tok consecutive tokens of one sequence: token i's n_q heads at q + i * q_stride
// see the first n_kv0 + i cached positions (causal; token 0 sees n_kv0), its outputs go to
// out + i * out_stride. `scores`: scratch of n_tok * n_q * (n_kv0 + n_tok - 1) floats. Equals one
// attend_heads call per token; a kernel may take several tokens per pass over K/V, converting and
// loading each cached row once for all of them.
void attend_tokens(const float* q, int64_t q_stride, int64_t n_tok, int64_t n_q, const float* k, int64_t k_stride,
                   const float* v, int64_t v_stride, int64_t n_kv0, int64_t head_dim, float scale, float* scores,
                   float* out, int64_t out_stride);
void attend_tokens_f16(const float* q, int64_t q_stride, int64_t n_tok, int64_t n_q, const uint16_t* k,
                       int64_t k_stride, const uint16_t* v, int64_t v_stride, int64_t n_kv0, int64_t head_dim,
                       float scale, float* scores, float* out, int64_t out_stride);

// dst[i] = src[i] as IEEE half, rounded to nearest even (writes an f16 KV cache row).
void f32_to_f16(const float* src, uint16_t* dst, int64_t n);

// out[i] = silu(gate[i]) * up[i]
void swiglu(const float* gate, const float* up, int64_t n, float* out);

}  // namespace kaiyuan::kernels
