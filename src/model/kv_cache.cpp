#include "model/kv_cache.h"

#include <cstring>
#include <limits>
#include <string>

#include "kernels/ops.h"

namespace kaiyuan {

std::optional<KvType> parse_kv_type(std::string_view name) {
  if (name == "f32") return KvType::kF32;
  if (name == "f16") return KvType::kF16;
  return std::nullopt;
}

const char* kv_type_name(KvType type) { return type == KvType::kF16 ? "f16" : "f32"; }

Result<KvCache> KvCache::create(int64_t n_layers, int64_t k_dim, int64_t v_dim, int64_t n_ctx, int64_t n_slots,
                                KvType type, int64_t n_heads) {
  if (n_layers <= 0 || k_dim <= 0 || v_dim < 0 || n_ctx <= 0 || n_slots <= 0 || n_heads <= 0)
    return Error("KV cache: sizes must be positive");
  if (k_dim % n_heads != 0 || v_dim % n_heads != 0)
    return Error("KV cache: key width " + std::to_string(k_dim) + " and value width " + std::to_string(v_dim) +
                 " must split evenly into " + std::to_string(n_heads) + " heads");
  // Refuse what cannot be addressed or would obviously not fit.
  const double bytes = (type == KvType::kF16 ? 2.0 : 4.0) * static_cast<double>(n_layers) * static_cast<double>(k_dim + v_dim) * n_ctx * n_slots;
  if (bytes > static_cast<double>(std::numeric_limits<int64_t>::max()) / 2 || bytes > 1e12)
    return Error("KV cache of " + std::to_string(bytes / 1e9) + " GB requested: lower --ctx-size");
  KvCache c;
  c.n_layers_ = n_layers;
  c.k_dim_ = k_dim;
  c.v_dim_ = v_dim;
  c.n_ctx_ = n_ctx;
  c.n_slots_ = n_slots;
  c.n_heads_ = n_heads;
  c.type_ = type;
  const size_t per_width = static_cast<size_t>(n_layers * n_ctx * n_slots);
  const size_t elem = type == KvType::kF16 ? sizeof(uint16_t) : sizeof(float);
  const size_t k_bytes = per_width * static_cast<size_t>(k_dim) * elem, v_bytes = per_width * static_cast<size_t>(v_dim) * elem;
  c.memory_ = std::make_unique<HugePageArena>();
  uint8_t* k = c.memory_->allocate(k_bytes);
  uint8_t* v = c.memory_->allocate(v_bytes);
  if (k == nullptr || v == nullptr)
    return Error("KV cache: out of memory allocating " + std::to_string(bytes / 1e9) + " GB: lower --ctx-size");
  c.bytes_ = k_bytes + v_bytes;
  // Written now, at start-up, rather than on first use: a huge page's first write costs its
  // zeroing and possibly a compaction, which lazily paid inside requests tripled the time to first
  // token of 4 concurrent requests (133 -> 391 ms).
  std::memset(k, 0, k_bytes);
  std::memset(v, 0, v_bytes);
  if (type == KvType::kF16) {
    c.k16_ = reinterpret_cast<uint16_t*>(k);
    c.v16_ = reinterpret_cast<uint16_t*>(v);
  } else {
    c.k_ = reinterpret_cast<float*>(k);
    c.v_ = reinterpret_cast<float*>(v);
  }
  return c;
}

void KvCache::store(int64_t slot, int64_t layer, int64_t pos, const float* k_row, const float* v_row) {
  const int64_t kw = k_head_dim(), vw = v_head_dim();
  for (int64_t h = 0; h < n_heads_; ++h) {
    const size_t k_at = static_cast<size_t>(pos * kw), v_at = static_cast<size_t>(pos * vw);
    if (type_ == KvType::kF16) {
      kernels::f32_to_f16(k_row + h * kw, at(k16_, slot, layer, h, k_dim_) + k_at, kw);
      if (vw > 0) kernels::f32_to_f16(v_row + h * vw, at(v16_, slot, layer, h, v_dim_) + v_at, vw);
    } else {
      std::memcpy(at(k_, slot, layer, h, k_dim_) + k_at, k_row + h * kw, static_cast<size_t>(kw) * sizeof(float));
      if (vw > 0)
        std::memcpy(at(v_, slot, layer, h, v_dim_) + v_at, v_row + h * vw, static_cast<size_t>(vw) * sizeof(float));
    }
  }
}

}  // namespace kaiyuan
