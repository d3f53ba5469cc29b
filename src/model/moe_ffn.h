// The batched mixture-of-experts feed-forward block shared by every MoE family: route every token
// of the batch, group the tokens by expert, run each chosen expert's gate/up/down matmuls once over
// its tokens (unchosen experts are never touched), add the always-on shared expert.
//
// Expert weights stay where the WeightSource put them (mmap): GGUF stacks each projection of all
// experts into one 3-D tensor `blk.N.ffn_{gate,up,down}_exps.weight` of shape {n_experts, n_out,
// n_in} (outermost first), and an expert is a TensorView over its slice of rows; HF folders hold
// one tensor per expert (`blk.N.ffn_gate.E.weight`, format/tensor_names.cpp).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/status.h"
#include "format/weight_source.h"
#include "model/moe.h"

namespace kaiyuan {

struct MoeWeights {
  const TensorView* router = nullptr;  // ffn_gate_inp [n_experts, d_model]
  std::vector<float> selection_bias;   // exp_probs_b [n_experts]; empty when the family has none
  // One view per expert, non-owning (slices of the stacked GGUF tensor or the HF per-expert tensors).
  std::vector<TensorView> gate;  // [d_ff_expert, d_model] each
  std::vector<TensorView> up;    // [d_ff_expert, d_model]
  std::vector<TensorView> down;  // [d_model, d_ff_expert]
  // Shared expert (DeepSeek/GLM/ERNIE shared_experts, HunYuan shared_mlp), all null when absent.
  const TensorView* shexp_gate = nullptr;  // [d_ff_shexp, d_model]
  const TensorView* shexp_up = nullptr;    // [d_ff_shexp, d_model]
  const TensorView* shexp_down = nullptr;  // [d_model, d_ff_shexp]
  // Qwen2-MoE shared_expert_gate [d_model] (empty when absent): the shared output is scaled by
  // sigmoid(shexp_gate_inp . x).
  std::vector<float> shexp_gate_inp;

  int64_t n_experts() const { return static_cast<int64_t>(gate.size()); }
  int64_t d_model() const { return router == nullptr ? 0 : router->cols(); }
  int64_t d_ff_expert() const { return gate.empty() ? 0 : gate[0].rows(); }
  int64_t d_ff_shexp() const { return shexp_gate == nullptr ? 0 : shexp_gate->rows(); }
};

// Binds layer `layer`'s MoE tensors by canonical name, from either the stacked GGUF tensors or the
// per-expert ones, checking every shape and type. The shared expert is bound when its tensors exist:
// with `d_ff_shexp` > 0 it must exist with that width; with 0 its width is taken from
// ffn_gate_shexp (families size it differently: n_shared x moe_intermediate_size, intermediate_size
// x num_shared_expert...) and up/down are checked against it.
// `source` must outlive the result.
Result<MoeWeights> bind_moe_weights(const WeightSource& source, int64_t layer, int64_t n_experts, int64_t d_model,
                                    int64_t d_ff_expert, int64_t d_ff_shexp);

// One expert's gathered tokens [m, d_model] and activations [m, d_ff_expert] x 2.
struct MoeExpertBuffers {
  std::vector<float> x, gate, up;
};

// Per-call buffers, reused across calls and layers (grown on demand, never shrunk).
struct MoeScratch {
  std::vector<float> router_logits;          // [n, n_experts]
  std::vector<ExpertChoice> choices;         // [n, top_k]
  std::vector<int64_t> expert_begin;         // [n_experts + 1] offsets into `assignments`
  std::vector<int64_t> assignments;          // [n * top_k] (token * top_k + slot), grouped by expert
  std::vector<int64_t> grouped_row;          // [n * top_k] inverse: pair -> its index in `assignments`
  std::vector<int64_t> cursor;               // [n_experts] fill position while grouping
  std::vector<int64_t> active;               // experts chosen by at least one token
  std::vector<float> y_grouped;              // [n * top_k, d_model] expert outputs, in `assignments` order
  MoeExpertBuffers expert;                   // used when experts run one after the other
  std::vector<float> shared_gate, shared_up, shared_out;  // [n, d_ff_shexp], [n, d_model]
};

// out[t] = sum over the top_k experts e chosen for token t of w(t, e) * down_e(silu(gate_e x_t) *
// up_e x_t), plus the shared expert's output. x: [n, d_model], out: [n, d_model] (overwritten; must
// not alias x). Fails on a config that does not fit the weights (expert count, top-k, groups).
Status moe_ffn(const MoeWeights& weights, const RouterConfig& config, const float* x, int64_t n, float* out,
               MoeScratch& scratch);

}  // namespace kaiyuan
