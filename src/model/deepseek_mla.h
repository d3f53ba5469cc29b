// Multi-head latent attention (DeepSeek-V2/V3, Kimi K2), in the absorbed form llama.cpp and the
// DeepSeek inference code use: the cache holds, per token, only the normalised kv latent
// [kv_lora_rank] and the roped shared key k_pe [qk_rope_head_dim]; each head's q_nope is mapped
// into latent space through k_b, scores are q_lat . latent + q_pe . k_pe, and the
// attention-weighted latent is expanded to the head's value through v_b.
#pragma once

#include <cstdint>
#include <vector>

#include "core/status.h"
#include "format/weight_source.h"
#include "model/batch.h"
#include "model/kv_cache.h"
#include "model/spec.h"

namespace kaiyuan {

struct MlaWeights {
  std::vector<float> attn_norm;      // [d_model]
  const TensorView* wq = nullptr;    // [n_heads * qk_head_dim, d_model]   without q LoRA
  const TensorView* wq_a = nullptr;  // [q_lora_rank, d_model]             with q LoRA
  std::vector<float> q_a_norm;       // [q_lora_rank]
  const TensorView* wq_b = nullptr;  // [n_heads * qk_head_dim, q_lora_rank]
  const TensorView* wkv_a = nullptr; // [kv_lora_rank + qk_rope_head_dim, d_model]
  std::vector<float> kv_a_norm;      // [kv_lora_rank]
  std::vector<TensorView> k_b;       // per head [kv_lora_rank, qk_nope_head_dim]: q_nope -> latent
  std::vector<TensorView> v_b;       // per head [v_head_dim, kv_lora_rank]: latent -> value
  std::vector<uint8_t> k_b_storage;  // k_b transposed from HF kv_b_proj, or Q4_0/Q5_0 k_b as Q8_0
  std::vector<uint8_t> v_b_storage;  // Q4_0/Q5_0 v_b as Q8_0 (empty otherwise: v_b is mapped)
  const TensorView* wo = nullptr;    // [d_model, n_heads * v_head_dim]
};

// Binds layer `layer`'s attention from GGUF names (attn_k_b / attn_v_b split, llama.cpp since
// 2025) or from one attn_kv_b (HF kv_b_proj, older GGUFs): [n_heads * (nope + v_head), kv_lora].
Result<MlaWeights> bind_mla_weights(const WeightSource& src, const ModelSpec& spec, int64_t layer);

class MlaAttention {
 public:
  explicit MlaAttention(const ModelSpec& spec);

  // x: [n, d_model] normalised input; out: [n, d_model]. Writes the batch's latents into `cache`
  // (layer `layer`) before attending, so tokens see earlier tokens of the same batch.
  void forward(const MlaWeights& w, int64_t layer, const Batch& batch, KvCache& cache, const float* x, float* out);

 private:
  void project_q(const MlaWeights& w, const float* x, int64_t n);
  void write_cache(const MlaWeights& w, int64_t layer, const Batch& batch, KvCache& cache, const float* x);
  void attend(int64_t layer, const Batch& batch, const KvCache& cache);

  const ModelSpec& spec_;
  std::vector<float> inv_freq_;  // [qk_rope_head_dim / 2], YaRN-scaled when configured
  float rope_attn_factor_ = 1.0f;
  float softmax_scale_ = 0.0f;
  // Scratch, grown on demand: [n, q_lora] q_a_, [n, n_heads * qk_head] q_, [n, kv_lora + rope] kv_,
  // [n, nope] head_in_, [n_heads][n][kv_lora] q_lat_ / o_lat_, [n, v_head] head_out_,
  // [n, n_heads * v_head] attn_; per chunk of one sequence's tokens (attend): q_rows_
  // [rows, kv_lora + rope], scores_ [rows, n_kv], latent_t_ [kv_lora, n_kv], out_rows_ [rows, kv_lora].
  std::vector<float> q_a_, q_, kv_, head_in_, q_lat_, o_lat_, head_out_, attn_;
  std::vector<float> q_rows_, scores_, latent_t_, out_rows_;
};

}  // namespace kaiyuan
