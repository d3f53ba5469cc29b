// How much of a model's weights one generated token touches: all of them for a dense model; for a
// mixture of experts only top_k of the n_experts routed experts per MoE layer (plus everything
// else), and one row of the token embedding (unless it doubles as the LM head).
#pragma once

#include <cstdint>

#include "format/weight_source.h"
#include "model/spec.h"

namespace kaiyuan {

struct WeightFootprint {
  int64_t total_params = 0;
  int64_t active_params = 0;    // parameters used per token (routed experts: top_k of n_experts)
  double total_bytes = 0;
  double bytes_per_token = 0;   // weight bytes read per generated token (embedding: one row)
  int64_t expert_params = 0;    // routed-expert parameters, all experts
};

// Routed-expert tensors are recognised by their canonical names: GGUF `blk.N.ffn_{gate,up,down}_exps`
// stacks and HF-mapped per-expert `blk.N.ffn_{gate,up,down}.E.weight`.
WeightFootprint weight_footprint(const ModelSpec& spec, const WeightSource& weights);

}  // namespace kaiyuan
