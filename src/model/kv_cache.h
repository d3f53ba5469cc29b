// KvCache: keys and values of every layer for a fixed number of sequence slots, f32, laid out
// [slot][layer][position][kv_dim]. A slot holds one sequence; positions beyond `n_ctx` are refused
// before a forward call writes them.
#pragma once

#include <cstdint>
#include <vector>

#include "core/status.h"

namespace kaiyuan {

class KvCache {
 public:
  static Result<KvCache> create(int64_t n_layers, int64_t kv_dim, int64_t n_ctx, int64_t n_slots);

  int64_t n_ctx() const { return n_ctx_; }
  int64_t n_slots() const { return n_slots_; }
  int64_t kv_dim() const { return kv_dim_; }

  float* key(int64_t slot, int64_t layer, int64_t pos) { return data(k_, slot, layer, pos); }
  float* value(int64_t slot, int64_t layer, int64_t pos) { return data(v_, slot, layer, pos); }
  const float* key(int64_t slot, int64_t layer, int64_t pos) const { return data(k_, slot, layer, pos); }
  const float* value(int64_t slot, int64_t layer, int64_t pos) const { return data(v_, slot, layer, pos); }

  size_t bytes() const { return (k_.size() + v_.size()) * sizeof(float); }

 private:
  float* data(std::vector<float>& buf, int64_t slot, int64_t layer, int64_t pos) const {
    return const_cast<float*>(data(static_cast<const std::vector<float>&>(buf), slot, layer, pos));
  }
  const float* data(const std::vector<float>& buf, int64_t slot, int64_t layer, int64_t pos) const {
    return buf.data() + ((slot * n_layers_ + layer) * n_ctx_ + pos) * kv_dim_;
  }
  int64_t n_layers_ = 0, kv_dim_ = 0, n_ctx_ = 0, n_slots_ = 0;
  std::vector<float> k_, v_;
};

}  // namespace kaiyuan
