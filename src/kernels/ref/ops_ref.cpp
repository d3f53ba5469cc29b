// Scalar reference implementations of kernels/ops.h: the oracle for every ISA-specific path.
#include <cmath>
#include <vector>

#include "core/half.h"
#include "core/parallel.h"
#include "core/status.h"
#include "kernels/ref/ops_ref.h"
#include "kernels/packed_layout.h"
#include "kernels/quant/quant.h"

namespace kaiyuan::kernels::ref {

void dequantize_row(const TensorView& w, int64_t row, float* dst) {
  if (is_internal_dtype(w.dtype)) {
    unpack_row(w, row, dst);
    return;
  }
  const int64_t cols = w.cols();
  const uint8_t* src = w.data + static_cast<size_t>(row) * w.row_stride();
  KY_CHECK(quant::dequantize_row(w.dtype, src, dst, cols));
}

void matmul(const TensorView& w, const float* x, int64_t n_tokens, float* y) {
  const int64_t n_out = w.rows();
  const int64_t n_in = w.cols();
  const size_t stride = w.row_stride();
  // Rows are independent: each worker dequantizes its rows once and reuses them for every token.
  parallel_for(n_out, [&](int64_t begin, int64_t end) {
    std::vector<float> row(static_cast<size_t>(n_in));
    for (int64_t r = begin; r < end; ++r) {
      if (is_internal_dtype(w.dtype)) unpack_row(w, r, row.data());
      else KY_CHECK(quant::dequantize_row(w.dtype, w.data + static_cast<size_t>(r) * stride, row.data(), n_in));
      for (int64_t t = 0; t < n_tokens; ++t) {
        const float* xt = x + t * n_in;
        float sum = 0.0f;
        for (int64_t k = 0; k < n_in; ++k) sum += row[k] * xt[k];
        y[t * n_out + r] = sum;
      }
    }
  });
}

void rmsnorm(const float* x, const float* weight, int64_t n, float eps, float* y) {
  double sum_sq = 0.0;
  for (int64_t i = 0; i < n; ++i) sum_sq += static_cast<double>(x[i]) * x[i];
  const float scale = static_cast<float>(1.0 / std::sqrt(sum_sq / static_cast<double>(n) + eps));
  for (int64_t i = 0; i < n; ++i) y[i] = x[i] * scale * (weight != nullptr ? weight[i] : 1.0f);
}

void rope_angles(int64_t rope_dim, int64_t position, const float* inv_freq, float attn_factor, float* cos, float* sin) {
  for (int64_t i = 0; i < rope_dim / 2; ++i) {
    // Angles in double: positions up to 1e6 times frequencies near 1 lose digits in float.
    const double angle = static_cast<double>(position) * inv_freq[i];
    cos[i] = static_cast<float>(std::cos(angle)) * attn_factor;
    sin[i] = static_cast<float>(std::sin(angle)) * attn_factor;
  }
}

void rope_rotate(float* head, int64_t rope_dim, const float* cos, const float* sin, RopePairing pairing) {
  const int64_t half = rope_dim / 2;
  for (int64_t i = 0; i < half; ++i) {
    const int64_t a = pairing == RopePairing::kInterleaved ? 2 * i : i;
    const int64_t b = pairing == RopePairing::kInterleaved ? 2 * i + 1 : i + half;
    const float x0 = head[a];
    const float x1 = head[b];
    head[a] = x0 * cos[i] - x1 * sin[i];
    head[b] = x0 * sin[i] + x1 * cos[i];
  }
}

void rope(float* head, int64_t rope_dim, int64_t position, const float* inv_freq, float attn_factor,
          RopePairing pairing) {
  const int64_t half = rope_dim / 2;
  for (int64_t i = 0; i < half; ++i) {
    // Angles in double: positions up to 1e6 times frequencies near 1 lose digits in float.
    const double angle = static_cast<double>(position) * inv_freq[i];
    const float c = static_cast<float>(std::cos(angle)) * attn_factor;
    const float s = static_cast<float>(std::sin(angle)) * attn_factor;
    const int64_t a = pairing == RopePairing::kInterleaved ? 2 * i : i;
    const int64_t b = pairing == RopePairing::kInterleaved ? 2 * i + 1 : i + half;
    const float x0 = head[a];
    const float x1 = head[b];
    head[a] = x0 * c - x1 * s;
    head[b] = x0 * s + x1 * c;
  }
}

void softmax(float* x, int64_t n) {
  float max_v = -INFINITY;
  for (int64_t i = 0; i < n; ++i) max_v = std::max(max_v, x[i]);
  double sum = 0.0;
  for (int64_t i = 0; i < n; ++i) {
    x[i] = std::exp(x[i] - max_v);
    sum += x[i];
  }
  const float inv = static_cast<float>(1.0 / sum);
  for (int64_t i = 0; i < n; ++i) x[i] *= inv;
}

namespace {

float kv_value(float x) { return x; }
float kv_value(uint16_t h) { return f16_to_f32(h); }

// The loops src/model/llama.cpp ran inline before this kernel existed (same order of operations),
// over f32 or IEEE-half K/V rows.
template <typename KV>
void attend_head_rows(const float* q, const KV* k, int64_t k_stride, const KV* v, int64_t v_stride, int64_t n_kv,
                      int64_t head_dim, float scale, float* scores, float* out) {
  for (int64_t j = 0; j < n_kv; ++j) {
    const KV* kj = k + j * k_stride;
    float dot = 0.0f;
    for (int64_t d = 0; d < head_dim; ++d) dot += q[d] * kv_value(kj[d]);
    scores[j] = dot * scale;
  }
  softmax(scores, n_kv);
  for (int64_t d = 0; d < head_dim; ++d) out[d] = 0.0f;
  for (int64_t j = 0; j < n_kv; ++j) {
    const KV* vj = v + j * v_stride;
    const float a = scores[j];
    for (int64_t d = 0; d < head_dim; ++d) out[d] += a * kv_value(vj[d]);
  }
}

}  // namespace

void attend_head(const float* q, const float* k, int64_t k_stride, const float* v, int64_t v_stride, int64_t n_kv,
                 int64_t head_dim, float scale, float* scores, float* out) {
  attend_head_rows(q, k, k_stride, v, v_stride, n_kv, head_dim, scale, scores, out);
}

void attend_head_f16(const float* q, const uint16_t* k, int64_t k_stride, const uint16_t* v, int64_t v_stride,
                     int64_t n_kv, int64_t head_dim, float scale, float* scores, float* out) {
  attend_head_rows(q, k, k_stride, v, v_stride, n_kv, head_dim, scale, scores, out);
}

void f32_to_f16(const float* src, uint16_t* dst, int64_t n) {
  for (int64_t i = 0; i < n; ++i) dst[i] = kaiyuan::f32_to_f16(src[i]);
}

void swiglu(const float* gate, const float* up, int64_t n, float* out) {
  for (int64_t i = 0; i < n; ++i) {
    const float g = gate[i];
    out[i] = g / (1.0f + std::exp(-g)) * up[i];
  }
}

}  // namespace kaiyuan::kernels::ref
