// The ISA-independent half of matmul: quantize the activations once per call into a scratch buffer
// owned by the calling thread, then split the weight rows over the thread pool.
#include <vector>

#include "core/parallel.h"
#include "kernels/kernel_table.h"
#include "kernels/ref/ops_ref.h"

namespace kaiyuan::kernels {
namespace {

// Rows are handed out in multiples of this so every thread gets whole register tiles (at most 4
// rows in x86_avx2.cpp / x86_avx512.cpp) and whole groups of repacked rows (packed_layout.h).
constexpr int64_t kRowGrain = 16;

// Grows only: steady-state decode and prompt batches of a fixed size never allocate.
uint8_t* activation_scratch(size_t bytes) {
  thread_local std::vector<uint8_t> buf;
  if (buf.size() < bytes) buf.resize(bytes);
  return buf.data();
}

}  // namespace

void matmul_with(const KernelTable& k, const TensorView& w, const float* x, int64_t n_tokens, float* y) {
  const MatmulKernel* mk = k.matmul_for(w.dtype);
  if (mk == nullptr) {
    ref::matmul(w, x, n_tokens, y);
    return;
  }
  const int64_t n_out = w.rows();
  const int64_t n_in = w.cols();
  const auto* act = reinterpret_cast<const uint8_t*>(x);
  size_t act_stride = static_cast<size_t>(n_in) * sizeof(float);
  if (mk->act_type != DType::F32) {
    act_stride = *row_bytes(mk->act_type, n_in);  // shapes were validated at bind: whole blocks
    uint8_t* q = activation_scratch(act_stride * static_cast<size_t>(n_tokens));
    parallel_for(n_tokens, [&](int64_t begin, int64_t end) {
      for (int64_t t = begin; t < end; ++t) mk->quantize_act(x + t * n_in, q + t * act_stride, n_in);
    });
    act = q;
  }
  const int64_t n_chunks = (n_out + kRowGrain - 1) / kRowGrain;
  parallel_for(n_chunks, [&](int64_t begin, int64_t end) {
    const int64_t r1 = end * kRowGrain < n_out ? end * kRowGrain : n_out;
    mk->rows(w.data, w.row_stride(), act, act_stride, n_in, n_tokens, begin * kRowGrain, r1, y, n_out);
  });
}

}  // namespace kaiyuan::kernels
