// The Llama-style decoder and the families built on its block: llama (Llama 2, Llama 3.x), qwen2
// (QKV bias), qwen3 (per-head QK norm), seed_oss (QKV bias, wide heads), and the mixture-of-experts
// families qwen3moe, glm4moe (partial RoPE, QKV bias, shared expert, dense lead layer), ernie4_5-moe
// (adjacent-pair RoPE), hunyuan-moe (QK norm after RoPE, shared MLP) and minimax-m2 (QK norm over
// all heads). One forward pass; the differences are data in ModelSpec and which optional tensors
// exist, and an MoE layer's FFN is model/moe_ffn.h.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <utility>
#include <vector>

#include "core/parallel.h"
#include "kernels/ops.h"
#include "model/lm_head.h"
#include "model/model.h"
#include "model/moe_ffn.h"
#include "model/weights.h"

namespace kaiyuan {
namespace {

// Consecutive tokens of one sequence attended in one kernel call (kernels::attend_tokens): enough
// for the kernels' blocks of query vectors and for the AMX kernel to repay staging the cache once
// per call (bench/attention_bench, f16 cache, 512 tokens: 62 Gmac/s in runs of 16, 103 in runs of
// 64, 116 in runs of 128; the AVX-512 kernel 43-50 at any length; dense Q4_K_M pp512 +2% from 64
// to 128), small enough that a 512-token prompt still gives the threads 4 items per K/V head.
constexpr int64_t kAttendRun = 128;

struct LayerWeights {
  std::vector<float> attn_norm;                       // [d_model]
  const TensorView* wq = nullptr;                     // [q_dim, d_model]
  const TensorView* wk = nullptr;                     // [kv_dim, d_model]
  const TensorView* wv = nullptr;                     // [kv_dim, d_model]
  const TensorView* wo = nullptr;                     // [d_model, q_dim]
  std::vector<float> bq, bk, bv, bo;                  // biases, empty when absent
  std::vector<float> q_norm, k_norm;                  // [head_dim], or [q_dim] / [kv_dim] over all heads
  std::vector<float> ffn_norm;                        // [d_model]
  bool moe = false;                                   // FFN is mixture-of-experts (below: dense)
  MoeWeights experts;
  const TensorView* w_gate = nullptr;                 // [d_ff, d_model]
  const TensorView* w_up = nullptr;                   // [d_ff, d_model]
  const TensorView* w_down = nullptr;                 // [d_model, d_ff]
};

void add_bias(float* y, const std::vector<float>& bias, int64_t n_tokens) {
  if (bias.empty()) return;
  const int64_t n = static_cast<int64_t>(bias.size());
  for (int64_t t = 0; t < n_tokens; ++t)
    for (int64_t i = 0; i < n; ++i) y[t * n + i] += bias[static_cast<size_t>(i)];
}

class LlamaModel final : public Model {
 public:
  LlamaModel(ModelSpec spec, std::shared_ptr<const WeightSource> weights) : Model(std::move(spec), std::move(weights)) {}

  Status bind() {
    const WeightSource& w = *weights_;
    const ModelSpec& s = spec_;
    KY_ASSIGN_OR_RETURN(head_, bind_lm_head(w, s));
    inv_freq_ = rope_inv_freq(s);
    // llama.cpp's `rope_freqs.weight` (Llama 3.x GGUF): per-frequency divisors of theta.
    KY_ASSIGN_OR_RETURN(std::vector<float> freq_factors, load_vector(w, "rope_freqs.weight", s.rope_dim / 2, false));
    for (size_t i = 0; i < freq_factors.size(); ++i) {
      if (!(freq_factors[i] > 0.0f)) return Error("rope_freqs.weight: factors must be positive");
      inv_freq_[i] /= freq_factors[i];
    }
    layers_.resize(static_cast<size_t>(s.n_layers));
    for (int64_t l = 0; l < s.n_layers; ++l) {
      KY_RETURN_IF_ERROR(bind_layer(l, layers_[static_cast<size_t>(l)]));
    }
    return Status::ok();
  }

  Status forward(const Batch& batch, KvCache& cache, std::vector<float>& logits) override {
    KY_RETURN_IF_ERROR(check_batch(batch, cache));
    const ModelSpec& s = spec_;
    const int64_t n = static_cast<int64_t>(batch.size());
    resize_scratch(n);
    // Each token's rotation, once for all heads and layers (rope() per head recomputed it ~700
    // times per token in a 28-layer model).
    const int64_t half = s.rope_dim / 2;
    rope_cos_.resize(static_cast<size_t>(n * half));
    rope_sin_.resize(static_cast<size_t>(n * half));
    for (int64_t t = 0; t < n; ++t)
      kernels::rope_angles(s.rope_dim, batch.positions[t], inv_freq_.data(), 1.0f, &rope_cos_[t * half], &rope_sin_[t * half]);

    // [n, d_model] token embeddings
    embed_tokens(head_, batch.tokens.data(), n, s.d_model, x_.data());

    for (int64_t l = 0; l < s.n_layers; ++l) {
      attention_block(layers_[static_cast<size_t>(l)], l, batch, cache);
      KY_RETURN_IF_ERROR(ffn_block(layers_[static_cast<size_t>(l)], n));
    }

    // Final norm and LM head, only for the tokens that want logits.
    compute_logits(head_, s, batch, x_.data(), h_, logits);
    return Status::ok();
  }

 private:
  Status bind_layer(int64_t l, LayerWeights& L) {
    const WeightSource& w = *weights_;
    const ModelSpec& s = spec_;
    const std::string p = "blk." + std::to_string(l) + ".";
    KY_ASSIGN_OR_RETURN(L.attn_norm, load_vector(w, p + "attn_norm.weight", s.d_model, true));
    KY_ASSIGN_OR_RETURN(L.wq, bind_matrix(w, p + "attn_q.weight", s.q_dim(), s.d_model));
    KY_ASSIGN_OR_RETURN(L.wk, bind_matrix(w, p + "attn_k.weight", s.kv_dim(), s.d_model));
    KY_ASSIGN_OR_RETURN(L.wv, bind_matrix(w, p + "attn_v.weight", s.kv_dim(), s.d_model));
    KY_ASSIGN_OR_RETURN(L.wo, bind_matrix(w, p + "attn_output.weight", s.d_model, s.q_dim()));
    KY_ASSIGN_OR_RETURN(L.bq, load_vector(w, p + "attn_q.bias", s.q_dim(), false));
    KY_ASSIGN_OR_RETURN(L.bk, load_vector(w, p + "attn_k.bias", s.kv_dim(), false));
    KY_ASSIGN_OR_RETURN(L.bv, load_vector(w, p + "attn_v.bias", s.kv_dim(), false));
    KY_ASSIGN_OR_RETURN(L.bo, load_vector(w, p + "attn_output.bias", s.d_model, false));
    if (s.qk_norm) {
      // MiniMax-M2 normalises q and k over all heads at once: one weight per q (k) element.
      const int64_t q_norm_n = s.qk_norm_all_heads ? s.q_dim() : s.head_dim;
      const int64_t k_norm_n = s.qk_norm_all_heads ? s.kv_dim() : s.head_dim;
      KY_ASSIGN_OR_RETURN(L.q_norm, load_vector(w, p + "attn_q_norm.weight", q_norm_n, true));
      KY_ASSIGN_OR_RETURN(L.k_norm, load_vector(w, p + "attn_k_norm.weight", k_norm_n, true));
    }
    // llama.cpp names Seed-OSS's pre-FFN norm `post_attention_norm` (HF post_attention_layernorm).
    const std::string ffn_norm = w.find(p + "ffn_norm.weight") == nullptr && w.find(p + "post_attention_norm.weight")
                                     ? p + "post_attention_norm.weight"
                                     : p + "ffn_norm.weight";
    KY_ASSIGN_OR_RETURN(L.ffn_norm, load_vector(w, ffn_norm, s.d_model, true));
    if (s.is_moe_layer(l)) {
      L.moe = true;
      KY_ASSIGN_OR_RETURN(L.experts, bind_moe_weights(w, l, s.router.n_experts, s.d_model, s.d_ff_expert, 0));
      if (s.n_shared_experts > 0 && L.experts.shexp_gate == nullptr)
        return Error("missing tensor '" + p + "ffn_gate_shexp.weight' (" + std::to_string(s.n_shared_experts) +
                     " shared experts expected)");
      return Status::ok();
    }
    KY_ASSIGN_OR_RETURN(L.w_gate, bind_matrix(w, p + "ffn_gate.weight", s.d_ff, s.d_model));
    KY_ASSIGN_OR_RETURN(L.w_up, bind_matrix(w, p + "ffn_up.weight", s.d_ff, s.d_model));
    KY_ASSIGN_OR_RETURN(L.w_down, bind_matrix(w, p + "ffn_down.weight", s.d_model, s.d_ff));
    return Status::ok();
  }

  Status check_batch(const Batch& batch, const KvCache& cache) const {
    const size_t n = batch.size();
    if (n == 0) return Error("empty batch");
    if (batch.positions.size() != n || batch.seq_ids.size() != n || batch.want_logits.size() != n)
      return Error("batch arrays have different lengths");
    if (cache.k_dim() != spec_.kv_dim() || cache.v_dim() != spec_.kv_dim() || cache.n_heads() != spec_.n_kv_heads)
      return Error("KV cache was made for another model");
    for (size_t i = 0; i < n; ++i) {
      if (batch.tokens[i] < 0 || batch.tokens[i] >= spec_.n_vocab)
        return Error("token id " + std::to_string(batch.tokens[i]) + " is outside the vocabulary [0, " +
                     std::to_string(spec_.n_vocab) + ")");
      if (batch.positions[i] < 0 || batch.positions[i] >= cache.n_ctx())
        return Error("position " + std::to_string(batch.positions[i]) + " exceeds the context size " +
                     std::to_string(cache.n_ctx()));
      if (batch.seq_ids[i] < 0 || batch.seq_ids[i] >= cache.n_slots())
        return Error("sequence slot " + std::to_string(batch.seq_ids[i]) + " does not exist");
    }
    return Status::ok();
  }

  void resize_scratch(int64_t n) {
    const ModelSpec& s = spec_;
    x_.resize(static_cast<size_t>(n * s.d_model));
    h_.resize(static_cast<size_t>(n * s.d_model));
    // The attention block's buffers and the FFN block's are never live at once, so they share
    // one allocation: for a 512-token prompt of a Qwen3-0.6B shape that is 12.6 MB less peak RSS.
    const int64_t attention = 2 * s.q_dim() + 2 * s.kv_dim();
    // (MoE layers need only ffn_out_: a model without dense FFN layers does not size for d_ff.)
    bool dense_ffn = false;
    for (int64_t l = 0; l < s.n_layers; ++l) dense_ffn = dense_ffn || !s.is_moe_layer(l);
    const int64_t ffn = dense_ffn ? std::max(2 * s.d_ff, s.d_model) : s.d_model;
    phase_.resize(static_cast<size_t>(n * std::max(attention, ffn)));
    q_ = phase_.data();
    k_ = q_ + n * s.q_dim();
    v_ = k_ + n * s.kv_dim();
    attn_ = v_ + n * s.kv_dim();
    gate_ = phase_.data();
    up_ = gate_ + n * s.d_ff;
    ffn_out_ = phase_.data();
  }

  // x += Wo · attention(rope(Wq·norm(x)), rope(Wk·norm(x)), Wv·norm(x))
  void attention_block(const LayerWeights& L, int64_t layer, const Batch& batch, KvCache& cache) {
    const ModelSpec& s = spec_;
    const int64_t n = static_cast<int64_t>(batch.size());
    for (int64_t t = 0; t < n; ++t)
      kernels::rmsnorm(&x_[t * s.d_model], L.attn_norm.data(), s.d_model, s.norm_eps, &h_[t * s.d_model]);
    kernels::matmul(*L.wq, h_.data(), n, q_);  // [n, q_dim]
    kernels::matmul(*L.wk, h_.data(), n, k_);  // [n, kv_dim]
    kernels::matmul(*L.wv, h_.data(), n, v_);  // [n, kv_dim]
    add_bias(q_, L.bq, n);
    add_bias(k_, L.bk, n);
    add_bias(v_, L.bv, n);

    // Tokens are independent here (each writes its own rows and its own cache position).
    parallel_for(n, [&](int64_t begin, int64_t end) {
      for (int64_t t = begin; t < end; ++t) {
        const int64_t pos = batch.positions[t];
        prepare_heads(&q_[t * s.q_dim()], s.n_heads, L.q_norm, t);
        prepare_heads(&k_[t * s.kv_dim()], s.n_kv_heads, L.k_norm, t);
        cache.store(batch.seq_ids[t], layer, pos, &k_[t * s.kv_dim()], &v_[t * s.kv_dim()]);
      }
    });

    // Causal attention of each token's query heads over its own sequence's cached positions
    // 0..pos, one GQA group (the query heads of one K/V head) per item so the kernel reads each
    // cached row once for the group, and for a run of up to kAttendRun consecutive tokens of one
    // sequence (a prompt) so it can read it once for several tokens too. Items are
    // K/V-head-major so each thread gets whole heads over every token: token-major chunks would
    // give one thread the short early rows of a prompt and the other the long late ones.
    runs_.clear();
    for (int64_t t = 0; t < n; ++t) {
      if (!runs_.empty()) {
        auto& [first, count] = runs_.back();
        const int64_t last = first + count - 1;
        if (count < kAttendRun && batch.seq_ids[t] == batch.seq_ids[last] &&
            batch.positions[t] == batch.positions[last] + 1) {
          ++count;
          continue;
        }
      }
      runs_.push_back({t, 1});
    }
    const int64_t n_runs = static_cast<int64_t>(runs_.size());
    const int64_t group = s.n_heads / s.n_kv_heads;
    const float scale = 1.0f / std::sqrt(static_cast<float>(s.head_dim));
    const bool f16 = cache.type() == KvType::kF16;
    parallel_for(n_runs * s.n_kv_heads, [&](int64_t begin, int64_t end) {
      std::vector<float> scores;
      for (int64_t i = begin; i < end; ++i) {
        const int64_t g = i / n_runs;
        const auto [t, count] = runs_[static_cast<size_t>(i % n_runs)];
        const int64_t pos = batch.positions[t], slot = batch.seq_ids[t];
        const int64_t head0 = g * group;
        scores.resize(static_cast<size_t>(count * group * (pos + count)));
        // One K/V head's positions lie head_dim apart in the cache.
        const float* q = &q_[t * s.q_dim() + head0 * s.head_dim];
        float* out = &attn_[t * s.q_dim() + head0 * s.head_dim];
        if (f16)
          kernels::attend_tokens_f16(q, s.q_dim(), count, group, cache.keys16(slot, layer, g), s.head_dim,
                                     cache.values16(slot, layer, g), s.head_dim, pos + 1, s.head_dim, scale,
                                     scores.data(), out, s.q_dim());
        else
          kernels::attend_tokens(q, s.q_dim(), count, group, cache.keys(slot, layer, g), s.head_dim,
                                 cache.values(slot, layer, g), s.head_dim, pos + 1, s.head_dim, scale, scores.data(),
                                 out, s.q_dim());
      }
    });

    kernels::matmul(*L.wo, attn_, n, h_.data());  // [n, d_model]
    add_bias(h_.data(), L.bo, n);
    for (int64_t i = 0; i < n * s.d_model; ++i) x_[i] += h_[i];
  }

  // One token's q (or k) heads [n_heads, head_dim]: optional RMSNorm (over all heads: MiniMax-M2;
  // per head before RoPE: Qwen3, GLM-4.5; per head after RoPE: HunYuan), then rotary embedding of
  // the first rope_dim dims of each head.
  // Norms and RoPE of one token's heads; `t` is its index in the batch (its rotation's row).
  void prepare_heads(float* heads, int64_t n_heads, const std::vector<float>& norm, int64_t t) {
    const ModelSpec& s = spec_;
    const bool has_norm = !norm.empty();
    if (has_norm && s.qk_norm_all_heads) kernels::rmsnorm(heads, norm.data(), n_heads * s.head_dim, s.norm_eps, heads);
    const bool per_head = has_norm && !s.qk_norm_all_heads;
    for (int64_t h = 0; h < n_heads; ++h) {
      float* head = heads + h * s.head_dim;
      if (per_head && !s.qk_norm_after_rope) kernels::rmsnorm(head, norm.data(), s.head_dim, s.norm_eps, head);
      const int64_t half = s.rope_dim / 2;
      kernels::rope_rotate(head, s.rope_dim, &rope_cos_[t * half], &rope_sin_[t * half], s.rope_pairing);
      if (per_head && s.qk_norm_after_rope) kernels::rmsnorm(head, norm.data(), s.head_dim, s.norm_eps, head);
    }
  }

  // x += W_down · (silu(W_gate · norm(x)) * (W_up · norm(x))), or the MoE block on norm(x).
  Status ffn_block(const LayerWeights& L, int64_t n) {
    const ModelSpec& s = spec_;
    for (int64_t t = 0; t < n; ++t)
      kernels::rmsnorm(&x_[t * s.d_model], L.ffn_norm.data(), s.d_model, s.norm_eps, &h_[t * s.d_model]);
    if (L.moe) {
      KY_RETURN_IF_ERROR(moe_ffn(L.experts, s.router, h_.data(), n, ffn_out_, moe_scratch_));  // [n, d_model]
      for (int64_t i = 0; i < n * s.d_model; ++i) x_[i] += ffn_out_[i];
      return Status::ok();
    }
    kernels::matmul(*L.w_gate, h_.data(), n, gate_);  // [n, d_ff]
    kernels::matmul(*L.w_up, h_.data(), n, up_);      // [n, d_ff]
    kernels::swiglu(gate_, up_, n * s.d_ff, gate_);
    kernels::matmul(*L.w_down, gate_, n, h_.data());  // [n, d_model]
    for (int64_t i = 0; i < n * s.d_model; ++i) x_[i] += h_[i];
    return Status::ok();
  }

  LmHead head_;
  std::vector<float> inv_freq_;
  std::vector<float> rope_cos_, rope_sin_;  // [n_tokens, rope_dim / 2] of the current batch
  std::vector<LayerWeights> layers_;
  // Scratch, reused across calls: [n, d_model] x_/h_. The rest point into phase_: the attention
  // block's [n, q_dim] q_/attn_ and [n, kv_dim] k_/v_, then the FFN block's [n, d_ff] gate_/up_
  // (dense) or [n, d_model] ffn_out_ (MoE).
  std::vector<float> x_, h_, phase_;
  float *q_ = nullptr, *k_ = nullptr, *v_ = nullptr, *attn_ = nullptr;
  float *gate_ = nullptr, *up_ = nullptr, *ffn_out_ = nullptr;
  std::vector<std::pair<int64_t, int64_t>> runs_;  // attention: (first batch index, count) per run
  MoeScratch moe_scratch_;
};

}  // namespace

Result<std::unique_ptr<Model>> create_llama_model(ModelSpec spec, std::shared_ptr<const WeightSource> weights) {
  auto model = std::make_unique<LlamaModel>(std::move(spec), std::move(weights));
  KY_RETURN_IF_ERROR(model->bind());
  return std::unique_ptr<Model>(std::move(model));
}

}  // namespace kaiyuan
