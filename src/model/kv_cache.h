// KvCache: keys and values of every layer for a fixed number of sequence slots, laid out
// [slot][layer][position][k_dim] and [...][v_dim], in f32 or in IEEE half (KvType::kF16: half the
// memory and half the bytes attention reads per step, at ~3 significant digits per element). A slot
// holds one sequence; positions beyond `n_ctx` are refused before a forward call writes them.
// Architectures choose the widths: n_kv_heads x head_dim for plain attention; MLA stores its
// compressed latent as "K" and no V (v_dim 0), always in f32.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string_view>

#include "core/huge_page_arena.h"
#include "core/status.h"

namespace kaiyuan {

enum class KvType { kF32, kF16 };
// "f32" / "f16" (the --cache-type values); nullopt for anything else.
std::optional<KvType> parse_kv_type(std::string_view name);
const char* kv_type_name(KvType type);

class KvCache {
 public:
  static Result<KvCache> create(int64_t n_layers, int64_t k_dim, int64_t v_dim, int64_t n_ctx, int64_t n_slots,
                                KvType type = KvType::kF32);

  KvType type() const { return type_; }

  int64_t n_ctx() const { return n_ctx_; }
  int64_t n_slots() const { return n_slots_; }
  int64_t k_dim() const { return k_dim_; }
  int64_t v_dim() const { return v_dim_; }

  // f32 caches: float rows; f16 caches: key16/value16 (the others are empty).
  float* key(int64_t slot, int64_t layer, int64_t pos) { return k_ + offset(slot, layer, pos, k_dim_); }
  float* value(int64_t slot, int64_t layer, int64_t pos) { return v_ + offset(slot, layer, pos, v_dim_); }
  const float* key(int64_t slot, int64_t layer, int64_t pos) const { return k_ + offset(slot, layer, pos, k_dim_); }
  const float* value(int64_t slot, int64_t layer, int64_t pos) const { return v_ + offset(slot, layer, pos, v_dim_); }

  uint16_t* key16(int64_t slot, int64_t layer, int64_t pos) { return k16_ + offset(slot, layer, pos, k_dim_); }
  uint16_t* value16(int64_t slot, int64_t layer, int64_t pos) { return v16_ + offset(slot, layer, pos, v_dim_); }
  const uint16_t* key16(int64_t slot, int64_t layer, int64_t pos) const {
    return k16_ + offset(slot, layer, pos, k_dim_);
  }
  const uint16_t* value16(int64_t slot, int64_t layer, int64_t pos) const {
    return v16_ + offset(slot, layer, pos, v_dim_);
  }

  size_t bytes() const { return bytes_; }

 private:
  size_t offset(int64_t slot, int64_t layer, int64_t pos, int64_t width) const {
    return static_cast<size_t>(((slot * n_layers_ + layer) * n_ctx_ + pos) * width);
  }
  int64_t n_layers_ = 0, k_dim_ = 0, v_dim_ = 0, n_ctx_ = 0, n_slots_ = 0;
  KvType type_ = KvType::kF32;
  size_t bytes_ = 0;
  // Attention reads each slot's rows straight from memory every step: on huge pages, as the
  // repacked weights. Fresh mappings read as zeros.
  std::unique_ptr<HugePageArena> memory_;
  float *k_ = nullptr, *v_ = nullptr;          // f32 caches
  uint16_t *k16_ = nullptr, *v16_ = nullptr;   // f16 caches
};

}  // namespace kaiyuan
