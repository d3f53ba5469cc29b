// weight_footprint: total vs per-token parameters and bytes, for `kaiyuan inspect`.
#include "model/weight_footprint.h"

#include <string_view>

namespace kaiyuan {
namespace {

bool is_digits(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s)
    if (c < '0' || c > '9') return false;
  return true;
}

// "blk.N.ffn_gate_exps.weight" or "blk.N.ffn_up.E.weight".
bool is_routed_expert(std::string_view name) {
  if (!name.starts_with("blk.")) return false;
  for (std::string_view proj : {"ffn_gate", "ffn_up", "ffn_down"}) {
    const size_t at = name.find(proj);
    if (at == std::string_view::npos) continue;
    std::string_view rest = name.substr(at + proj.size());
    if (rest == "_exps.weight") return true;
    if (rest.starts_with(".") && rest.ends_with(".weight")) {
      rest.remove_prefix(1);
      rest.remove_suffix(std::string_view(".weight").size());
      if (is_digits(rest)) return true;
    }
  }
  return false;
}

}  // namespace

WeightFootprint weight_footprint(const ModelSpec& spec, const WeightSource& weights) {
  WeightFootprint f;
  const double active_fraction = spec.is_moe() ? static_cast<double>(spec.router.top_k) /
                                                     static_cast<double>(spec.router.n_experts)
                                               : 1.0;
  double active_params = 0;
  for (const TensorView& t : weights.tensors()) {
    const double params = static_cast<double>(t.numel());
    const double bytes = static_cast<double>(t.nbytes);
    f.total_params += t.numel();
    f.total_bytes += bytes;
    if (is_routed_expert(t.name)) {
      f.expert_params += t.numel();
      active_params += params * active_fraction;
      f.bytes_per_token += bytes * active_fraction;
    } else if (t.name == "token_embd.weight" && !spec.tied_embeddings) {
      active_params += params;  // a lookup reads one row; the parameters still count as used
      f.bytes_per_token += bytes / static_cast<double>(t.rows());
    } else {
      active_params += params;
      f.bytes_per_token += bytes;
    }
  }
  f.active_params = static_cast<int64_t>(active_params + 0.5);
  return f;
}

}  // namespace kaiyuan
