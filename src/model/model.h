// Model: a loaded architecture bound to its weights. forward() runs one batch through every layer,
// writes the batch's keys/values into the cache and returns logits for the tokens that asked.
#pragma once

#include <memory>
#include <span>
#include <string>
#include <vector>

#include "core/status.h"
#include "format/weight_source.h"
#include "model/batch.h"
#include "model/kv_cache.h"
#include "model/spec.h"

namespace kaiyuan {

class Model {
 public:
  virtual ~Model() = default;
  const ModelSpec& spec() const { return spec_; }
  const WeightSource& weights() const { return *weights_; }

  // logits: [batch.n_outputs(), n_vocab], rows in batch order of the tokens that want logits.
  // Fails (without touching the cache) on token ids outside the vocabulary, positions outside the
  // cache, or slots that do not exist.
  virtual Status forward(const Batch& batch, KvCache& cache, std::vector<float>& logits) = 0;

  // Plain attention caches K and V of n_kv_heads x head_dim, in `type`; MLA overrides with its
  // latent width (and keeps it in f32 whatever `type` says).
  virtual Result<KvCache> create_cache(int64_t n_ctx, int64_t n_slots, KvType type = KvType::kF32) const {
    return KvCache::create(spec_.n_layers, spec_.kv_dim(), spec_.kv_dim(), n_ctx, n_slots, type, spec_.n_kv_heads);
  }

 protected:
  Model(ModelSpec spec, std::shared_ptr<const WeightSource> weights)
      : spec_(std::move(spec)), weights_(std::move(weights)) {}
  ModelSpec spec_;
  std::shared_ptr<const WeightSource> weights_;
};

// Architectures register a factory in model/registry.cpp (one line each).
using ModelFactory = Result<std::unique_ptr<Model>> (*)(ModelSpec spec, std::shared_ptr<const WeightSource> weights);
const ModelFactory* find_architecture(const std::string& arch);
std::vector<std::string> supported_architectures();

// A GGUF file or an HF folder: spec parsed, weights bound and validated.
struct LoadedModel {
  std::unique_ptr<Model> model;
  std::shared_ptr<const WeightSource> source;  // also the GgufFile for tokenizer metadata
};
Result<LoadedModel> load_model(const std::string& path);

}  // namespace kaiyuan
