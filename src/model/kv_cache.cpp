#include "model/kv_cache.h"

#include <limits>

namespace kaiyuan {

Result<KvCache> KvCache::create(int64_t n_layers, int64_t k_dim, int64_t v_dim, int64_t n_ctx, int64_t n_slots) {
  if (n_layers <= 0 || k_dim <= 0 || v_dim < 0 || n_ctx <= 0 || n_slots <= 0)
    return Error("KV cache: sizes must be positive");
  // 4 bytes per float; refuse what cannot be addressed or would obviously not fit.
  const double bytes = 4.0 * static_cast<double>(n_layers) * static_cast<double>(k_dim + v_dim) * n_ctx * n_slots;
  if (bytes > static_cast<double>(std::numeric_limits<int64_t>::max()) / 2 || bytes > 1e12)
    return Error("KV cache of " + std::to_string(bytes / 1e9) + " GB requested: lower --ctx-size");
  KvCache c;
  c.n_layers_ = n_layers;
  c.k_dim_ = k_dim;
  c.v_dim_ = v_dim;
  c.n_ctx_ = n_ctx;
  c.n_slots_ = n_slots;
  const size_t per_width = static_cast<size_t>(n_layers * n_ctx * n_slots);
  try {
    c.k_.assign(per_width * static_cast<size_t>(k_dim), 0.0f);
    c.v_.assign(per_width * static_cast<size_t>(v_dim), 0.0f);
  } catch (const std::bad_alloc&) {
    return Error("KV cache: out of memory allocating " + std::to_string(bytes / 1e9) + " GB: lower --ctx-size");
  }
  return c;
}

}  // namespace kaiyuan
