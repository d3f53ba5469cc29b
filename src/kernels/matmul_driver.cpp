// The ISA-independent half of matmul: quantize the activations once per call into a scratch buffer
// owned by the calling thread, then split the weight rows over the thread pool.
#include <algorithm>
#include <cstdlib>
#include <memory>

#include "core/parallel.h"
#include "kernels/kernel_table.h"
#include "kernels/packed_layout.h"
#include "kernels/ref/ops_ref.h"

namespace kaiyuan::kernels {
namespace {

// Rows are handed out in multiples of this so every thread gets whole register tiles (at most 4
// rows in x86_avx2.cpp / x86_avx512.cpp) and whole groups of repacked rows (packed_layout.h).
constexpr int64_t kRowGrain = 16;

// Bytes of groups matmul_packing_with packs before each call of a batch kernel (an eighth of a 2 MiB L2).
constexpr size_t kPackedRunBytes = 256 * 1024;


struct Activations {
  const uint8_t* data;
  size_t stride;
};

// The activations as the kernel reads them: x itself for f32 kernels, else quantized once into
// the calling thread's scratch (rows split over the pool).
Activations prepare_activations(const MatmulKernel& mk, const float* x, int64_t n_in, int64_t n_tokens) {
  if (mk.act_type == DType::F32) return {reinterpret_cast<const uint8_t*>(x), static_cast<size_t>(n_in) * sizeof(float)};
  const size_t stride = *row_bytes(mk.act_type, n_in);  // shapes were validated at bind: whole blocks
  // 64-byte aligned: with 64-byte blocks (Q8_S256), each token's blocks start on a cache line.
  uint8_t* q = thread_scratch(ScratchSlot::kActivations, stride * static_cast<size_t>(n_tokens));
  parallel_for(n_tokens, [&](int64_t begin, int64_t end) {
    for (int64_t t = begin; t < end; ++t) mk.quantize_act(x + t * n_in, q + t * stride, n_in);
  });
  return {q, stride};
}

}  // namespace

uint8_t* thread_scratch(ScratchSlot slot, size_t bytes) {
  struct FreeAligned {
    void operator()(uint8_t* p) const { std::free(p); }
  };
  struct Buffer {
    std::unique_ptr<uint8_t, FreeAligned> data;
    size_t capacity = 0;
  };
  thread_local Buffer buffers[static_cast<int>(ScratchSlot::kCount)];
  Buffer& b = buffers[static_cast<int>(slot)];
  if (b.capacity < bytes) {
    b.capacity = (bytes + 63) / 64 * 64;
    b.data.reset(static_cast<uint8_t*>(std::aligned_alloc(64, b.capacity)));
    if (!b.data) std::abort();  // nothing sensible to do without it
  }
  return b.data.get();
}

void matmul_packing_with(const KernelTable& k, const TensorView& w, const float* x, int64_t n_tokens, float* y) {
  const auto layout = packed_layout_for(w.dtype, w.rows(), w.cols());
  const MatmulKernel* layout_kernel = layout ? k.matmul_for(*layout) : nullptr;
  const auto source_row = row_bytes(w.dtype, w.cols());
  if (layout_kernel == nullptr || layout_kernel->pack == nullptr || n_tokens < layout_kernel->pack_min_tokens ||
      !source_row || *source_row * static_cast<size_t>(w.rows()) > w.nbytes)
    return matmul_with(k, w, x, n_tokens, y);
  const PackGroupFn pack = layout_kernel->pack;
  const MatmulKernel* mk = &layout_kernel->for_tokens(n_tokens);
  const int64_t n_out = w.rows(), n_in = w.cols();
  const Activations act = prepare_activations(*mk, x, n_in, n_tokens);
  // Straight from the mapped rows where the table can (no packing at all).
  if (mk->source_rows != nullptr && n_tokens >= kSourceTileTokens) {
    parallel_for(n_out / kPackRows, [&](int64_t g0, int64_t g1) {
      mk->source_rows(w.data, w.row_stride(), act.data, act.stride, n_in, n_tokens, g0 * kPackRows, g1 * kPackRows, y,
                      n_out);
    });
    return;
  }
  // Else packed: the same kernels as matmul() on the repacked matrix, so a token's result does not
  // depend on which path its batch takes.
  const size_t group_bytes = packed_nbytes(*layout, kPackRows, n_in);
  // Groups of repacked rows are packed just before use: one at a time for the layout's own kernel,
  // which reads it hot in L1; for a batch kernel (MatmulKernel::batch), which has a cost per call
  // (the AMX tiles stage the activations), a run of about kPackedRunBytes per call, still in L2.
  const int64_t run =
      mk == layout_kernel ? 1 : std::max<int64_t>(1, static_cast<int64_t>(kPackedRunBytes / group_bytes));
  parallel_for(n_out / kPackRows, [&](int64_t g0, int64_t g1) {
    uint8_t* packed = thread_scratch(ScratchSlot::kPackedGroup, group_bytes * static_cast<size_t>(std::min(run, g1 - g0)));
    for (int64_t r0 = g0; r0 < g1; r0 += run) {
      const int64_t r1 = std::min(g1, r0 + run);
      for (int64_t g = r0; g < r1; ++g)
        pack(w.data + static_cast<size_t>(g * kPackRows) * w.row_stride(), w.row_stride(), n_in,
             packed + static_cast<size_t>(g - r0) * group_bytes);
      mk->rows(packed, group_bytes / kPackRows, act.data, act.stride, n_in, n_tokens, 0, (r1 - r0) * kPackRows,
               y + r0 * kPackRows, n_out);
    }
  });
}

void matmul_with(const KernelTable& k, const TensorView& w, const float* x, int64_t n_tokens, float* y) {
  const MatmulKernel* mk = k.matmul_for(w.dtype);
  if (mk == nullptr) {
    ref::matmul(w, x, n_tokens, y);
    return;
  }
  mk = &mk->for_tokens(n_tokens);
  const int64_t n_out = w.rows();
  const int64_t n_in = w.cols();
  const Activations prepared = prepare_activations(*mk, x, n_in, n_tokens);
  const uint8_t* act = prepared.data;
  const size_t act_stride = prepared.stride;
  const int64_t n_chunks = (n_out + kRowGrain - 1) / kRowGrain;
  parallel_for(n_chunks, [&](int64_t begin, int64_t end) {
    const int64_t r1 = end * kRowGrain < n_out ? end * kRowGrain : n_out;
    mk->rows(w.data, w.row_stride(), act, act_stride, n_in, n_tokens, begin * kRowGrain, r1, y, n_out);
  });
}

}  // namespace kaiyuan::kernels
