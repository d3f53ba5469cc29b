#include "model/spec.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "format/gguf.h"
#include "model/config_json.h"
#include "model/mla_spec.h"

namespace kaiyuan {
namespace {

// Upper bounds that no real model comes near; they stop hostile files from asking for absurd
// allocations through the cache or scratch buffers sized from these numbers.
constexpr int64_t kMaxDim = 1 << 20;
constexpr int64_t kMaxLayers = 1024;
constexpr int64_t kMaxVocab = 1 << 24;
constexpr int64_t kMaxCtx = 1 << 24;

// Products of counts read from a file, before validate() has range-checked them: an absurd count
// must come out as an absurd (rejected) width, not as signed overflow (found by fuzz_hf_config).
int64_t saturating_mul(int64_t a, int64_t b) {
  int64_t product;
  if (!__builtin_mul_overflow(a, b, &product)) return product;
  return (a < 0) == (b < 0) ? std::numeric_limits<int64_t>::max() : std::numeric_limits<int64_t>::min();
}

Status check_range(const char* what, int64_t v, int64_t lo, int64_t hi) {
  if (v < lo || v > hi)
    return Error(std::string(what) + " = " + std::to_string(v) + " is out of range [" + std::to_string(lo) + ", " +
                 std::to_string(hi) + "]");
  return Status::ok();
}

Status validate_moe(const ModelSpec& s) {
  const RouterConfig& r = s.router;
  KY_RETURN_IF_ERROR(check_range("n_experts (expert_count)", r.n_experts, 1, 1 << 16));
  KY_RETURN_IF_ERROR(check_range("experts per token (expert_used_count)", r.top_k, 1, r.n_experts));
  KY_RETURN_IF_ERROR(check_range("d_ff_expert (expert_feed_forward_length)", s.d_ff_expert, 1, kMaxDim));
  KY_RETURN_IF_ERROR(check_range("n_shared_experts (expert_shared_count)", s.n_shared_experts, 0, 1 << 16));
  KY_RETURN_IF_ERROR(check_range("d_ff_shexp (expert_shared_feed_forward_length)", s.d_ff_shexp, 0, kMaxDim));
  KY_RETURN_IF_ERROR(check_range("leading dense layers (leading_dense_block_count)", s.n_dense_lead, 0, s.n_layers));
  KY_RETURN_IF_ERROR(check_range("MoE layer step", s.moe_layer_step, 1, kMaxLayers));
  KY_RETURN_IF_ERROR(check_range("expert groups (expert_group_count)", r.n_group, 1, r.n_experts));
  if (r.n_experts % r.n_group != 0)
    return Error("expert_count " + std::to_string(r.n_experts) + " is not a multiple of expert_group_count " +
                 std::to_string(r.n_group));
  KY_RETURN_IF_ERROR(check_range("groups used (expert_group_used_count)", r.topk_group, 1, r.n_group));
  if (r.top_k > r.topk_group * (r.n_experts / r.n_group))
    return Error("expert_used_count " + std::to_string(r.top_k) + " exceeds the experts of the " +
                 std::to_string(r.topk_group) + " groups kept");
  if (!(r.routed_scaling_factor > 0.0f) || !std::isfinite(r.routed_scaling_factor))
    return Error("expert_weights_scale (routed_scaling_factor) must be positive and finite");
  for (int64_t l : s.dense_layers)
    KY_RETURN_IF_ERROR(check_range("dense layer index (mlp_only_layers)", l, 0, s.n_layers - 1));
  return Status::ok();
}

}  // namespace

bool ModelSpec::is_moe_layer(int64_t layer) const {
  if (!is_moe() || layer < n_dense_lead) return false;
  if (moe_layer_end >= 0 && layer > moe_layer_end) return false;
  if (moe_layer_step > 1 && (layer + 1) % moe_layer_step != 0) return false;
  return std::find(dense_layers.begin(), dense_layers.end(), layer) == dense_layers.end();
}

Status ModelSpec::validate() const {
  KY_RETURN_IF_ERROR(check_range("n_vocab", n_vocab, 1, kMaxVocab));
  KY_RETURN_IF_ERROR(check_range("d_model (embedding_length)", d_model, 1, kMaxDim));
  KY_RETURN_IF_ERROR(check_range("n_layers (block_count)", n_layers, 1, kMaxLayers));
  KY_RETURN_IF_ERROR(check_range("n_heads (attention.head_count)", n_heads, 1, 4096));
  KY_RETURN_IF_ERROR(check_range("n_kv_heads (attention.head_count_kv)", n_kv_heads, 1, n_heads));
  if (n_heads % n_kv_heads != 0)
    return Error("n_heads " + std::to_string(n_heads) + " is not a multiple of n_kv_heads " + std::to_string(n_kv_heads));
  KY_RETURN_IF_ERROR(check_range("head_dim (attention.key_length)", head_dim, 2, 4096));
  KY_RETURN_IF_ERROR(check_range("d_ff (feed_forward_length)", d_ff, 1, kMaxDim));
  KY_RETURN_IF_ERROR(check_range("n_ctx_train (context_length)", n_ctx_train, 1, kMaxCtx));
  KY_RETURN_IF_ERROR(check_range("rope dimension_count", rope_dim, 2, head_dim));
  if (rope_dim % 2 != 0) return Error("rope dimension_count " + std::to_string(rope_dim) + " is odd");
  if (!(norm_eps > 0.0f) || norm_eps > 1.0f) return Error("layer_norm_rms_epsilon " + std::to_string(norm_eps) + " is not in (0, 1]");
  if (!(rope_theta > 0.0) || !std::isfinite(rope_theta)) return Error("rope freq_base must be positive and finite");
  if (rope_scaling.type != RopeScalingType::kNone && !(rope_scaling.factor > 0.0))
    return Error("rope_scaling factor must be positive");
  if (qk_norm_after_rope && qk_norm_all_heads) return Error("q/k norm over all heads after RoPE is not a known layout");
  if (is_moe()) KY_RETURN_IF_ERROR(validate_moe(*this));
  return Status::ok();
}

namespace {

// `<arch>.expert_*` keys (llama.cpp llama-hparams.h / llama-model.cpp load_hparams).
Status parse_gguf_moe(const GgufFile& gguf, const std::string& p, ModelSpec& s) {
  const int64_t n_experts = gguf.get_int_or(p + "expert_count").value_or(0);
  if (n_experts < 0) return Error(p + "expert_count " + std::to_string(n_experts) + " is negative");
  if (n_experts == 0) return Status::ok();
  RouterConfig& r = s.router;
  r.n_experts = n_experts;
  KY_ASSIGN_OR_RETURN(r.top_k, gguf.get_int(p + "expert_used_count"));
  s.d_ff_expert = gguf.get_int_or(p + "expert_feed_forward_length").value_or(s.d_ff);
  if (s.d_ff == 0) s.d_ff = s.d_ff_expert;
  s.n_shared_experts = gguf.get_int_or(p + "expert_shared_count").value_or(0);
  s.d_ff_shexp = gguf.get_int_or(p + "expert_shared_feed_forward_length")
                     .value_or(saturating_mul(s.d_ff_expert, s.n_shared_experts));
  s.n_dense_lead = gguf.get_int_or(p + "leading_dense_block_count").value_or(0);
  s.moe_layer_step = gguf.get_int_or(p + "interleave_moe_layer_step").value_or(1);
  if (s.moe_layer_step == 0) s.moe_layer_step = 1;  // llama4 writes 0 for "every layer"
  // llama_expert_gating_func_type: 1 softmax, 2 sigmoid, 3 softmax over the chosen (gpt-oss).
  const int64_t gating = gguf.get_int_or(p + "expert_gating_func").value_or(1);
  if (gating == 1 || gating == 0) {
    r.scoring = RouterScoring::kSoftmax;
  } else if (gating == 2) {
    r.scoring = RouterScoring::kSigmoid;
  } else {
    return Error(p + "expert_gating_func " + std::to_string(gating) + " is not supported");
  }
  // llama.cpp renormalises the chosen weights for every family registered here (qwen3moe,
  // ernie4_5-moe, hunyuan-moe and minimax-m2 pass norm_w = true); glm4moe/deepseek2 say so in a key.
  r.norm_topk_prob = true;
  if (const GgufValue* v = gguf.get(p + "expert_weights_norm"); v != nullptr) {
    auto b = v->as_bool();
    if (!b) return Error(p + "expert_weights_norm: expected a bool");
    r.norm_topk_prob = *b;
  }
  // llama.cpp scales only when the key is present and not 0.
  if (gguf.get(p + "expert_weights_scale") != nullptr) {
    KY_ASSIGN_OR_RETURN(double scale, gguf.get_float(p + "expert_weights_scale"));
    if (scale != 0.0) r.routed_scaling_factor = static_cast<float>(scale);
  }
  r.n_group = std::max<int64_t>(1, gguf.get_int_or(p + "expert_group_count").value_or(1));
  r.topk_group = std::max<int64_t>(1, gguf.get_int_or(p + "expert_group_used_count").value_or(r.n_group));
  return Status::ok();
}

}  // namespace

Result<ModelSpec> spec_from_gguf(const GgufFile& gguf) {
  ModelSpec s;
  s.source = "gguf";
  KY_ASSIGN_OR_RETURN(s.arch, gguf.get_string("general.architecture"));
  const std::string p = s.arch + ".";
  KY_ASSIGN_OR_RETURN(s.d_model, gguf.get_int(p + "embedding_length"));
  KY_ASSIGN_OR_RETURN(s.n_layers, gguf.get_int(p + "block_count"));
  KY_ASSIGN_OR_RETURN(s.n_heads, gguf.get_int(p + "attention.head_count"));
  s.n_kv_heads = gguf.get_int_or(p + "attention.head_count_kv").value_or(s.n_heads);
  // Models whose every layer is MoE may omit the dense width; parse_gguf_moe falls back to the
  // expert width then.
  if (gguf.get_int_or(p + "expert_count").value_or(0) > 0) {
    s.d_ff = gguf.get_int_or(p + "feed_forward_length").value_or(0);
  } else {
    KY_ASSIGN_OR_RETURN(s.d_ff, gguf.get_int(p + "feed_forward_length"));
  }
  s.n_ctx_train = gguf.get_int_or(p + "context_length").value_or(2048);
  s.head_dim = gguf.get_int_or(p + "attention.key_length").value_or(s.n_heads > 0 ? s.d_model / s.n_heads : 0);
  const bool mla = s.arch == "deepseek2";  // MLA head sizes and YaRN: parse_mla_gguf (model/mla_spec.cpp)
  if (auto v = gguf.get_int_or(p + "attention.value_length"); !mla && v && *v != s.head_dim)
    return Error("attention.value_length " + std::to_string(*v) + " != key_length " + std::to_string(s.head_dim) +
                 " is not supported for architecture " + s.arch);
  s.rope_dim = gguf.get_int_or(p + "rope.dimension_count").value_or(s.head_dim);
  if (gguf.get(p + "attention.layer_norm_rms_epsilon") != nullptr) {
    KY_ASSIGN_OR_RETURN(double eps, gguf.get_float(p + "attention.layer_norm_rms_epsilon"));
    s.norm_eps = static_cast<float>(eps);
  }
  if (gguf.get(p + "rope.freq_base") != nullptr) {
    KY_ASSIGN_OR_RETURN(s.rope_theta, gguf.get_float(p + "rope.freq_base"));
  }
  if (const GgufValue* st = gguf.get(p + "rope.scaling.type"); !mla && st != nullptr && st->as_string() != nullptr) {
    const std::string& type = *st->as_string();
    if (type == "linear") {
      s.rope_scaling.type = RopeScalingType::kLinear;
      KY_ASSIGN_OR_RETURN(s.rope_scaling.factor, gguf.get_float(p + "rope.scaling.factor"));
    } else if (type != "none") {
      return Error("rope.scaling.type '" + type + "' is not supported for architecture " + s.arch);
    }
  }
  // GGUF `llama` weights are permuted for adjacent-pair RoPE (convert_hf_to_gguf LlamaModel.permute);
  // llama.cpp runs qwen2/qwen3/seed_oss with LLAMA_ROPE_TYPE_NEOX on unpermuted weights.
  // ERNIE-4.5 rotates adjacent pairs in HF too, and its converter does not permute (llama.cpp
  // LLAMA_ROPE_TYPE_NORM for LLM_ARCH_ERNIE4_5_MOE).
  s.rope_pairing = s.arch == "llama" || s.arch == "ernie4_5" || s.arch == "ernie4_5-moe"
                       ? kernels::RopePairing::kInterleaved
                       : kernels::RopePairing::kNeox;
  // llama.cpp applies q/k norms where the file has them (GLM-4.5 only with use_qk_norm); where and
  // over what they apply is the architecture's: hunyuan-moe after RoPE, minimax-m2 over all heads.
  s.qk_norm = s.arch == "qwen3" || gguf.find("blk.0.attn_q_norm.weight") != nullptr;
  s.qk_norm_after_rope = s.arch == "hunyuan-moe";
  s.qk_norm_all_heads = s.arch == "minimax-m2";
  if (mla) KY_RETURN_IF_ERROR(parse_mla_gguf(gguf, s));
  KY_RETURN_IF_ERROR(parse_gguf_moe(gguf, p, s));
  // Vocabulary size: the token list is authoritative; `<arch>.vocab_size` is optional.
  if (const GgufValue* tokens = gguf.get("tokenizer.ggml.tokens"); tokens != nullptr && tokens->type == GgufType::ARRAY)
    s.n_vocab = static_cast<int64_t>(tokens->size());
  else if (auto v = gguf.get_int_or(p + "vocab_size"))
    s.n_vocab = *v;
  else if (const TensorView* emb = gguf.find("token_embd.weight"))
    s.n_vocab = emb->rows();
  s.tied_embeddings = gguf.find("output.weight") == nullptr;
  if (auto b = gguf.get_int_or("tokenizer.ggml.bos_token_id")) s.bos_id = static_cast<int32_t>(*b);
  if (auto e = gguf.get_int_or("tokenizer.ggml.eos_token_id")) s.eos_ids.push_back(static_cast<int32_t>(*e));
  KY_RETURN_IF_ERROR(s.validate());
  return s;
}

namespace {

// HunYuan writes some per-layer counts as lists (moe_topk, num_experts, num_shared_expert); every
// layer of a released checkpoint uses the same value, and we take the first.
Result<int64_t> json_int_or_first(const nlohmann::json& j, const char* key, std::optional<int64_t> fallback) {
  auto it = j.find(key);
  if (it != j.end() && it->is_array()) {
    if (it->empty() || !(*it)[0].is_number_integer())
      return Error(std::string("config.json: \"") + key + "\" must be an integer or a list of integers");
    for (const auto& v : *it)
      if (v != (*it)[0]) return Error(std::string("config.json: \"") + key + "\": different values per layer are not supported");
    return (*it)[0].get<int64_t>();
  }
  return json_int(j, key, fallback);
}

// The first key present among `keys` (families name the same number differently).
Result<int64_t> json_int_any(const nlohmann::json& j, std::initializer_list<const char*> keys, int64_t fallback) {
  for (const char* k : keys)
    if (j.contains(k) && !j[k].is_null()) return json_int_or_first(j, k, std::nullopt);
  return fallback;
}

void collect_ids(const nlohmann::json& v, std::vector<int32_t>& out) {
  if (v.is_number_integer()) out.push_back(v.get<int32_t>());
  if (v.is_array())
    for (const auto& e : v)
      if (e.is_number_integer()) out.push_back(e.get<int32_t>());
}

// HF model_type -> our (GGUF) architecture name, for the dense family this file handles.
std::string arch_from_model_type(const std::string& model_type) {
  if (model_type == "llama" || model_type == "mistral") return "llama";
  if (model_type == "qwen2") return "qwen2";
  if (model_type == "qwen3") return "qwen3";
  if (model_type == "seed_oss") return "seed_oss";
  if (model_type == "qwen3_moe") return "qwen3moe";
  if (model_type == "glm4_moe") return "glm4moe";
  if (model_type == "ernie4_5_moe") return "ernie4_5-moe";
  if (model_type == "hunyuan_v1_moe") return "hunyuan-moe";
  if (model_type == "minimax_m2") return "minimax-m2";
  if (model_type == "deepseek_v3" || model_type == "deepseek_v2" || model_type == "kimi_k2") return "deepseek2";
  return model_type;
}

// MoE keys of config.json, per family (transformers' configuration_<family>.py names):
//   qwen3_moe    num_experts, num_experts_per_tok, moe_intermediate_size, norm_topk_prob (default
//                false), decoder_sparse_step, mlp_only_layers; softmax router
//   glm4_moe, deepseek_v3  n_routed_experts, n_shared_experts (width moe_intermediate_size each),
//                first_k_dense_replace, routed_scaling_factor, n_group, topk_group; sigmoid router
//   ernie4_5_moe moe_num_experts, moe_k, moe_num_shared_experts, moe_layer_start_index /
//                _interval / _end_index; softmax router, always renormalised
//   hunyuan_v1_moe num_experts, moe_topk, num_shared_expert (with use_mixed_mlp_moe); every MLP
//                intermediate_size wide; softmax router, always renormalised
//   minimax_m2   num_local_experts, num_experts_per_tok, intermediate_size is the expert width,
//                scoring_func sigmoid; renormalised, no shared expert
Status parse_hf_moe(const nlohmann::json& c, const std::string& model_type, ModelSpec& s) {
  RouterConfig& r = s.router;
  KY_ASSIGN_OR_RETURN(r.n_experts,
                      json_int_any(c, {"num_experts", "n_routed_experts", "moe_num_experts", "num_local_experts"}, 0));
  if (r.n_experts < 0) return Error("config.json: expert count " + std::to_string(r.n_experts) + " is negative");
  if (r.n_experts == 0) return Status::ok();
  KY_ASSIGN_OR_RETURN(r.top_k, json_int_any(c, {"num_experts_per_tok", "moe_k", "moe_topk"}, 0));
  const bool intermediate_is_expert = model_type == "hunyuan_v1_moe" || model_type == "minimax_m2";
  if (intermediate_is_expert) {
    s.d_ff_expert = s.d_ff;
  } else {
    KY_ASSIGN_OR_RETURN(s.d_ff_expert, json_int_or_first(c, "moe_intermediate_size", std::nullopt));
  }
  KY_ASSIGN_OR_RETURN(s.n_shared_experts,
                      json_int_any(c, {"n_shared_experts", "moe_num_shared_experts", "num_shared_expert"}, 0));
  if (model_type == "hunyuan_v1_moe") {
    KY_ASSIGN_OR_RETURN(bool mixed, json_bool(c, "use_mixed_mlp_moe", false));
    if (!mixed) s.n_shared_experts = 0;
  }
  s.d_ff_shexp = saturating_mul(s.d_ff_expert, s.n_shared_experts);
  KY_ASSIGN_OR_RETURN(s.n_dense_lead, json_int_any(c, {"first_k_dense_replace", "moe_layer_start_index"}, 0));
  KY_ASSIGN_OR_RETURN(s.moe_layer_step, json_int_any(c, {"decoder_sparse_step", "moe_layer_interval"}, 1));
  KY_ASSIGN_OR_RETURN(s.moe_layer_end, json_int(c, "moe_layer_end_index", -1));
  if (auto it = c.find("mlp_only_layers"); it != c.end() && it->is_array()) {
    for (const auto& v : *it) {
      if (!v.is_number_integer()) return Error("config.json: \"mlp_only_layers\" must list integers");
      s.dense_layers.push_back(v.get<int64_t>());
    }
  }

  std::string scoring = model_type == "glm4_moe" || model_type == "deepseek_v3" || model_type == "kimi_k2" ||
                                model_type == "minimax_m2"
                            ? "sigmoid"
                            : "softmax";
  if (auto it = c.find("scoring_func"); it != c.end() && it->is_string()) scoring = it->get<std::string>();
  if (scoring == "sigmoid") {
    r.scoring = RouterScoring::kSigmoid;
  } else if (scoring == "softmax") {
    r.scoring = RouterScoring::kSoftmax;
  } else {
    return Error("config.json: scoring_func \"" + scoring + "\" is not supported");
  }
  const bool always_norm =
      model_type == "ernie4_5_moe" || model_type == "hunyuan_v1_moe" || model_type == "minimax_m2";
  KY_ASSIGN_OR_RETURN(r.norm_topk_prob, json_bool(c, "norm_topk_prob", always_norm));
  if (always_norm) r.norm_topk_prob = true;
  KY_ASSIGN_OR_RETURN(double scale, json_float(c, "routed_scaling_factor", 1.0));
  r.routed_scaling_factor = static_cast<float>(scale);
  KY_ASSIGN_OR_RETURN(r.n_group, json_int(c, "n_group", 1));
  KY_ASSIGN_OR_RETURN(r.topk_group, json_int(c, "topk_group", r.n_group));
  return Status::ok();
}

}  // namespace

Result<ModelSpec> spec_from_hf_config(const nlohmann::json& config, const nlohmann::json& generation_config) {
  if (!config.is_object()) return Error("config.json: not a JSON object");
  ModelSpec s;
  s.source = "hf";
  auto mt = config.find("model_type");
  if (mt == config.end() || !mt->is_string()) return Error("config.json: missing \"model_type\"");
  const std::string model_type = mt->get<std::string>();
  s.arch = arch_from_model_type(model_type);
  KY_ASSIGN_OR_RETURN(s.n_vocab, json_int(config, "vocab_size", std::nullopt));
  KY_ASSIGN_OR_RETURN(s.d_model, json_int(config, "hidden_size", std::nullopt));
  KY_ASSIGN_OR_RETURN(s.n_layers, json_int(config, "num_hidden_layers", std::nullopt));
  KY_ASSIGN_OR_RETURN(s.n_heads, json_int(config, "num_attention_heads", std::nullopt));
  KY_ASSIGN_OR_RETURN(s.n_kv_heads, json_int(config, "num_key_value_heads", s.n_heads));
  KY_ASSIGN_OR_RETURN(s.d_ff, json_int(config, "intermediate_size", std::nullopt));
  KY_ASSIGN_OR_RETURN(s.n_ctx_train, json_int(config, "max_position_embeddings", 2048));
  KY_ASSIGN_OR_RETURN(s.head_dim, json_int(config, "attention_head_dim", s.n_heads > 0 ? s.d_model / s.n_heads : 0));
  KY_ASSIGN_OR_RETURN(s.head_dim, json_int(config, "head_dim", s.head_dim));
  KY_ASSIGN_OR_RETURN(double eps, json_float(config, "rms_norm_eps", 1e-6));
  s.norm_eps = static_cast<float>(eps);
  KY_ASSIGN_OR_RETURN(s.rope_theta, json_float(config, "rope_theta", 10000.0));
  KY_ASSIGN_OR_RETURN(double partial, json_float(config, "partial_rotary_factor", 1.0));
  s.rope_dim = static_cast<int64_t>(static_cast<double>(s.head_dim) * partial);
  if (!config.contains("partial_rotary_factor")) {
    KY_ASSIGN_OR_RETURN(s.rope_dim, json_int(config, "rotary_dim", s.rope_dim));  // MiniMax-M2
  }
  // HF rotate_half, except ERNIE-4.5 (modeling_ernie4_5 rotates adjacent pairs 2i, 2i+1).
  s.rope_pairing = model_type == "ernie4_5" || model_type == "ernie4_5_moe" ? kernels::RopePairing::kInterleaved
                                                                              : kernels::RopePairing::kNeox;
  const bool qk_norm_default = model_type == "qwen3" || model_type == "qwen3_moe";
  KY_ASSIGN_OR_RETURN(s.qk_norm, json_bool(config, "use_qk_norm", qk_norm_default));
  if (qk_norm_default) s.qk_norm = true;
  s.qk_norm_after_rope = model_type == "hunyuan_v1_moe";  // query_layernorm/key_layernorm after RoPE
  if (model_type == "minimax_m2") {
    // qk_norm_type "per_layer": one RMSNorm over all heads of q (and of k).
    const std::string type = config.contains("qk_norm_type") && config["qk_norm_type"].is_string()
                                 ? config["qk_norm_type"].get<std::string>()
                                 : std::string("per_layer");
    if (type != "per_layer") return Error("config.json: qk_norm_type \"" + type + "\" is not supported");
    s.qk_norm_all_heads = true;
  }
  KY_RETURN_IF_ERROR(parse_hf_moe(config, model_type, s));
  // json_bool, not json::value: a non-boolean would throw (found by fuzz_hf_config).
  KY_ASSIGN_OR_RETURN(s.tied_embeddings, json_bool(config, "tie_word_embeddings", false));
  const bool mla = s.arch == "deepseek2";  // MLA head sizes and YaRN: parse_mla_hf (model/mla_spec.cpp)
  if (mla) KY_RETURN_IF_ERROR(parse_mla_hf(config, s));
  if (auto rs = config.find("rope_scaling"); !mla && rs != config.end() && rs->is_object()) {
    // json_string, not json::value: a non-string "type" would throw (found by fuzz_hf_config).
    KY_ASSIGN_OR_RETURN(std::string legacy_type, json_string(*rs, "type", "default"));
    KY_ASSIGN_OR_RETURN(std::string type, json_string(*rs, "rope_type", legacy_type));
    if (type == "llama3") {
      s.rope_scaling.type = RopeScalingType::kLlama3;
      KY_ASSIGN_OR_RETURN(s.rope_scaling.factor, json_float(*rs, "factor", 8.0));
      KY_ASSIGN_OR_RETURN(s.rope_scaling.low_freq_factor, json_float(*rs, "low_freq_factor", 1.0));
      KY_ASSIGN_OR_RETURN(s.rope_scaling.high_freq_factor, json_float(*rs, "high_freq_factor", 4.0));
      KY_ASSIGN_OR_RETURN(s.rope_scaling.original_context, json_int(*rs, "original_max_position_embeddings", 8192));
    } else if (type == "linear") {
      s.rope_scaling.type = RopeScalingType::kLinear;
      KY_ASSIGN_OR_RETURN(s.rope_scaling.factor, json_float(*rs, "factor", 1.0));
    } else if (type == "dynamic" && rs->contains("alpha")) {
      // HunYuan NTK-alpha: base = rope_theta * alpha^(head_dim / (head_dim - 2)) (modeling_hunyuan_v1_moe
      // HunYuanRotaryEmbedding); llama.cpp's converter bakes the same number into rope.freq_base.
      KY_ASSIGN_OR_RETURN(double alpha, json_float(*rs, "alpha", 1.0));
      if (!(alpha > 0.0) || s.head_dim <= 2) return Error("config.json: rope_scaling alpha must be positive");
      s.rope_theta *= std::pow(alpha, static_cast<double>(s.head_dim) / static_cast<double>(s.head_dim - 2));
    } else if (type != "default") {
      return Error("config.json: rope_scaling type \"" + type + "\" is not supported for " + s.arch);
    }
  }
  if (config.contains("bos_token_id") && config["bos_token_id"].is_number_integer())
    s.bos_id = config["bos_token_id"].get<int32_t>();
  // generation_config.json's eos_token_id (often a list) is what generation stops on.
  if (generation_config.is_object() && generation_config.contains("eos_token_id"))
    collect_ids(generation_config["eos_token_id"], s.eos_ids);
  else if (config.contains("eos_token_id"))
    collect_ids(config["eos_token_id"], s.eos_ids);
  KY_RETURN_IF_ERROR(s.validate().with_context("config.json"));
  return s;
}

std::vector<float> rope_inv_freq(const ModelSpec& spec) {
  const int64_t half = spec.rope_dim / 2;
  std::vector<float> inv(static_cast<size_t>(half));
  const RopeScaling& rs = spec.rope_scaling;
  for (int64_t i = 0; i < half; ++i) {
    double f = std::pow(spec.rope_theta, -2.0 * static_cast<double>(i) / static_cast<double>(spec.rope_dim));
    if (rs.type == RopeScalingType::kLinear) {
      f /= rs.factor;
    } else if (rs.type == RopeScalingType::kLlama3) {
      // transformers _compute_llama3_parameters: long wavelengths slowed by `factor`, short ones
      // kept, a smooth blend in between.
      const double low_wavelen = static_cast<double>(rs.original_context) / rs.low_freq_factor;
      const double high_wavelen = static_cast<double>(rs.original_context) / rs.high_freq_factor;
      const double wavelen = 2.0 * M_PI / f;
      if (wavelen > low_wavelen) {
        f /= rs.factor;
      } else if (wavelen >= high_wavelen) {
        const double smooth = (static_cast<double>(rs.original_context) / wavelen - rs.low_freq_factor) /
                              (rs.high_freq_factor - rs.low_freq_factor);
        f = (1.0 - smooth) * f / rs.factor + smooth * f;
      }
    }
    inv[static_cast<size_t>(i)] = static_cast<float>(f);
  }
  return inv;
}

}  // namespace kaiyuan
