// Resolves the active KernelTable once and routes the ops.h entry points through it.
#include "kernels/kernel_table.h"

#include <atomic>

#include "kernels/ops.h"
#include "kernels/packed_layout.h"
#include "kernels/ref/ops_ref.h"

namespace kaiyuan::kernels {
namespace {

const KernelTable& scalar_kernels() {
  static const KernelTable table{};  // every entry null: the ref/ twins
  return table;
}

std::atomic<const KernelTable*> g_override{nullptr};

}  // namespace

const KernelTable& kernel_table(Isa isa) {
  if (!cpu_supports(isa)) return scalar_kernels();
  switch (isa) {
    case Isa::kAmx: return amx_kernels();
    case Isa::kAvx512: return avx512_kernels();
    case Isa::kAvx2: return avx2_kernels();
    case Isa::kScalar: break;
  }
  return scalar_kernels();
}

const KernelTable& active_kernels() {
  static const KernelTable& chosen = kernel_table(active_isa());
  const KernelTable* t = g_override.load(std::memory_order_acquire);
  return t != nullptr ? *t : chosen;
}

bool set_isa_for_testing(Isa isa) {
  if (!cpu_supports(isa)) return false;
  g_override.store(&kernel_table(isa), std::memory_order_release);
  return true;
}

void pack_groups_with(const KernelTable& k, const TensorView& src, DType packed, int64_t g0, int64_t g1, uint8_t* dst) {
  const MatmulKernel* mk = k.matmul_for(packed);
  if (mk == nullptr || mk->pack == nullptr) return pack_groups(src, packed, g0, g1, dst);
  const size_t group_bytes = packed_nbytes(packed, kPackRows, src.cols());
  for (int64_t g = g0; g < g1; ++g)
    mk->pack(src.data + static_cast<size_t>(g * kPackRows) * src.row_stride(), src.row_stride(), src.cols(),
             dst + static_cast<size_t>(g) * group_bytes);
}

// ---- ops.h entry points -------------------------------------------------------------------------

void matmul_packing(const TensorView& w, const float* x, int64_t n_tokens, float* y) {
  matmul_packing_with(active_kernels(), w, x, n_tokens, y);
}

void matmul(const TensorView& w, const float* x, int64_t n_tokens, float* y) {
  matmul_with(active_kernels(), w, x, n_tokens, y);
}

void dequantize_row(const TensorView& w, int64_t row, float* dst) { ref::dequantize_row(w, row, dst); }

void rmsnorm(const float* x, const float* weight, int64_t n, float eps, float* y) {
  const KernelTable& k = active_kernels();
  if (k.rmsnorm != nullptr) k.rmsnorm(x, weight, n, eps, y);
  else ref::rmsnorm(x, weight, n, eps, y);
}

void rope(float* head, int64_t rope_dim, int64_t position, const float* inv_freq, float attn_factor,
          RopePairing pairing) {
  ref::rope(head, rope_dim, position, inv_freq, attn_factor, pairing);
}

void rope_angles(int64_t rope_dim, int64_t position, const float* inv_freq, float attn_factor, float* cos, float* sin) {
  ref::rope_angles(rope_dim, position, inv_freq, attn_factor, cos, sin);
}

void rope_rotate(float* head, int64_t rope_dim, const float* cos, const float* sin, RopePairing pairing) {
  ref::rope_rotate(head, rope_dim, cos, sin, pairing);
}

void softmax(float* x, int64_t n) {
  const KernelTable& k = active_kernels();
  if (k.softmax != nullptr) k.softmax(x, n);
  else ref::softmax(x, n);
}

void attend_heads(const float* q, int64_t n_q, const float* k, int64_t k_stride, const float* v, int64_t v_stride,
                  int64_t n_kv, int64_t head_dim, float scale, float* scores, float* out) {
  const KernelTable& t = active_kernels();
  if (t.attend_heads != nullptr) {
    t.attend_heads(q, n_q, k, k_stride, v, v_stride, n_kv, head_dim, scale, scores, out);
    return;
  }
  for (int64_t i = 0; i < n_q; ++i)
    ref::attend_head(q + i * head_dim, k, k_stride, v, v_stride, n_kv, head_dim, scale, scores + i * n_kv,
                     out + i * head_dim);
}

void attend_heads_f16(const float* q, int64_t n_q, const uint16_t* k, int64_t k_stride, const uint16_t* v,
                      int64_t v_stride, int64_t n_kv, int64_t head_dim, float scale, float* scores, float* out) {
  const KernelTable& t = active_kernels();
  if (t.attend_heads_f16 != nullptr) {
    t.attend_heads_f16(q, n_q, k, k_stride, v, v_stride, n_kv, head_dim, scale, scores, out);
    return;
  }
  for (int64_t i = 0; i < n_q; ++i)
    ref::attend_head_f16(q + i * head_dim, k, k_stride, v, v_stride, n_kv, head_dim, scale, scores + i * n_kv,
                         out + i * head_dim);
}

void attend_tokens(const float* q, int64_t q_stride, int64_t n_tok, int64_t n_q, const float* k, int64_t k_stride,
                   const float* v, int64_t v_stride, int64_t n_kv0, int64_t head_dim, float scale, float* scores,
                   float* out, int64_t out_stride) {
  const KernelTable& t = active_kernels();
  if (t.attend_tokens != nullptr) {
    t.attend_tokens(q, q_stride, n_tok, n_q, k, k_stride, v, v_stride, n_kv0, head_dim, scale, scores, out, out_stride);
    return;
  }
  for (int64_t i = 0; i < n_tok; ++i)
    attend_heads(q + i * q_stride, n_q, k, k_stride, v, v_stride, n_kv0 + i, head_dim, scale, scores,
                 out + i * out_stride);
}

void attend_tokens_f16(const float* q, int64_t q_stride, int64_t n_tok, int64_t n_q, const uint16_t* k,
                       int64_t k_stride, const uint16_t* v, int64_t v_stride, int64_t n_kv0, int64_t head_dim,
                       float scale, float* scores, float* out, int64_t out_stride) {
  const KernelTable& t = active_kernels();
  if (t.attend_tokens_f16 != nullptr) {
    t.attend_tokens_f16(q, q_stride, n_tok, n_q, k, k_stride, v, v_stride, n_kv0, head_dim, scale, scores, out,
                        out_stride);
    return;
  }
  for (int64_t i = 0; i < n_tok; ++i)
    attend_heads_f16(q + i * q_stride, n_q, k, k_stride, v, v_stride, n_kv0 + i, head_dim, scale, scores,
                     out + i * out_stride);
}

void f32_to_f16(const float* src, uint16_t* dst, int64_t n) {
  const KernelTable& t = active_kernels();
  if (t.f32_to_f16 != nullptr) t.f32_to_f16(src, dst, n);
  else ref::f32_to_f16(src, dst, n);
}

void swiglu(const float* gate, const float* up, int64_t n, float* out) {
  const KernelTable& k = active_kernels();
  if (k.swiglu != nullptr) k.swiglu(gate, up, n, out);
  else ref::swiglu(gate, up, n, out);
}

}  // namespace kaiyuan::kernels
