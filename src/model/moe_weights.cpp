// bind_moe_weights: a layer's router, selection bias, routed experts (stacked GGUF tensors sliced
// per expert, or HF per-expert tensors) and shared expert, every shape and type checked at load.
#include <string>

#include "kernels/quant/quant.h"
#include "model/moe_ffn.h"
#include "model/weights.h"

namespace kaiyuan {
namespace {

// Checks that `t` is a valid {n_experts, rows, cols} stack and appends one view per expert over its
// rows: no copy, the views point into the file.
Status slice_stacked(const TensorView& t, int64_t n_experts, int64_t rows, int64_t cols, std::vector<TensorView>& out) {
  const std::vector<int64_t> expected = {n_experts, rows, cols};
  if (t.shape != expected) return Error(t.name + ": shape " + shape_string(t.shape) + ", expected " + shape_string(expected));
  if (quant::quant_traits(t.dtype) == nullptr)
    return Error(t.name + ": tensor type " + std::string(dtype_name(t.dtype)) + " is not supported");
  const auto row = row_bytes(t.dtype, cols);
  if (!row || *row * static_cast<size_t>(rows * n_experts) != t.nbytes)
    return Error(t.name + ": " + std::to_string(t.nbytes) + " bytes of data do not match type " +
                 std::string(dtype_name(t.dtype)) + " and shape " + shape_string(t.shape));
  const size_t expert_bytes = *row * static_cast<size_t>(rows);
  for (int64_t e = 0; e < n_experts; ++e) {
    TensorView v;
    v.name = t.name + "[" + std::to_string(e) + "]";
    v.dtype = t.dtype;
    v.shape = {rows, cols};
    v.data = t.data + static_cast<size_t>(e) * expert_bytes;
    v.nbytes = expert_bytes;
    out.push_back(std::move(v));
  }
  return Status::ok();
}

// One projection of every expert: `blk.N.<base>_exps.weight` (GGUF) or `blk.N.<base>.E.weight` (HF).
Status bind_experts(const WeightSource& src, const std::string& prefix, const std::string& base, int64_t n_experts,
                    int64_t rows, int64_t cols, std::vector<TensorView>& out) {
  out.clear();
  if (const TensorView* stacked = src.find(prefix + base + "_exps.weight"))
    return slice_stacked(*stacked, n_experts, rows, cols, out);
  for (int64_t e = 0; e < n_experts; ++e) {
    // Experts stay mapped (never copied): only the few a token picks are read.
    KY_ASSIGN_OR_RETURN(const TensorView* t,
                        bind_mapped_matrix(src, prefix + base + "." + std::to_string(e) + ".weight", rows, cols));
    out.push_back(*t);
  }
  return Status::ok();
}

// A vector of n floats stored with any shape of n elements (ERNIE's exp_probs_b is {1, n_experts}).
Result<std::vector<float>> load_flat_vector(const TensorView& t, int64_t n) {
  if (t.numel() != n)
    return Error(t.name + ": shape " + shape_string(t.shape) + ", expected " + std::to_string(n) + " elements");
  const auto bytes = row_bytes(t.dtype, n);
  if (quant::quant_traits(t.dtype) == nullptr || !bytes || *bytes != t.nbytes)
    return Error(t.name + ": tensor type " + std::string(dtype_name(t.dtype)) + " is not supported for a vector");
  std::vector<float> out(static_cast<size_t>(n));
  if (!quant::dequantize_row(t.dtype, t.data, out.data(), n)) return Error(t.name + ": cannot convert to f32");
  return out;
}

Status bind_shared_expert(const WeightSource& src, const std::string& p, int64_t d_model, int64_t d_ff_shexp,
                          MoeWeights& w) {
  const TensorView* gate = src.find(p + "ffn_gate_shexp.weight");
  if (gate == nullptr) {
    if (d_ff_shexp > 0) return Error("missing tensor '" + p + "ffn_gate_shexp.weight' (the model has a shared expert)");
    return Status::ok();
  }
  const int64_t width = d_ff_shexp > 0 ? d_ff_shexp : gate->rows();
  KY_ASSIGN_OR_RETURN(w.shexp_gate, bind_matrix(src, p + "ffn_gate_shexp.weight", width, d_model));
  KY_ASSIGN_OR_RETURN(w.shexp_up, bind_matrix(src, p + "ffn_up_shexp.weight", width, d_model));
  KY_ASSIGN_OR_RETURN(w.shexp_down, bind_matrix(src, p + "ffn_down_shexp.weight", d_model, width));
  if (const TensorView* g = src.find(p + "ffn_gate_inp_shexp.weight")) {
    KY_ASSIGN_OR_RETURN(w.shexp_gate_inp, load_flat_vector(*g, d_model));
  }
  return Status::ok();
}

}  // namespace

Result<MoeWeights> bind_moe_weights(const WeightSource& src, int64_t layer, int64_t n_experts, int64_t d_model,
                                    int64_t d_ff_expert, int64_t d_ff_shexp) {
  const std::string p = "blk." + std::to_string(layer) + ".";
  MoeWeights w;
  KY_ASSIGN_OR_RETURN(w.router, bind_matrix(src, p + "ffn_gate_inp.weight", n_experts, d_model));
  if (const TensorView* bias = src.find(p + "exp_probs_b.bias")) {
    KY_ASSIGN_OR_RETURN(w.selection_bias, load_flat_vector(*bias, n_experts));
  }
  KY_RETURN_IF_ERROR(bind_experts(src, p, "ffn_gate", n_experts, d_ff_expert, d_model, w.gate));
  KY_RETURN_IF_ERROR(bind_experts(src, p, "ffn_up", n_experts, d_ff_expert, d_model, w.up));
  KY_RETURN_IF_ERROR(bind_experts(src, p, "ffn_down", n_experts, d_model, d_ff_expert, w.down));
  KY_RETURN_IF_ERROR(bind_shared_expert(src, p, d_model, d_ff_shexp, w));
  return w;
}

}  // namespace kaiyuan
