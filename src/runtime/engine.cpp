#include "runtime/engine.h"

#include <algorithm>

#include "core/parallel.h"
#include "format/gguf.h"

namespace kaiyuan {

Result<ModelWithTokenizer> load_model_with_tokenizer(const std::string& model_path) {
  ModelWithTokenizer m;
  KY_ASSIGN_OR_RETURN(m.loaded, load_model(model_path));
  auto tok = [&]() -> Result<std::unique_ptr<Tokenizer>> {
    if (auto gguf = std::dynamic_pointer_cast<const GgufFile>(m.loaded.source)) return load_tokenizer_from_gguf(*gguf);
    return load_tokenizer_from_folder(model_path);
  }();
  if (!tok) return tok.status().with_context(model_path);
  m.tokenizer = std::move(tok).value();
  if (m.tokenizer->n_vocab() > m.loaded.model->spec().n_vocab)
    return Error(model_path + ": tokenizer has " + std::to_string(m.tokenizer->n_vocab()) +
                 " tokens but the model only " + std::to_string(m.loaded.model->spec().n_vocab));
  return m;
}

Result<std::unique_ptr<Engine>> Engine::open(const std::string& model_path, const EngineOptions& options) {
  if (options.n_parallel < 1 || options.n_parallel > 1024) return Error("--parallel must be between 1 and 1024");
  if (options.max_queued < 0) return Error("the queue size must not be negative");
  if (options.max_batch_tokens < 1) return Error("the batch size must be positive");
  if (options.n_threads > 0) set_num_threads(options.n_threads);
  std::unique_ptr<Engine> e(new Engine());
  e->options_ = options;
  KY_ASSIGN_OR_RETURN(ModelWithTokenizer m, load_model_with_tokenizer(model_path));
  e->loaded_ = std::move(m.loaded);
  e->tokenizer_ = std::move(m.tokenizer);
  e->n_ctx_ = options.n_ctx > 0 ? options.n_ctx : std::min<int64_t>(e->spec().n_ctx_train, 4096);
  if (e->n_ctx_ < 2) return Error("context size must be at least 2");
  KY_ASSIGN_OR_RETURN(KvCache cache, e->loaded_.model->create_cache(e->n_ctx_, options.n_parallel, options.cache_type));
  Engine* self = e.get();
  e->scheduler_ = std::make_unique<Scheduler>(*e->loaded_.model, std::move(cache), *e->tokenizer_,
                                              options.max_batch_tokens,
                                              [self](int32_t id) { return self->is_end_of_generation(id); });
  e->thread_ = std::thread([self] { self->run_scheduler(); });
  return e;
}

Engine::~Engine() { shutdown(std::chrono::milliseconds(0)); }

bool Engine::is_end_of_generation(int32_t id) const {
  const auto& eos = spec().eos_ids;
  return tokenizer_->is_end_of_generation(id) || std::find(eos.begin(), eos.end(), id) != eos.end();
}

std::string Engine::embedded_chat_template() const {
  auto gguf = std::dynamic_pointer_cast<const GgufFile>(loaded_.source);
  if (!gguf) return "";
  auto source = gguf->get_string("tokenizer.chat_template");
  return source ? *source : "";
}

SubmitResult Engine::submit(GenerationRequest request) {
  SubmitResult out;
  auto invalid = [&](std::string message) {
    out.code = SubmitResult::Code::kInvalid;
    out.message = std::move(message);
    return out;
  };
  const int64_t n_prompt = static_cast<int64_t>(request.prompt_ids.size());
  if (n_prompt == 0) return invalid("the prompt is empty: nothing to condition on");
  for (int32_t id : request.prompt_ids)
    if (id < 0 || id >= spec().n_vocab) return invalid("prompt token id " + std::to_string(id) + " is outside the vocabulary");
  if (request.max_new_tokens < 0) return invalid("max_tokens must not be negative");
  if (n_prompt + request.max_new_tokens > n_ctx_)
    return invalid("the prompt has " + std::to_string(n_prompt) + " tokens and " +
                   std::to_string(request.max_new_tokens) + " more were asked for, but the context holds " +
                   std::to_string(n_ctx_) + " tokens: shorten the prompt or lower max_tokens");
  if (Status st = validate(request.sampling); !st) return invalid(st.message());

  std::lock_guard<std::mutex> lock(mutex_);
  if (!accepting_) {
    out.code = SubmitResult::Code::kShuttingDown;
    out.message = "the server is shutting down";
    return out;
  }
  const int free_slots = options_.n_parallel - active_;
  if (static_cast<int>(queue_.size()) >= options_.max_queued + std::max(0, free_slots)) {
    out.code = SubmitResult::Code::kBusy;
    out.message = "every slot is busy and the queue is full; retry later";
    return out;
  }
  out.stream = std::make_shared<RequestStream>();
  queue_.push_back({std::move(request), out.stream});
  wake_.notify_one();
  return out;
}

EngineStats Engine::stats() const {
  std::lock_guard<std::mutex> lock(mutex_);
  EngineStats s;
  s.queued = static_cast<int>(queue_.size());
  s.active = active_;
  s.n_parallel = options_.n_parallel;
  s.forward_steps = forward_steps_;
  s.prompt_tokens_reused = prompt_tokens_reused_;
  return s;
}

void Engine::run_scheduler() {
  Scheduler& sched = *scheduler_;
  for (;;) {
    {
      std::unique_lock<std::mutex> lock(mutex_);
      wake_.wait(lock, [&] { return stop_ || !queue_.empty() || sched.active() > 0; });
      if (stop_) break;
      // Requests cancelled while they waited never take a slot.
      std::erase_if(queue_, [](const ScheduledRequest& r) {
        if (!r.stream->cancelled()) return false;
        TokenEvent ev;
        ev.kind = TokenEvent::Kind::kFinished;
        ev.finish_reason = "cancelled";
        ev.n_prompt = static_cast<int32_t>(r.request.prompt_ids.size());
        r.stream->push(std::move(ev));
        return true;
      });
      while (sched.has_free_slot() && !queue_.empty()) {
        sched.admit(std::move(queue_.front()));
        queue_.pop_front();
      }
      active_ = sched.active();
    }
    sched.step();
    std::lock_guard<std::mutex> lock(mutex_);
    active_ = sched.active();
    forward_steps_ = sched.forward_steps();
    prompt_tokens_reused_ = sched.prompt_tokens_reused();
  }
  sched.cancel_all();
  std::lock_guard<std::mutex> lock(mutex_);
  for (ScheduledRequest& r : queue_) {
    TokenEvent ev;
    ev.kind = TokenEvent::Kind::kFinished;
    ev.finish_reason = "cancelled";
    r.stream->push(std::move(ev));
  }
  queue_.clear();
  active_ = 0;
}

void Engine::shutdown(std::chrono::milliseconds grace) {
  {
    std::unique_lock<std::mutex> lock(mutex_);
    accepting_ = false;
    const auto deadline = std::chrono::steady_clock::now() + grace;
    while ((active_ > 0 || !queue_.empty()) && std::chrono::steady_clock::now() < deadline && !stop_) {
      lock.unlock();
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
      lock.lock();
    }
    stop_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
}

}  // namespace kaiyuan
