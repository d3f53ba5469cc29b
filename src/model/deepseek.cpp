// DeepSeek-V2/V3 and Kimi K2 (GGUF "deepseek2"; HF DeepseekV2ForCausalLM / DeepseekV3ForCausalLM):
// pre-norm decoder of multi-head latent attention (model/deepseek_mla.h) and a feed-forward that
// is a dense SwiGLU in the first `first_k_dense_replace` layers and a routed MoE with shared
// experts after (model/moe_ffn.h). Differences between the versions are data in MlaSpec.
#include <cstring>

#include "kernels/ops.h"
#include "model/deepseek_mla.h"
#include "model/lm_head.h"
#include "model/model.h"
#include "model/moe_ffn.h"
#include "model/weights.h"

namespace kaiyuan {
namespace {

struct DenseFfn {
  const TensorView* gate = nullptr;  // [d_ff, d_model]
  const TensorView* up = nullptr;    // [d_ff, d_model]
  const TensorView* down = nullptr;  // [d_model, d_ff]
};

struct DeepseekLayer {
  MlaWeights attn;
  std::vector<float> ffn_norm;  // [d_model]
  bool moe = false;
  DenseFfn dense;
  MoeWeights experts;
};

class DeepseekModel final : public Model {
 public:
  DeepseekModel(ModelSpec spec, std::shared_ptr<const WeightSource> weights)
      : Model(std::move(spec), std::move(weights)), attention_(spec_) {}

  Status bind() {
    const WeightSource& w = *weights_;
    const ModelSpec& s = spec_;
    if (s.mla.kv_lora_rank <= 0) return Error("deepseek2: missing MLA parameters (kv_lora_rank)");
    if (s.mla.softmax_group_limited)
      return Error("deepseek2: softmax routing with group_limited_greedy (n_group > 1) is not supported yet");
    KY_ASSIGN_OR_RETURN(head_, bind_lm_head(w, s));
    layers_.resize(static_cast<size_t>(s.n_layers));
    for (int64_t l = 0; l < s.n_layers; ++l) KY_RETURN_IF_ERROR(bind_layer(l, layers_[static_cast<size_t>(l)]));
    return Status::ok();
  }

  // The cache holds the normalised latent and the roped shared key, not per-head K/V; in f32
  // whatever type is asked for (the absorbed-matrix decode reads it as f32).
  Result<KvCache> create_cache(int64_t n_ctx, int64_t n_slots, KvType /*type*/ = KvType::kF32) const override {
    return KvCache::create(spec_.n_layers, spec_.mla.cache_width(), 0, n_ctx, n_slots);
  }

  Status forward(const Batch& batch, KvCache& cache, std::vector<float>& logits) override {
    KY_RETURN_IF_ERROR(check_batch(batch, cache));
    const ModelSpec& s = spec_;
    const int64_t n = static_cast<int64_t>(batch.size());
    x_.resize(static_cast<size_t>(n * s.d_model));
    h_.resize(x_.size());
    y_.resize(x_.size());

    // [n, d_model] token embeddings
    embed_tokens(head_, batch.tokens.data(), n, s.d_model, x_.data());

    for (int64_t l = 0; l < s.n_layers; ++l) {
      const DeepseekLayer& L = layers_[static_cast<size_t>(l)];
      // ---- x += attention(norm(x))
      norm_rows(L.attn.attn_norm, n);
      attention_.forward(L.attn, l, batch, cache, h_.data(), y_.data());
      for (size_t i = 0; i < x_.size(); ++i) x_[i] += y_[i];
      // ---- x += ffn(norm(x))
      norm_rows(L.ffn_norm, n);
      if (L.moe) {
        KY_RETURN_IF_ERROR(moe_ffn(L.experts, s.mla.router, h_.data(), n, y_.data(), moe_scratch_));
      } else {
        dense_ffn(L.dense, n);
      }
      for (size_t i = 0; i < x_.size(); ++i) x_[i] += y_[i];
    }

    // ---- final norm and LM head, only for the tokens that want logits
    compute_logits(head_, s, batch, x_.data(), h_, logits);
    return Status::ok();
  }

 private:
  Status bind_layer(int64_t l, DeepseekLayer& L) {
    const WeightSource& w = *weights_;
    const ModelSpec& s = spec_;
    const MlaSpec& m = s.mla;
    const std::string p = "blk." + std::to_string(l) + ".";
    KY_ASSIGN_OR_RETURN(L.attn, bind_mla_weights(w, s, l));
    KY_ASSIGN_OR_RETURN(L.ffn_norm, load_vector(w, p + "ffn_norm.weight", s.d_model, true));
    L.moe = m.is_moe_layer(l);
    if (L.moe) {
      auto experts = bind_moe_weights(w, l, m.router.n_experts, s.d_model, m.d_ff_expert,
                                      m.n_shared_experts * m.d_ff_expert);
      if (!experts) return experts.status().with_context("layer " + std::to_string(l));
      L.experts = std::move(experts).value();
    } else {
      KY_ASSIGN_OR_RETURN(L.dense.gate, bind_matrix(w, p + "ffn_gate.weight", s.d_ff, s.d_model));
      KY_ASSIGN_OR_RETURN(L.dense.up, bind_matrix(w, p + "ffn_up.weight", s.d_ff, s.d_model));
      KY_ASSIGN_OR_RETURN(L.dense.down, bind_matrix(w, p + "ffn_down.weight", s.d_model, s.d_ff));
    }
    return Status::ok();
  }

  Status check_batch(const Batch& batch, const KvCache& cache) const {
    const size_t n = batch.size();
    if (n == 0) return Error("empty batch");
    if (batch.positions.size() != n || batch.seq_ids.size() != n || batch.want_logits.size() != n)
      return Error("batch arrays have different lengths");
    if (cache.k_dim() != spec_.mla.cache_width() || cache.v_dim() != 0) return Error("KV cache was made for another model");
    if (cache.type() != KvType::kF32) return Error("the MLA latent cache is f32 (create it with create_cache)");
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

  // h_[t] = rmsnorm(x_[t]) * weight
  void norm_rows(const std::vector<float>& weight, int64_t n) {
    const ModelSpec& s = spec_;
    for (int64_t t = 0; t < n; ++t)
      kernels::rmsnorm(&x_[t * s.d_model], weight.data(), s.d_model, s.norm_eps, &h_[t * s.d_model]);
  }

  // y_ = W_down · (silu(W_gate · h_) * (W_up · h_))
  void dense_ffn(const DenseFfn& f, int64_t n) {
    const int64_t d_ff = spec_.d_ff;
    gate_.resize(static_cast<size_t>(n * d_ff));
    up_.resize(gate_.size());
    kernels::matmul(*f.gate, h_.data(), n, gate_.data());  // [n, d_ff]
    kernels::matmul(*f.up, h_.data(), n, up_.data());      // [n, d_ff]
    kernels::swiglu(gate_.data(), up_.data(), n * d_ff, gate_.data());
    kernels::matmul(*f.down, gate_.data(), n, y_.data());  // [n, d_model]
  }

  MlaAttention attention_;
  LmHead head_;
  std::vector<DeepseekLayer> layers_;
  // Scratch, reused across calls: [n, d_model] x_ (residual), h_ (normed), y_ (block output); [n, d_ff].
  std::vector<float> x_, h_, y_, gate_, up_;
  MoeScratch moe_scratch_;
};

}  // namespace

Result<std::unique_ptr<Model>> create_deepseek_model(ModelSpec spec, std::shared_ptr<const WeightSource> weights) {
  auto model = std::make_unique<DeepseekModel>(std::move(spec), std::move(weights));
  KY_RETURN_IF_ERROR(model->bind());
  return std::unique_ptr<Model>(std::move(model));
}

}  // namespace kaiyuan
