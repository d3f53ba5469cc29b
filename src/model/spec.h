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
  std::string arch;         // GGUF architecture name: "llama", "qwen2", "qwen3", "seed_oss"
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

  bool qk_norm = false;        // per-head RMSNorm on q and k before RoPE (Qwen3)
  bool tied_embeddings = false;  // output projection is token_embd

  int32_t bos_id = -1;
  std::vector<int32_t> eos_ids;

  int64_t q_dim() const { return n_heads * head_dim; }
  int64_t kv_dim() const { return n_kv_heads * head_dim; }
  // Checks the numbers are positive, divisible and not absurd; messages name the key.
  Status validate() const;
};

Result<ModelSpec> spec_from_gguf(const GgufFile& gguf);
Result<ModelSpec> spec_from_hf_config(const nlohmann::json& config, const nlohmann::json& generation_config);

// Rotary inverse frequencies [rope_dim / 2] including llama3 / linear scaling (from the spec alone;
// a GGUF `rope_freqs.weight` tensor, when present, divides them further: see llama.cpp rope_freqs).
std::vector<float> rope_inv_freq(const ModelSpec& spec);

}  // namespace kaiyuan
