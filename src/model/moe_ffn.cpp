// moe_ffn: route the batch, run each chosen expert once over the tokens that chose it, add the
// shared expert. Same arithmetic as HF's per-expert loop (Qwen3MoeSparseMoeBlock.forward) and
// llama.cpp build_moe_ffn; only the grouping differs.
#include "model/moe_ffn.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "core/parallel.h"
#include "kernels/ops.h"

namespace kaiyuan {
namespace {

Status check_config(const MoeWeights& w, const RouterConfig& c) {
  if (w.router == nullptr) return Error("moe_ffn: no router weights bound");
  const int64_t n = w.n_experts();
  if (c.n_experts != n || w.router->rows() != n || static_cast<int64_t>(w.up.size()) != n ||
      static_cast<int64_t>(w.down.size()) != n)
    return Error("moe_ffn: router config has " + std::to_string(c.n_experts) + " experts, the weights " +
                 std::to_string(n));
  if (c.top_k < 1 || c.top_k > n) return Error("moe_ffn: top_k " + std::to_string(c.top_k) + " is not in [1, n_experts]");
  if (c.n_group < 1 || n % c.n_group != 0 || c.topk_group < 1 || c.topk_group > c.n_group ||
      c.top_k > c.topk_group * (n / c.n_group))
    return Error("moe_ffn: expert groups do not fit (n_group " + std::to_string(c.n_group) + ", topk_group " +
                 std::to_string(c.topk_group) + ")");
  if (!w.selection_bias.empty() && static_cast<int64_t>(w.selection_bias.size()) != n)
    return Error("moe_ffn: selection bias has " + std::to_string(w.selection_bias.size()) + " entries, expected " +
                 std::to_string(n));
  return Status::ok();
}

template <class T>
void grow(std::vector<T>& v, int64_t n) {
  if (static_cast<int64_t>(v.size()) < n) v.resize(static_cast<size_t>(n));
}

// Counting sort of the (token, slot) pairs by expert: expert e's pairs are
// assignments[expert_begin[e] .. expert_begin[e + 1]), in token order.
void group_by_expert(const ExpertChoice* choices, int64_t n_pairs, int64_t n_experts, MoeScratch& s) {
  s.expert_begin.assign(static_cast<size_t>(n_experts + 1), 0);
  for (int64_t i = 0; i < n_pairs; ++i) ++s.expert_begin[choices[i].expert + 1];
  for (int64_t e = 0; e < n_experts; ++e) s.expert_begin[e + 1] += s.expert_begin[e];
  s.cursor.assign(s.expert_begin.begin(), s.expert_begin.end() - 1);
  grow(s.assignments, n_pairs);
  grow(s.grouped_row, n_pairs);
  for (int64_t i = 0; i < n_pairs; ++i) {
    const int64_t row = s.cursor[choices[i].expert]++;
    s.assignments[row] = i;
    s.grouped_row[i] = row;
  }
}

// Rows expert_begin[e] .. expert_begin[e + 1] of y_grouped = expert_e(x_t) for the (token, slot)
// pairs that chose expert e, in `assignments` order: the down projection writes them in place.
void run_expert(const MoeWeights& w, int64_t e, const float* x, int64_t top_k, const MoeScratch& s, MoeExpertBuffers& b,
                float* y_grouped) {
  const int64_t d = w.d_model(), f = w.d_ff_expert();
  const int64_t begin = s.expert_begin[e], m = s.expert_begin[e + 1] - begin;
  grow(b.x, m * d);
  grow(b.gate, m * f);
  grow(b.up, m * f);
  for (int64_t i = 0; i < m; ++i) {
    const int64_t t = s.assignments[begin + i] / top_k;
    std::memcpy(&b.x[i * d], x + t * d, static_cast<size_t>(d) * sizeof(float));  // [m, d_model]
  }
  // The experts stay mapped (never repacked at load, so a 30B MoE does not need its size twice):
  // with enough tokens each projection is packed on the fly for the repacked kernels.
  kernels::matmul_packing(w.gate[e], b.x.data(), m, b.gate.data());  // [m, d_ff_expert]
  kernels::matmul_packing(w.up[e], b.x.data(), m, b.up.data());      // [m, d_ff_expert]
  kernels::swiglu(b.gate.data(), b.up.data(), m * f, b.gate.data());
  kernels::matmul_packing(w.down[e], b.gate.data(), m, y_grouped + begin * d);  // [m, d_model]
}

// Runs every chosen expert. With at least two experts per thread, whole experts go to threads
// (one pool job per layer, and the gathers and SwiGLU run in parallel too); with fewer,
// experts run one after the other with each matmul split over the threads. An expert's rows come
// out the same either way (rows are independent), so the choice never changes a result.
void run_experts(const MoeWeights& w, const float* x, int64_t top_k, MoeScratch& s, float* y_grouped) {
  s.active.clear();
  for (int64_t e = 0; e < w.n_experts(); ++e)
    if (s.expert_begin[e + 1] > s.expert_begin[e]) s.active.push_back(e);
  const auto n_active = static_cast<int64_t>(s.active.size());
  if (num_threads() > 1 && n_active >= 2 * num_threads()) {
    parallel_for(n_active, [&](int64_t a0, int64_t a1) {
      thread_local MoeExpertBuffers buffers;  // a pool thread's own; the nested matmuls run inline
      for (int64_t a = a0; a < a1; ++a) run_expert(w, s.active[a], x, top_k, s, buffers, y_grouped);
    });
  } else {
    for (int64_t e : s.active) run_expert(w, e, x, top_k, s, s.expert, y_grouped);
  }
}

// out += shared_expert(x) (times sigmoid(gate_inp . x) where the family gates it).
void run_shared_expert(const MoeWeights& w, const float* x, int64_t n, float* out, MoeScratch& s) {
  const int64_t d = w.d_model(), f = w.d_ff_shexp();
  grow(s.shared_gate, n * f);
  grow(s.shared_up, n * f);
  grow(s.shared_out, n * d);
  kernels::matmul(*w.shexp_gate, x, n, s.shared_gate.data());  // [n, d_ff_shexp]
  kernels::matmul(*w.shexp_up, x, n, s.shared_up.data());      // [n, d_ff_shexp]
  kernels::swiglu(s.shared_gate.data(), s.shared_up.data(), n * f, s.shared_gate.data());
  kernels::matmul(*w.shexp_down, s.shared_gate.data(), n, s.shared_out.data());  // [n, d_model]
  for (int64_t t = 0; t < n; ++t) {
    float scale = 1.0f;
    if (!w.shexp_gate_inp.empty()) {
      float dot = 0.0f;
      for (int64_t j = 0; j < d; ++j) dot += w.shexp_gate_inp[j] * x[t * d + j];
      scale = 1.0f / (1.0f + std::exp(-dot));
    }
    for (int64_t j = 0; j < d; ++j) out[t * d + j] += scale * s.shared_out[t * d + j];
  }
}

}  // namespace

Status moe_ffn(const MoeWeights& w, const RouterConfig& config, const float* x, int64_t n, float* out,
               MoeScratch& s) {
  KY_RETURN_IF_ERROR(check_config(w, config));
  if (n <= 0) return Status::ok();
  const int64_t n_experts = w.n_experts(), k = config.top_k, d = w.d_model();

  grow(s.router_logits, n * n_experts);
  kernels::matmul(*w.router, x, n, s.router_logits.data());  // [n, n_experts]
  grow(s.choices, n * k);
  const float* bias = w.selection_bias.empty() ? nullptr : w.selection_bias.data();
  for (int64_t t = 0; t < n; ++t) route_token(config, &s.router_logits[t * n_experts], bias, &s.choices[t * k]);
  group_by_expert(s.choices.data(), n * k, n_experts, s);

  grow(s.y_grouped, n * k * d);
  run_experts(w, x, k, s, s.y_grouped.data());
  // out[t] = sum over the slots of weight * expert output, in slot order (llama.cpp's order; HF's
  // per-expert index_add_ differs only in rounding).
  parallel_for(n, [&](int64_t t0, int64_t t1) {
    for (int64_t t = t0; t < t1; ++t) {
      float* o = out + t * d;
      std::fill(o, o + d, 0.0f);
      for (int64_t slot = 0; slot < k; ++slot) {
        const float weight = s.choices[t * k + slot].weight;
        const float* y = &s.y_grouped[s.grouped_row[t * k + slot] * d];
        for (int64_t j = 0; j < d; ++j) o[j] += weight * y[j];
      }
    }
  });
  if (w.shexp_gate != nullptr) run_shared_expert(w, x, n, out, s);
  return Status::ok();
}

}  // namespace kaiyuan
