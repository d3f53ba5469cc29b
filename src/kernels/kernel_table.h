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

// Packs rows [0, 16) of a matrix in its source layout (rows of `stride` bytes, `cols` columns) into
// one group of a repacked layout (packed_layout.h), exactly as pack_group does.
using PackGroupFn = void (*)(const uint8_t* src, size_t stride, int64_t cols, uint8_t* out);

// One weight type's fast matmul: activations are quantized on the fly to act_type (Q8_0 or Q8_K,
// as ggml-cpu's vec_dot_type) so the inner loops are integer dot products; act_type F32 passes
// the activations through unchanged.
struct MatmulKernel {
  DType act_type = DType::F32;
  QuantizeActFn quantize_act = nullptr;
  MatmulRowsFn rows = nullptr;  // null: this table has no fast path for the type
  // For a repacked layout: a packer fast enough to run per batch (matmul_packing_with), and the
  // batch size from which packing plus the repacked kernel beats the source layout's kernel
  // (bench/matmul_bench). Null where this table has none: matmul_packing_with keeps the source layout.
  PackGroupFn pack = nullptr;
  int64_t pack_min_tokens = 0;
  // For a repacked layout: a kernel that reads the source layout itself (w: the mapped rows, of
  // w_stride bytes) with this entry's activation blocks, for batches of at least kSourceTileTokens
  // tokens (any count from there on); matmul_packing_with runs such batches through it and packs
  // only smaller ones. Null where this table has none.
  MatmulRowsFn source_rows = nullptr;
  // For batches of at least batch_min_tokens tokens: a kernel with activation blocks of its own
  // (the AMX tiles' Q8_S256, one scale per 256 columns) that takes over the whole batch, its last
  // n % 16 tokens included. Null where this table has none.
  const MatmulKernel* batch = nullptr;
  int64_t batch_min_tokens = 0;

  // The kernel that runs a batch of n tokens: this one or its batch kernel.
  const MatmulKernel& for_tokens(int64_t n) const {
    return batch != nullptr && n >= batch_min_tokens ? *batch : *this;
  }
};

constexpr int64_t kSourceTileTokens = 16;

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
  // attend_tokens / attend_tokens_f16 (ops.h); null: one attend_heads call per token.
  void (*attend_tokens)(const float* q, int64_t q_stride, int64_t n_tok, int64_t n_q, const float* k, int64_t k_stride,
                        const float* v, int64_t v_stride, int64_t n_kv0, int64_t head_dim, float scale, float* scores,
                        float* out, int64_t out_stride) = nullptr;
  void (*attend_tokens_f16)(const float* q, int64_t q_stride, int64_t n_tok, int64_t n_q, const uint16_t* k,
                            int64_t k_stride, const uint16_t* v, int64_t v_stride, int64_t n_kv0, int64_t head_dim,
                            float scale, float* scores, float* out, int64_t out_stride) = nullptr;
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

// Per-ISA tables (x86_avx2.cpp, x86_avx512.cpp, x86_amx.cpp); call only when cpu_supports() says so.
const KernelTable& avx2_kernels();
const KernelTable& avx512_kernels();
const KernelTable& amx_kernels();
// pack_groups (packed_layout.h) through `k`'s packer for the layout where it has one.
void pack_groups_with(const KernelTable& k, const TensorView& src, DType packed, int64_t g0, int64_t g1, uint8_t* dst);

// Sets x86_amx_attention.cpp's prompt attention over an f16 cache (attend_tokens_f16) into `t`.
void install_amx_attention(KernelTable& t);
// Sets x86_amx_kquant.cpp's batch kernels for Q4_K_R16 and Q6_K_R16 (MatmulKernel::batch) into `t`.
void install_amx_kquant(KernelTable& t);

// x86_avx512_pack.cpp's packer for a repacked layout, or null.
PackGroupFn avx512_packer(DType packed);

// Per-thread, 64-byte aligned scratch buffers that only grow (steady-state batches never
// allocate), one per slot: a kernel that needs two at once takes two slots. kActivations is the
// driver's (a matmul's quantized activations, on the calling thread).
enum class ScratchSlot : int { kPackedGroup, kPanel, kStaged, kActivations, kPaddedTail, kCount };
uint8_t* thread_scratch(ScratchSlot slot, size_t bytes);

// matmul through table `k` (the scalar reference when it has no entry for w.dtype).
void matmul_with(const KernelTable& k, const TensorView& w, const float* x, int64_t n_tokens, float* y);

// matmul_with for a matrix in its mapped (source) layout that is used for a batch of tokens once,
// e.g. a MoE expert: each thread packs one group of 16 rows at a time into a scratch buffer
// (packed_layout.h) and runs the repacked kernel on it while it is hot in L1. Packing costs about
// one pass over the weights, which the repacked kernels repay from MatmulKernel::pack_min_tokens
// tokens on; below that, or where `k` has no packer for the layout, it is matmul_with.
void matmul_packing_with(const KernelTable& k, const TensorView& w, const float* x, int64_t n_tokens, float* y);

}  // namespace kaiyuan::kernels
