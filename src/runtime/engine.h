// Engine: many concurrent generation requests over one model (continuous batching). One scheduler
// thread owns the model and the KV cache; callers only submit requests and read each request's
// events from its own RequestStream (llama.cpp tools/server: "server threads only queue work, one
// loop owns the model").
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "core/status.h"
#include "model/model.h"
#include "runtime/engine_request.h"
#include "runtime/scheduler.h"
#include "tokenizer/tokenizer.h"

namespace kaiyuan {

struct EngineOptions {
  int64_t n_ctx = 0;           // context of every slot; 0: the model's training context, capped at 4096
  int n_parallel = 4;          // sequences decoded together (KV-cache slots)
  int max_queued = 64;         // requests waiting for a slot; submit() refuses more
  int n_threads = 0;           // 0: the CPUs available to the process
  int max_batch_tokens = 512;  // tokens per forward step; longer prompts are fed in chunks
  KvType cache_type = KvType::kF32;  // f16 halves the cache and the bytes attention reads per step
};

struct SubmitResult {
  enum class Code { kOk, kInvalid, kBusy, kShuttingDown };
  Code code = Code::kOk;
  std::string message;  // why it was refused
  std::shared_ptr<RequestStream> stream;
};

struct EngineStats {
  int queued = 0;
  int active = 0;
  int n_parallel = 0;
  int64_t forward_steps = 0;
  int64_t prompt_tokens_reused = 0;
};

class Engine {
 public:
  static Result<std::unique_ptr<Engine>> open(const std::string& model_path, const EngineOptions& options);
  ~Engine();
  Engine(const Engine&) = delete;
  Engine& operator=(const Engine&) = delete;

  // Validates and queues a request. Never blocks on generation.
  SubmitResult submit(GenerationRequest request);

  // Stops accepting requests; lets running ones finish for up to `grace`, then cancels the rest,
  // and joins the scheduler thread. Idempotent.
  void shutdown(std::chrono::milliseconds grace);

  const Tokenizer& tokenizer() const { return *tokenizer_; }
  const ModelSpec& spec() const { return loaded_.model->spec(); }
  const WeightSource& weights() const { return *loaded_.source; }
  int64_t n_ctx() const { return n_ctx_; }
  EngineStats stats() const;
  // The chat template stored in the model file (GGUF tokenizer.chat_template); empty when none.
  std::string embedded_chat_template() const;
  // Whether `id` ends generation (the tokenizer's end-of-generation ids and the model's EOS ids),
  // the same rule as Session::generate.
  bool is_end_of_generation(int32_t id) const;

 private:

  Engine() = default;
  void run_scheduler();

  LoadedModel loaded_;
  std::unique_ptr<Tokenizer> tokenizer_;
  EngineOptions options_;
  int64_t n_ctx_ = 0;

  mutable std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<ScheduledRequest> queue_;
  bool accepting_ = true;
  bool stop_ = false;
  int active_ = 0;
  int64_t forward_steps_ = 0;
  int64_t prompt_tokens_reused_ = 0;
  std::unique_ptr<Scheduler> scheduler_;
  std::thread thread_;
};

// A model and its tokenizer as Session::open loads them (GGUF vocabulary or the folder's files).
struct ModelWithTokenizer {
  LoadedModel loaded;
  std::unique_ptr<Tokenizer> tokenizer;
};
Result<ModelWithTokenizer> load_model_with_tokenizer(const std::string& model_path);

}  // namespace kaiyuan
