// ModelSpec: everything about a model's shape and semantics, as plain data. Parsed once from GGUF
// metadata or a Hugging Face config.json; architectures read it, and differences between families
// are flags here rather than code paths scattered over files.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/status.h"
#include "kernels/ops.h"
#include "model/mla_spec.h"
#include "model/moe.h"

namespace kaiyuan {

class GgufFile;

enum class RopeScalingType { kNone, kLinear, kLlama3 };

struct RopeScaling {
  RopeScalingType type = RopeScalingType::kNone;
  double factor = 1.0;
  double low_freq_factor = 1.0;    // llama3
  double high_freq_factor = 4.0;   // llama3
  int64_t original_context = 8192; // llama3: original_max_position_embeddings
};

struct ModelSpec {
  std::string arch;         // GGUF architecture name: "llama", "qwen2", "qwen3", "qwen3moe", "glm4moe"...
  std::string source;       // "gguf" or "hf"
  int64_t n_vocab = 0;
  int64_t d_model = 0;
  int64_t n_layers = 0;
  int64_t n_heads = 0;
  int64_t n_kv_heads = 0;
  int64_t head_dim = 0;     // may differ from d_model / n_heads (Qwen3, Seed-OSS)
  int64_t d_ff = 0;
  int64_t n_ctx_train = 0;  // context length the model was trained for
  float norm_eps = 1e-5f;

  double rope_theta = 10000.0;
  int64_t rope_dim = 0;     // rotated dims per head (== head_dim unless partial rotary)
  // GGUF `llama` files permute Q/K rows for adjacent-pair RoPE (convert_hf_to_gguf permute);
  // HF checkpoints and GGUF qwen2/qwen3/seed_oss keep rotate_half (NeoX) pairing.
  kernels::RopePairing rope_pairing = kernels::RopePairing::kNeox;
  RopeScaling rope_scaling;

  // RMSNorm on q and k: per head before RoPE (Qwen3, Qwen3-MoE, GLM-4.5 use_qk_norm); after RoPE
  // (HunYuan query_layernorm/key_layernorm); over all heads at once before RoPE (MiniMax-M2
  // qk_norm_type "per_layer": weights [n_heads*head_dim] and [n_kv_heads*head_dim]).
  bool qk_norm = false;
  bool qk_norm_after_rope = false;
  bool qk_norm_all_heads = false;
  bool tied_embeddings = false;  // output projection is token_embd

  // Mixture of experts (router.n_experts == 0: dense model). router holds the expert count,
  // top-k, scoring, renormalisation, scaling and group limits (model/moe.h).
  RouterConfig router;
  int64_t d_ff_expert = 0;       // each routed expert's hidden width (moe_intermediate_size)
  int64_t n_shared_experts = 0;  // always-on shared experts, run as one MLP
  int64_t d_ff_shexp = 0;        // that shared MLP's hidden width (0 when unknown: taken from the tensors)
  int64_t n_dense_lead = 0;      // leading dense layers (first_k_dense_replace, moe_layer_start_index)
  int64_t moe_layer_step = 1;    // layer l >= n_dense_lead is MoE when (l + 1) % step == 0 (Qwen, ERNIE)
  int64_t moe_layer_end = -1;    // last MoE layer (ERNIE moe_layer_end_index); -1: none
  std::vector<int64_t> dense_layers;  // listed dense layers (Qwen mlp_only_layers)

  int32_t bos_id = -1;
  std::vector<int32_t> eos_ids;

  MlaSpec mla;  // deepseek2 only: latent attention, YaRN, its MoE layout (model/mla_spec.h)

  int64_t q_dim() const { return n_heads * head_dim; }
  int64_t kv_dim() const { return n_kv_heads * head_dim; }
  bool is_moe() const { return router.n_experts > 0; }
  bool is_moe_layer(int64_t layer) const;
  // Checks the numbers are positive, divisible and not absurd; messages name the key.
  Status validate() const;
};

Result<ModelSpec> spec_from_gguf(const GgufFile& gguf);
Result<ModelSpec> spec_from_hf_config(const nlohmann::json& config, const nlohmann::json& generation_config);

// Rotary inverse frequencies [rope_dim / 2] including llama3 / linear scaling (from the spec alone;
// a GGUF `rope_freqs.weight` tensor, when present, divides them further: see llama.cpp rope_freqs).
std::vector<float> rope_inv_freq(const ModelSpec& spec);

}  // namespace kaiyuan
