// Parsing of MlaSpec from GGUF `deepseek2.*` metadata (llama.cpp llama-model.cpp LLM_ARCH_DEEPSEEK2
// and convert_hf_to_gguf.py DeepseekV2Model) and from HF config.json (modeling_deepseek_v3.py).
#include "model/mla_spec.h"

#include <cmath>
#include <string>

#include "format/gguf.h"
#include "model/config_json.h"
#include "model/spec.h"

namespace kaiyuan {
namespace {

constexpr int64_t kMaxRank = 1 << 16;
constexpr int64_t kMaxExperts = 1 << 12;

Status check(const char* what, int64_t v, int64_t lo, int64_t hi) {
  if (v < lo || v > hi)
    return Error(std::string(what) + " = " + std::to_string(v) + " is out of range [" + std::to_string(lo) + ", " +
                 std::to_string(hi) + "]");
  return Status::ok();
}

// Shared checks, then the per-head view of ModelSpec the rest of the engine reads.
Status finish(ModelSpec& s) {
  MlaSpec& m = s.mla;
  KY_RETURN_IF_ERROR(check("q_lora_rank", m.q_lora_rank, 0, kMaxRank));
  KY_RETURN_IF_ERROR(check("kv_lora_rank", m.kv_lora_rank, 1, kMaxRank));
  KY_RETURN_IF_ERROR(check("qk_nope_head_dim", m.qk_nope_head_dim, 1, 4096));
  KY_RETURN_IF_ERROR(check("qk_rope_head_dim", m.qk_rope_head_dim, 2, 4096));
  KY_RETURN_IF_ERROR(check("v_head_dim", m.v_head_dim, 1, 4096));
  if (m.qk_rope_head_dim % 2 != 0) return Error("qk_rope_head_dim " + std::to_string(m.qk_rope_head_dim) + " is odd");
  if (m.yarn) {
    if (!(m.yarn_params.factor > 0.0) || !std::isfinite(m.yarn_params.factor))
      return Error("rope scaling factor must be positive and finite");
    KY_RETURN_IF_ERROR(check("rope scaling original context", m.yarn_params.original_context, 1, 1 << 26));
    if (!(m.yarn_params.beta_fast > 0.0) || !(m.yarn_params.beta_slow > 0.0))
      return Error("YaRN beta_fast / beta_slow must be positive");
  }
  RouterConfig& r = m.router;
  if (r.n_experts > 0) {
    KY_RETURN_IF_ERROR(check("expert count", r.n_experts, 1, kMaxExperts));
    KY_RETURN_IF_ERROR(check("experts per token", r.top_k, 1, r.n_experts));
    KY_RETURN_IF_ERROR(check("expert group count", r.n_group, 1, r.n_experts));
    if (r.n_experts % r.n_group != 0) return Error("expert count is not a multiple of the expert group count");
    KY_RETURN_IF_ERROR(check("expert groups used", r.topk_group, 1, r.n_group));
    if (r.top_k > r.topk_group * (r.n_experts / r.n_group))
      return Error("experts per token exceed the experts in the groups kept");
    KY_RETURN_IF_ERROR(check("expert feed_forward_length", m.d_ff_expert, 1, 1 << 20));
    KY_RETURN_IF_ERROR(check("shared expert count", m.n_shared_experts, 0, 64));
    KY_RETURN_IF_ERROR(check("leading dense block count", m.n_dense_lead, 0, s.n_layers));
    KY_RETURN_IF_ERROR(check("moe_layer_freq", m.moe_layer_freq, 1, 1024));
    if (!std::isfinite(r.routed_scaling_factor)) return Error("routed scaling factor must be finite");
  }
  s.head_dim = m.qk_head_dim();
  s.n_kv_heads = s.n_heads;  // every head has its own k_nope / v, expanded from the shared latent
  s.rope_dim = m.qk_rope_head_dim;
  // DeepSeek rotates adjacent pairs (2i, 2i+1): HF de-interleaves then applies rotate_half, the
  // GGUF converter leaves the weights as they are and llama.cpp uses LLAMA_ROPE_TYPE_NORM.
  s.rope_pairing = kernels::RopePairing::kInterleaved;
  const double factor = m.yarn ? m.yarn_params.softmax_factor : 1.0;
  m.softmax_scale = factor / std::sqrt(static_cast<double>(m.qk_head_dim()));
  return Status::ok();
}

std::optional<double> gguf_float(const GgufFile& g, const std::string& key) {
  const GgufValue* v = g.get(key);
  return v == nullptr ? std::nullopt : v->as_float();
}

}  // namespace

Status parse_mla_gguf(const GgufFile& g, ModelSpec& s) {
  MlaSpec& m = s.mla;
  const std::string p = s.arch + ".";
  m.q_lora_rank = g.get_int_or(p + "attention.q_lora_rank").value_or(0);
  KY_ASSIGN_OR_RETURN(m.kv_lora_rank, g.get_int(p + "attention.kv_lora_rank"));
  KY_ASSIGN_OR_RETURN(m.qk_rope_head_dim, g.get_int(p + "rope.dimension_count"));
  // Files converted since llama.cpp split kv_b (attn_k_b / attn_v_b) describe the latent as MQA:
  // key_length = kv_lora + rope, value_length = kv_lora; the per-head sizes are in *_mla. Older
  // files (attn_kv_b) have the per-head sizes in key_length / value_length.
  int64_t qk_head = 0, v_head = 0;
  if (auto k = g.get_int_or(p + "attention.key_length_mla")) {
    qk_head = *k;
    KY_ASSIGN_OR_RETURN(v_head, g.get_int(p + "attention.value_length_mla"));
  } else {
    KY_ASSIGN_OR_RETURN(qk_head, g.get_int(p + "attention.key_length"));
    KY_ASSIGN_OR_RETURN(v_head, g.get_int(p + "attention.value_length"));
  }
  m.qk_nope_head_dim = qk_head - m.qk_rope_head_dim;
  m.v_head_dim = v_head;

  if (const GgufValue* st = g.get(p + "rope.scaling.type"); st != nullptr && st->as_string() != nullptr) {
    const std::string& type = *st->as_string();
    if (type == "yarn") {
      m.yarn = true;
      YarnParams& y = m.yarn_params;
      KY_ASSIGN_OR_RETURN(y.factor, g.get_float(p + "rope.scaling.factor"));
      KY_ASSIGN_OR_RETURN(y.original_context, g.get_int(p + "rope.scaling.original_context_length"));
      // The converter writes the checkpoint's betas; use them (llama.cpp itself uses 32 / 1).
      y.beta_fast = gguf_float(g, p + "rope.scaling.yarn_beta_fast").value_or(32.0);
      y.beta_slow = gguf_float(g, p + "rope.scaling.yarn_beta_slow").value_or(1.0);
      // yarn_log_multiplier = 0.1 x mscale_all_dim. llama.cpp's deepseek2 graph scales the softmax
      // by (1 + log_mul ln s)^2 and leaves cos/sin unscaled (its 1/(1 + 0.1 ln s) attn_factor
      // cancels ggml's YaRN mscale), i.e. the HF rule with mscale == mscale_all_dim.
      const double log_mul = gguf_float(g, p + "rope.scaling.yarn_log_multiplier").value_or(0.0);
      const double ms = y.factor > 1.0 ? 1.0 + log_mul * std::log(y.factor) : 1.0;
      y.rope_attn_factor = 1.0;
      y.softmax_factor = ms * ms;
    } else if (type != "none") {
      return Error("rope.scaling.type '" + type + "' is not supported for architecture " + s.arch);
    }
  }

  RouterConfig& r = m.router;
  r.n_experts = g.get_int_or(p + "expert_count").value_or(0);
  if (r.n_experts > 0) {
    KY_ASSIGN_OR_RETURN(r.top_k, g.get_int(p + "expert_used_count"));
    KY_ASSIGN_OR_RETURN(m.d_ff_expert, g.get_int(p + "expert_feed_forward_length"));
    m.n_shared_experts = g.get_int_or(p + "expert_shared_count").value_or(0);
    m.n_dense_lead = g.get_int_or(p + "leading_dense_block_count").value_or(0);
    // llama.cpp LLAMA_EXPERT_GATING_FUNC_TYPE: 1 softmax (default, DeepSeek-V2), 2 sigmoid (V3).
    const int64_t gating = g.get_int_or(p + "expert_gating_func").value_or(1);
    if (gating != 1 && gating != 2)
      return Error(p + "expert_gating_func = " + std::to_string(gating) + " is not supported (1 softmax, 2 sigmoid)");
    r.scoring = gating == 2 ? RouterScoring::kSigmoid : RouterScoring::kSoftmax;
    r.n_group = std::max<int64_t>(1, g.get_int_or(p + "expert_group_count").value_or(1));
    r.topk_group = std::max<int64_t>(1, g.get_int_or(p + "expert_group_used_count").value_or(r.n_group));
    m.softmax_group_limited = r.scoring == RouterScoring::kSoftmax && r.n_group > 1;
    // llama.cpp: weights renormalised when expert_weights_norm, then always x expert_weights_scale.
    const GgufValue* norm = g.get(p + "expert_weights_norm");
    r.norm_topk_prob = norm != nullptr && norm->as_bool().value_or(false);
    r.routed_scaling_factor = static_cast<float>(gguf_float(g, p + "expert_weights_scale").value_or(1.0));
  }
  return finish(s);
}

namespace {

// transformers _compute_yarn_parameters (and the fixture reference.py) for DeepSeek's config.
Status parse_yarn_hf(const nlohmann::json& rs, int64_t max_positions, MlaSpec& m) {
  YarnParams& y = m.yarn_params;
  m.yarn = true;
  KY_ASSIGN_OR_RETURN(const double config_factor, json_float(rs, "factor", 1.0));
  y.factor = config_factor;
  KY_ASSIGN_OR_RETURN(y.original_context, json_int(rs, "original_max_position_embeddings", max_positions));
  // transformers derives the factor from the two lengths when both are given.
  if (rs.contains("original_max_position_embeddings") && y.original_context > 0)
    y.factor = static_cast<double>(max_positions) / static_cast<double>(y.original_context);
  KY_ASSIGN_OR_RETURN(y.beta_fast, json_float(rs, "beta_fast", 32.0));
  KY_ASSIGN_OR_RETURN(y.beta_slow, json_float(rs, "beta_slow", 1.0));
  KY_ASSIGN_OR_RETURN(const double mscale, json_float(rs, "mscale", 0.0));
  KY_ASSIGN_OR_RETURN(const double mscale_all_dim, json_float(rs, "mscale_all_dim", 0.0));
  if (rs.contains("attention_factor") && !rs["attention_factor"].is_null()) {
    KY_ASSIGN_OR_RETURN(y.rope_attn_factor, json_float(rs, "attention_factor", 1.0));
  } else if (mscale != 0.0 && mscale_all_dim != 0.0) {
    y.rope_attn_factor = yarn_mscale(y.factor, mscale) / yarn_mscale(y.factor, mscale_all_dim);
  } else {
    y.rope_attn_factor = yarn_mscale(y.factor, 1.0);
  }
  // DeepseekV3Attention: softmax_scale *= yarn_get_mscale(factor, mscale_all_dim)^2 (config factor).
  const double ms = mscale_all_dim != 0.0 ? yarn_mscale(config_factor, mscale_all_dim) : 1.0;
  y.softmax_factor = ms * ms;
  return Status::ok();
}

}  // namespace

Status parse_mla_hf(const nlohmann::json& c, ModelSpec& s) {
  MlaSpec& m = s.mla;
  KY_ASSIGN_OR_RETURN(m.q_lora_rank, json_int(c, "q_lora_rank", 0));  // null: no q LoRA (V2-Lite)
  KY_ASSIGN_OR_RETURN(m.kv_lora_rank, json_int(c, "kv_lora_rank", std::nullopt));
  KY_ASSIGN_OR_RETURN(m.qk_nope_head_dim, json_int(c, "qk_nope_head_dim", std::nullopt));
  KY_ASSIGN_OR_RETURN(m.qk_rope_head_dim, json_int(c, "qk_rope_head_dim", std::nullopt));
  KY_ASSIGN_OR_RETURN(m.v_head_dim, json_int(c, "v_head_dim", std::nullopt));
  if (auto rs = c.find("rope_scaling"); rs != c.end() && rs->is_object()) {
    KY_ASSIGN_OR_RETURN(const std::string legacy_type, json_string(*rs, "type", "default"));
    KY_ASSIGN_OR_RETURN(const std::string type, json_string(*rs, "rope_type", legacy_type));
    if (type == "yarn") {
      KY_RETURN_IF_ERROR(parse_yarn_hf(*rs, s.n_ctx_train, m));
    } else if (type != "default") {
      return Error("config.json: rope_scaling type \"" + type + "\" is not supported for " + s.arch);
    }
  }

  RouterConfig& r = m.router;
  KY_ASSIGN_OR_RETURN(r.n_experts, json_int(c, "n_routed_experts", 0));
  if (r.n_experts > 0) {
    KY_ASSIGN_OR_RETURN(r.top_k, json_int(c, "num_experts_per_tok", std::nullopt));
    KY_ASSIGN_OR_RETURN(m.d_ff_expert, json_int(c, "moe_intermediate_size", std::nullopt));
    KY_ASSIGN_OR_RETURN(m.n_shared_experts, json_int(c, "n_shared_experts", 0));
    KY_ASSIGN_OR_RETURN(m.n_dense_lead, json_int(c, "first_k_dense_replace", 0));
    KY_ASSIGN_OR_RETURN(m.moe_layer_freq, json_int(c, "moe_layer_freq", 1));
    KY_ASSIGN_OR_RETURN(const double scaling, json_float(c, "routed_scaling_factor", 1.0));
    // Checked first: json::value would throw on a non-boolean (the same bug fuzz_hf_config found in spec.cpp).
    if (c.contains("norm_topk_prob") && !c["norm_topk_prob"].is_boolean() && !c["norm_topk_prob"].is_null())
      return Error("config.json: \"norm_topk_prob\" must be true or false");
    const bool norm = c.contains("norm_topk_prob") && c["norm_topk_prob"].is_boolean() && c["norm_topk_prob"].get<bool>();
    KY_ASSIGN_OR_RETURN(const std::string scoring, json_string(c, "scoring_func", "softmax"));
    KY_ASSIGN_OR_RETURN(const std::string method, json_string(c, "topk_method", "greedy"));
    if (scoring == "sigmoid" || method == "noaux_tc") {
      // DeepSeek-V3 noaux_tc: sigmoid scores, bias-corrected group-limited choice, weights
      // renormalised when norm_topk_prob, always x routed_scaling_factor.
      r.scoring = RouterScoring::kSigmoid;
      KY_ASSIGN_OR_RETURN(r.n_group, json_int(c, "n_group", 1));
      KY_ASSIGN_OR_RETURN(r.topk_group, json_int(c, "topk_group", r.n_group));
      r.norm_topk_prob = norm;
      r.routed_scaling_factor = static_cast<float>(scaling);
    } else if (scoring == "softmax" && (method == "greedy" || method == "group_limited_greedy")) {
      // DeepSeek-V2 MoEGate: softmax scores; renormalised when top_k > 1 and norm_topk_prob,
      // otherwise x routed_scaling_factor (never both).
      r.scoring = RouterScoring::kSoftmax;
      if (method == "group_limited_greedy") {
        KY_ASSIGN_OR_RETURN(r.n_group, json_int(c, "n_group", 1));
        KY_ASSIGN_OR_RETURN(r.topk_group, json_int(c, "topk_group", r.n_group));
      }
      m.softmax_group_limited = r.n_group > 1;
      r.norm_topk_prob = r.top_k > 1 && norm;
      r.routed_scaling_factor = r.norm_topk_prob ? 1.0f : static_cast<float>(scaling);
    } else {
      return Error("config.json: scoring_func \"" + scoring + "\" with topk_method \"" + method +
                   "\" is not supported");
    }
  }
  return finish(s);
}

}  // namespace kaiyuan
