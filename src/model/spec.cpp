#include "model/spec.h"

#include <cmath>

#include "format/gguf.h"

namespace kaiyuan {
namespace {

// Upper bounds that no real model comes near; they stop hostile files from asking for absurd
// allocations through the cache or scratch buffers sized from these numbers.
constexpr int64_t kMaxDim = 1 << 20;
constexpr int64_t kMaxLayers = 1024;
constexpr int64_t kMaxVocab = 1 << 24;
constexpr int64_t kMaxCtx = 1 << 24;

Status check_range(const char* what, int64_t v, int64_t lo, int64_t hi) {
  if (v < lo || v > hi)
    return Error(std::string(what) + " = " + std::to_string(v) + " is out of range [" + std::to_string(lo) + ", " +
                 std::to_string(hi) + "]");
  return Status::ok();
}

}  // namespace

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
  return Status::ok();
}

Result<ModelSpec> spec_from_gguf(const GgufFile& gguf) {
  ModelSpec s;
  s.source = "gguf";
  KY_ASSIGN_OR_RETURN(s.arch, gguf.get_string("general.architecture"));
  const std::string p = s.arch + ".";
  KY_ASSIGN_OR_RETURN(s.d_model, gguf.get_int(p + "embedding_length"));
  KY_ASSIGN_OR_RETURN(s.n_layers, gguf.get_int(p + "block_count"));
  KY_ASSIGN_OR_RETURN(s.n_heads, gguf.get_int(p + "attention.head_count"));
  s.n_kv_heads = gguf.get_int_or(p + "attention.head_count_kv").value_or(s.n_heads);
  KY_ASSIGN_OR_RETURN(s.d_ff, gguf.get_int(p + "feed_forward_length"));
  s.n_ctx_train = gguf.get_int_or(p + "context_length").value_or(2048);
  s.head_dim = gguf.get_int_or(p + "attention.key_length").value_or(s.n_heads > 0 ? s.d_model / s.n_heads : 0);
  if (auto v = gguf.get_int_or(p + "attention.value_length"); v && *v != s.head_dim)
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
  if (const GgufValue* st = gguf.get(p + "rope.scaling.type"); st != nullptr && st->as_string() != nullptr) {
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
  s.rope_pairing = s.arch == "llama" ? kernels::RopePairing::kInterleaved : kernels::RopePairing::kNeox;
  s.qk_norm = s.arch == "qwen3";
  // Vocabulary size: the token list is authoritative; `<arch>.vocab_size` is optional.
  if (const GgufValue* tokens = gguf.get("tokenizer.ggml.tokens"); tokens != nullptr && tokens->type == GgufType::ARRAY)
    s.n_vocab = static_cast<int64_t>(tokens->arr.size());
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

// Reads an integer key; absent -> fallback; present with the wrong type -> error naming the key.
Result<int64_t> json_int(const nlohmann::json& j, const char* key, std::optional<int64_t> fallback) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) {
    if (fallback) return *fallback;
    return Error(std::string("config.json: missing \"") + key + "\"");
  }
  if (!it->is_number_integer()) return Error(std::string("config.json: \"") + key + "\" must be an integer");
  return it->get<int64_t>();
}

Result<double> json_float(const nlohmann::json& j, const char* key, double fallback) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return fallback;
  if (!it->is_number()) return Error(std::string("config.json: \"") + key + "\" must be a number");
  return it->get<double>();
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
  return model_type;
}

}  // namespace

Result<ModelSpec> spec_from_hf_config(const nlohmann::json& config, const nlohmann::json& generation_config) {
  if (!config.is_object()) return Error("config.json: not a JSON object");
  ModelSpec s;
  s.source = "hf";
  auto mt = config.find("model_type");
  if (mt == config.end() || !mt->is_string()) return Error("config.json: missing \"model_type\"");
  s.arch = arch_from_model_type(mt->get<std::string>());
  KY_ASSIGN_OR_RETURN(s.n_vocab, json_int(config, "vocab_size", std::nullopt));
  KY_ASSIGN_OR_RETURN(s.d_model, json_int(config, "hidden_size", std::nullopt));
  KY_ASSIGN_OR_RETURN(s.n_layers, json_int(config, "num_hidden_layers", std::nullopt));
  KY_ASSIGN_OR_RETURN(s.n_heads, json_int(config, "num_attention_heads", std::nullopt));
  KY_ASSIGN_OR_RETURN(s.n_kv_heads, json_int(config, "num_key_value_heads", s.n_heads));
  KY_ASSIGN_OR_RETURN(s.d_ff, json_int(config, "intermediate_size", std::nullopt));
  KY_ASSIGN_OR_RETURN(s.n_ctx_train, json_int(config, "max_position_embeddings", 2048));
  KY_ASSIGN_OR_RETURN(s.head_dim, json_int(config, "head_dim", s.n_heads > 0 ? s.d_model / s.n_heads : 0));
  KY_ASSIGN_OR_RETURN(double eps, json_float(config, "rms_norm_eps", 1e-6));
  s.norm_eps = static_cast<float>(eps);
  KY_ASSIGN_OR_RETURN(s.rope_theta, json_float(config, "rope_theta", 10000.0));
  KY_ASSIGN_OR_RETURN(double partial, json_float(config, "partial_rotary_factor", 1.0));
  s.rope_dim = static_cast<int64_t>(static_cast<double>(s.head_dim) * partial);
  s.rope_pairing = kernels::RopePairing::kNeox;  // HF rotate_half
  s.qk_norm = s.arch == "qwen3";
  s.tied_embeddings = config.value("tie_word_embeddings", false);
  if (auto rs = config.find("rope_scaling"); rs != config.end() && rs->is_object()) {
    std::string type = rs->value("rope_type", rs->value("type", std::string("default")));
    if (type == "llama3") {
      s.rope_scaling.type = RopeScalingType::kLlama3;
      KY_ASSIGN_OR_RETURN(s.rope_scaling.factor, json_float(*rs, "factor", 8.0));
      KY_ASSIGN_OR_RETURN(s.rope_scaling.low_freq_factor, json_float(*rs, "low_freq_factor", 1.0));
      KY_ASSIGN_OR_RETURN(s.rope_scaling.high_freq_factor, json_float(*rs, "high_freq_factor", 4.0));
      KY_ASSIGN_OR_RETURN(s.rope_scaling.original_context, json_int(*rs, "original_max_position_embeddings", 8192));
    } else if (type == "linear") {
      s.rope_scaling.type = RopeScalingType::kLinear;
      KY_ASSIGN_OR_RETURN(s.rope_scaling.factor, json_float(*rs, "factor", 1.0));
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
