// KvCache: keys and values of every layer for a fixed number of sequence slots, in f32 or in IEEE
// half (KvType::kF16: half the memory and half the bytes attention reads per step, at ~3
// significant digits per element). A slot holds one sequence; positions beyond `n_ctx` are refused
// before a forward call writes them. Architectures choose the widths: n_kv_heads x head_dim for
// plain attention; MLA stores its compressed latent as one "K" head and no V (v_dim 0), always in
// f32.
//
// Layout [slot][layer][head][position][head width]: attention reads one head's positions in a
// row, so they lie one after another. With each position's heads side by side instead (a head's
// rows 256 bytes every 2 KiB on Qwen3-0.6B), the attention of one 8-sequence decode step over 140
// positions took 6.1-6.3 ms against 4.2-5.0 (bench/decode_attention_bench; the kernel fetches a
// block's V rows while it scores the K rows, which pays only when they are contiguous).
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
  // k_dim and v_dim are the widths of all `n_heads` heads together (each a multiple of n_heads).
  static Result<KvCache> create(int64_t n_layers, int64_t k_dim, int64_t v_dim, int64_t n_ctx, int64_t n_slots,
                                KvType type = KvType::kF32, int64_t n_heads = 1);

  KvType type() const { return type_; }

  int64_t n_ctx() const { return n_ctx_; }
  int64_t n_slots() const { return n_slots_; }
  int64_t k_dim() const { return k_dim_; }
  int64_t v_dim() const { return v_dim_; }

  int64_t n_heads() const { return n_heads_; }
  // One head's width: the distance between its consecutive positions.
  int64_t k_head_dim() const { return k_dim_ / n_heads_; }
  int64_t v_head_dim() const { return v_dim_ / n_heads_; }

  // Position 0 of one head's keys (values) in a slot and layer; position p is p * k_head_dim()
  // (v_head_dim()) elements on. f32 caches: keys/values; f16 caches: keys16/values16 (the others
  // are null).
  const float* keys(int64_t slot, int64_t layer, int64_t head) const { return at(k_, slot, layer, head, k_dim_); }
  const float* values(int64_t slot, int64_t layer, int64_t head) const { return at(v_, slot, layer, head, v_dim_); }
  const uint16_t* keys16(int64_t slot, int64_t layer, int64_t head) const {
    return at(k16_, slot, layer, head, k_dim_);
  }
  const uint16_t* values16(int64_t slot, int64_t layer, int64_t head) const {
    return at(v16_, slot, layer, head, v_dim_);
  }

  // Stores one token's keys and values (f32 rows of k_dim and v_dim, all heads side by side) at
  // `pos` of a slot and layer, in the cache's type. `v_row` may be null when v_dim is 0.
  void store(int64_t slot, int64_t layer, int64_t pos, const float* k_row, const float* v_row);

  size_t bytes() const { return bytes_; }

 private:
  // `width` is all heads' (k_dim_ or v_dim_): a slot's layer holds n_ctx_ x width elements, head h
  // the h-th n_ctx_ x (width / n_heads_) of them.
  template <typename T>
  T* at(T* base, int64_t slot, int64_t layer, int64_t head, int64_t width) const {
    if (base == nullptr) return nullptr;
    return base + static_cast<size_t>((slot * n_layers_ + layer) * n_ctx_ * width + head * n_ctx_ * (width / n_heads_));
  }
  int64_t n_layers_ = 0, k_dim_ = 0, v_dim_ = 0, n_ctx_ = 0, n_slots_ = 0, n_heads_ = 1;
  KvType type_ = KvType::kF32;
  size_t bytes_ = 0;
  // Attention reads each slot's rows straight from memory every step: on huge pages, as the
  // repacked weights. Fresh mappings read as zeros.
  std::unique_ptr<HugePageArena> memory_;
  float *k_ = nullptr, *v_ = nullptr;          // f32 caches
  uint16_t *k16_ = nullptr, *v16_ = nullptr;   // f16 caches
};

}  // namespace kaiyuan
