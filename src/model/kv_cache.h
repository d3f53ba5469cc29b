// KvCache: keys and values of every layer for a fixed number of sequence slots, f32, laid out
// [slot][layer][position][k_dim] and [...][v_dim]. A slot holds one sequence; positions beyond
// `n_ctx` are refused before a forward call writes them. Architectures choose the widths: n_kv_heads
// x head_dim for plain attention; MLA stores its compressed latent as "K" and no V (v_dim 0).
#pragma once

#include <cstdint>
#include <vector>

#include "core/status.h"

namespace kaiyuan {

class KvCache {
 public:
  static Result<KvCache> create(int64_t n_layers, int64_t k_dim, int64_t v_dim, int64_t n_ctx, int64_t n_slots);

  int64_t n_ctx() const { return n_ctx_; }
  int64_t n_slots() const { return n_slots_; }
  int64_t k_dim() const { return k_dim_; }
  int64_t v_dim() const { return v_dim_; }

  float* key(int64_t slot, int64_t layer, int64_t pos) { return k_.data() + offset(slot, layer, pos, k_dim_); }
  float* value(int64_t slot, int64_t layer, int64_t pos) { return v_.data() + offset(slot, layer, pos, v_dim_); }
  const float* key(int64_t slot, int64_t layer, int64_t pos) const {
    return k_.data() + offset(slot, layer, pos, k_dim_);
  }
  const float* value(int64_t slot, int64_t layer, int64_t pos) const {
    return v_.data() + offset(slot, layer, pos, v_dim_);
  }

  size_t bytes() const { return (k_.size() + v_.size()) * sizeof(float); }

 private:
  size_t offset(int64_t slot, int64_t layer, int64_t pos, int64_t width) const {
    return static_cast<size_t>(((slot * n_layers_ + layer) * n_ctx_ + pos) * width);
  }
  int64_t n_layers_ = 0, k_dim_ = 0, v_dim_ = 0, n_ctx_ = 0, n_slots_ = 0;
  std::vector<float> k_, v_;
};

}  // namespace kaiyuan
