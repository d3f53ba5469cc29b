// Session: one model, its tokenizer and a KV cache, for single-user generation and evaluation
// (the CLI's `run` and `eval`). The server's scheduler drives Model::forward with many sequences.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "core/status.h"
#include "model/model.h"
#include "sampling/sampler.h"
#include "tokenizer/tokenizer.h"

namespace kaiyuan {

struct SessionOptions {
  int64_t n_ctx = 0;    // 0: the model's training context, capped at 4096
  int n_threads = 0;    // 0: the CPUs available to the process
  KvType cache_type = KvType::kF32;
};

struct GenerateOptions {
  int32_t max_new_tokens = 128;
  SamplingParams sampling;
  std::vector<std::string> stop;  // generation ends before any of these strings
  bool stop_at_eos = true;
};

struct Generation {
  std::vector<int32_t> ids;    // generated ids (a stop string's tokens included, EOS excluded)
  std::string text;            // their text, cut before a stop string
  std::string finish_reason;   // "stop" (EOS or stop string) or "length" (max tokens or context)
  bool context_full = false;   // generation ended because the context was full
};

class Session {
 public:
  static Result<std::unique_ptr<Session>> open(const std::string& model_path, const SessionOptions& options);

  const Model& model() const { return *loaded_.model; }
  const ModelSpec& spec() const { return loaded_.model->spec(); }
  const Tokenizer& tokenizer() const { return *tokenizer_; }
  const WeightSource& weights() const { return *loaded_.source; }
  int64_t n_ctx() const { return cache_.n_ctx(); }

  // Prompt text -> ids as the model sees them (BOS etc. as the tokenizer's configuration adds).
  std::vector<int32_t> tokenize_prompt(const std::string& text) const;

  // Runs the prompt as one batch, then decodes token by token. `on_text` receives text as it
  // becomes final (never half a UTF-8 character, never part of a stop string); returning false
  // stops generation.
  Result<Generation> generate(const std::vector<int32_t>& prompt_ids, const GenerateOptions& options,
                              const std::function<bool(const std::string&)>& on_text = nullptr);

  // Logits of every position of `ids` from one forward call: [ids.size(), n_vocab].
  Result<std::vector<float>> eval(const std::vector<int32_t>& ids);

 private:
  Session() = default;
  LoadedModel loaded_;
  std::unique_ptr<Tokenizer> tokenizer_;
  KvCache cache_;
};

}  // namespace kaiyuan
