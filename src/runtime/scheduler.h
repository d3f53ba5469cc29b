// Scheduler: continuous batching over a fixed set of KV-cache slots. Each step() runs ONE
// Model::forward over a batch that holds the next token of every decoding sequence plus prompt
// chunks of sequences that joined since the last step (vLLM / llama.cpp server style), samples
// each sequence's next token and streams it out. Only the engine's scheduler thread calls it.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <vector>

#include "model/model.h"
#include "runtime/engine_request.h"
#include "runtime/stop_matcher.h"
#include "tokenizer/tokenizer.h"

namespace kaiyuan {

struct ScheduledRequest {
  GenerationRequest request;
  std::shared_ptr<RequestStream> stream;
};

class Scheduler {
 public:
  // `is_end_of_generation` decides which sampled ids end a sequence (with request.stop_at_eos).
  Scheduler(Model& model, KvCache cache, const Tokenizer& tokenizer, int max_batch_tokens,
            std::function<bool(int32_t)> is_end_of_generation);
  ~Scheduler();

  int n_slots() const { return static_cast<int>(slots_.size()); }
  int active() const;
  bool has_free_slot() const { return active() < n_slots(); }

  // Puts a request into a free slot (the one whose cached tokens share the longest prefix with
  // its prompt, so that prefix is not computed again). The request must fit the context
  // (prompt + max_new_tokens <= n_ctx, checked by the engine); requires has_free_slot().
  void admit(ScheduledRequest request);

  // Drops cancelled sequences, then runs one forward step for every active sequence.
  void step();

  // Finishes every active sequence with finish_reason "cancelled".
  void cancel_all();

  int64_t forward_steps() const { return forward_steps_; }
  int64_t prompt_tokens_reused() const { return prompt_tokens_reused_; }

 private:
  struct Slot;

  void sample_and_emit(Slot& slot, const float* logits_row);
  void finish(Slot& slot, const std::string& reason);
  void fail(Slot& slot, const std::string& message);

  Model& model_;
  KvCache cache_;
  const Tokenizer& tokenizer_;
  int max_batch_tokens_;
  std::function<bool(int32_t)> is_end_of_generation_;
  std::vector<std::unique_ptr<Slot>> slots_;
  Batch batch_;
  std::vector<float> logits_;
  std::vector<float> biased_;  // [n_vocab] a logits row with the request's logit_bias added
  int64_t forward_steps_ = 0;
  int64_t prompt_tokens_reused_ = 0;
};

}  // namespace kaiyuan
