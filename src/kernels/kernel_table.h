// The table of kernel entry points for one instruction set, resolved once from dispatch.h. ops.h
// calls through the active table; a null entry means "use the scalar reference twin (ref/)".
#pragma once

#include <cstddef>
#include <cstdint>

#include "core/dtype.h"
#include "core/tensor.h"
#include "kernels/dispatch.h"

namespace kaiyuan::kernels {

// y[t * ldy + r] = dot(weight row r, activation row t) for r in [r0, r1) and t in [0, n_tokens).
// w: n_out rows of w_stride bytes; act: n_tokens rows of act_stride bytes, either f32 or the
// activation blocks of MatmulKernel::act_type.
using MatmulRowsFn = void (*)(const uint8_t* w, size_t w_stride, const uint8_t* act, size_t act_stride,
                              int64_t n_in, int64_t n_tokens, int64_t r0, int64_t r1, float* y, int64_t ldy);
// Quantizes n f32 activations (a whole number of act_type blocks) into dst.
using QuantizeActFn = void (*)(const float* x, uint8_t* dst, int64_t n);

// One weight type's fast matmul: activations are quantized on the fly to act_type (Q8_0 or Q8_K,
// as ggml-cpu's vec_dot_type) so the inner loops are integer dot products; act_type F32 passes
// the activations through unchanged.
struct MatmulKernel {
  DType act_type = DType::F32;
  QuantizeActFn quantize_act = nullptr;
  MatmulRowsFn rows = nullptr;  // null: this table has no fast path for the type
};

constexpr int kMaxDTypeId = 72;  // GGUF ggml_type ids (< 32) and our internal layouts (64..)

struct KernelTable {
  Isa isa = Isa::kScalar;
  MatmulKernel matmul[kMaxDTypeId];
  void (*rmsnorm)(const float* x, const float* weight, int64_t n, float eps, float* y) = nullptr;
  void (*swiglu)(const float* gate, const float* up, int64_t n, float* out) = nullptr;
  void (*softmax)(float* x, int64_t n) = nullptr;
  void (*attend_heads)(const float* q, int64_t n_q, const float* k, int64_t k_stride, const float* v, int64_t v_stride,
                       int64_t n_kv, int64_t head_dim, float scale, float* scores, float* out) = nullptr;
  void (*attend_heads_f16)(const float* q, int64_t n_q, const uint16_t* k, int64_t k_stride, const uint16_t* v,
                           int64_t v_stride, int64_t n_kv, int64_t head_dim, float scale, float* scores,
                           float* out) = nullptr;
  void (*f32_to_f16)(const float* src, uint16_t* dst, int64_t n) = nullptr;
  // The machine's int8 multiply-add peak, for `kaiyuan bench --roofline`: runs `iters` rounds of
  // independent register-only u8 x s8 dot products (no memory traffic) and returns the
  // multiply-adds done. Null where no SIMD integer path exists.
  int64_t (*int8_peak_loop)(int64_t iters) = nullptr;

  const MatmulKernel* matmul_for(DType t) const {
    const auto id = static_cast<uint32_t>(t);
    return id < kMaxDTypeId && matmul[id].rows != nullptr ? &matmul[id] : nullptr;
  }
};

// The table of a path this CPU supports (an unsupported one yields the scalar table).
const KernelTable& kernel_table(Isa isa);
// The table ops.h uses: kernel_table(active_isa()) unless a test switched it.
const KernelTable& active_kernels();
// Makes ops.h use `isa` (tests run one binary over every supported path). Returns false, changing
// nothing, when the CPU does not support it. Not for use while kernels run on other threads.
bool set_isa_for_testing(Isa isa);

// Per-ISA tables (x86_avx2.cpp, x86_avx512.cpp); call only when cpu_supports() says so.
const KernelTable& avx2_kernels();
const KernelTable& avx512_kernels();

// matmul through table `k` (the scalar reference when it has no entry for w.dtype).
void matmul_with(const KernelTable& k, const TensorView& w, const float* x, int64_t n_tokens, float* y);

}  // namespace kaiyuan::kernels
