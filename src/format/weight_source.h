// WeightSource: what a model binds its weights from. GGUF files and Hugging Face folders both
// implement it; tensors are exposed under ONE naming scheme (GGUF's: "blk.3.attn_q.weight"), so a
// model never knows which format it came from, except through the facts recorded in ModelSpec
// (e.g. whether Q/K rows are permuted for adjacent-pair RoPE).
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "core/tensor.h"

namespace kaiyuan {

class WeightSource {
 public:
  virtual ~WeightSource() = default;
  // nullptr when absent. Views stay valid as long as the source lives.
  virtual const TensorView* find(std::string_view canonical_name) const = 0;
  virtual const std::vector<TensorView>& tensors() const = 0;
  virtual std::string format_name() const = 0;  // "gguf v3", "safetensors"
  // The view of a matrix the matmul kernels should use: a copy repacked for them where the source
  // repacks (model/repacked_source.h), else find(). Shape and type checks are done on find()'s view.
  virtual const TensorView* find_for_matmul(std::string_view canonical_name) const { return find(canonical_name); }
  // Drops the file-mapped weights' pages from the resident set; what is read later faults back in
  // from the page cache. load_model calls it once a model is bound: what binding copied (repacked
  // matrices, norms) is not read from the file again, and where the page cache holds 2 MiB folios
  // (ext4 on recent kernels) each small read while binding left a whole folio mapped (76 MB for a
  // dense Qwen3-0.6B Q8_0). Sources over memory they do not map (parse()) leave it alone.
  virtual void release_mapped_pages() const {}
  // The same for the pages inside [p, p + n) where that lies in a file this source maps.
  virtual void release_mapped_range(const void* /*p*/, size_t /*n*/) const {}
};

}  // namespace kaiyuan
