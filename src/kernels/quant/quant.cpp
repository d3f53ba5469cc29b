// The QuantTraits table (one row per supported GGUF type) and the row-level entry points of quant.h.
#include "kernels/quant/quant.h"

#include <array>
#include <cmath>
#include <limits>

#include "kernels/quant/block_codecs.h"

namespace kaiyuan::quant {
namespace {

using namespace detail;

// Block sizes from ggml-common.h; vec_dot_type from ggml-cpu.c type_traits_cpu.
constexpr std::array<QuantTraits, 12> kTraits = {{
    {DType::F32, 1, 4, f32_to_float, f32_from_float, DType::F32},
    {DType::F16, 1, 2, f16_to_float, f16_from_float, DType::F16},
    {DType::BF16, 1, 2, bf16_to_float, bf16_from_float, DType::BF16},
    {DType::Q4_0, kQK, sizeof(BlockQ4_0), dequantize_q4_0, quantize_q4_0, DType::Q8_0},
    {DType::Q4_1, kQK, sizeof(BlockQ4_1), dequantize_q4_1, quantize_q4_1, DType::Q8_1},
    {DType::Q5_0, kQK, sizeof(BlockQ5_0), dequantize_q5_0, quantize_q5_0, DType::Q8_0},
    {DType::Q5_1, kQK, sizeof(BlockQ5_1), dequantize_q5_1, quantize_q5_1, DType::Q8_1},
    {DType::Q8_0, kQK, sizeof(BlockQ8_0), dequantize_q8_0, quantize_q8_0, DType::Q8_0},
    {DType::Q4_K, kQK_K, sizeof(BlockQ4_K), dequantize_q4_k, quantize_q4_k, DType::Q8_K},
    {DType::Q5_K, kQK_K, sizeof(BlockQ5_K), dequantize_q5_k, quantize_q5_k, DType::Q8_K},
    {DType::Q6_K, kQK_K, sizeof(BlockQ6_K), dequantize_q6_k, quantize_q6_k, DType::Q8_K},
    {DType::Q8_K, kQK_K, sizeof(BlockQ8_K), dequantize_q8_k, quantize_q8_k, DType::Q8_K},
}};

// The row for `t` when `n` elements are a whole (non-negative) number of its blocks.
const QuantTraits* traits_for_row(DType t, int64_t n) {
  const QuantTraits* tr = quant_traits(t);
  if (tr == nullptr || n < 0 || n % tr->block_elems != 0) return nullptr;
  return tr;
}

}  // namespace

const QuantTraits* quant_traits(DType t) {
  for (const QuantTraits& tr : kTraits)
    if (tr.type == t) return &tr;
  return nullptr;
}

bool dequantize_row(DType t, const void* src, float* dst, int64_t n) {
  const QuantTraits* tr = traits_for_row(t, n);
  if (tr == nullptr) return false;
  tr->to_float(static_cast<const uint8_t*>(src), dst, n / tr->block_elems);
  return true;
}

bool quantize_row(DType t, const float* src, void* dst, int64_t n) {
  const QuantTraits* tr = traits_for_row(t, n);
  if (tr == nullptr) return false;
  tr->from_float(src, static_cast<uint8_t*>(dst), n / tr->block_elems);
  return true;
}

float dot_ref(DType t, const void* w, const float* x, int64_t n) {
  const QuantTraits* tr = traits_for_row(t, n);
  if (tr == nullptr) return std::numeric_limits<float>::quiet_NaN();
  // One block at a time through a stack buffer: the reference path never allocates.
  const auto* bytes = static_cast<const uint8_t*>(w);
  const int64_t per_chunk = tr->block_elems == 1 ? kQK_K : tr->block_elems;
  float buf[kQK_K];
  double sum = 0.0;
  for (int64_t done = 0; done < n; done += per_chunk) {
    const int64_t len = n - done < per_chunk ? n - done : per_chunk;
    tr->to_float(bytes + (done / tr->block_elems) * static_cast<int64_t>(tr->block_bytes), buf,
                 len / tr->block_elems);
    for (int64_t j = 0; j < len; ++j) sum += static_cast<double>(buf[j]) * static_cast<double>(x[done + j]);
  }
  return static_cast<float>(sum);
}

}  // namespace kaiyuan::quant
