#include "runtime/session.h"

#include <algorithm>

#include "core/parallel.h"
#include "format/gguf.h"
#include "runtime/stop_matcher.h"

namespace kaiyuan {

Result<std::unique_ptr<Session>> Session::open(const std::string& model_path, const SessionOptions& options) {
  if (options.n_threads > 0) set_num_threads(options.n_threads);
  std::unique_ptr<Session> s(new Session());
  KY_ASSIGN_OR_RETURN(s->loaded_, load_model(model_path));
  if (auto gguf = std::dynamic_pointer_cast<const GgufFile>(s->loaded_.source)) {
    auto tok = load_tokenizer_from_gguf(*gguf);
    if (!tok) return tok.status().with_context(model_path);
    s->tokenizer_ = std::move(tok).value();
  } else {
    auto tok = load_tokenizer_from_folder(model_path);
    if (!tok) return tok.status().with_context(model_path);
    s->tokenizer_ = std::move(tok).value();
  }
  const ModelSpec& spec = s->spec();
  if (s->tokenizer_->n_vocab() > spec.n_vocab)
    return Error(model_path + ": tokenizer has " + std::to_string(s->tokenizer_->n_vocab()) +
                 " tokens but the model only " + std::to_string(spec.n_vocab));
  int64_t n_ctx = options.n_ctx > 0 ? options.n_ctx : std::min<int64_t>(spec.n_ctx_train, 4096);
  if (n_ctx < 1) return Error("context size must be positive");
  KY_ASSIGN_OR_RETURN(s->cache_, s->loaded_.model->create_cache(n_ctx, 1, options.cache_type));
  return s;
}

std::vector<int32_t> Session::tokenize_prompt(const std::string& text) const {
  EncodeOptions opts;
  opts.add_special = true;
  return tokenizer_->encode(text, opts);
}

Result<std::vector<float>> Session::eval(const std::vector<int32_t>& ids) {
  if (ids.empty()) return Error("no token ids to evaluate");
  if (static_cast<int64_t>(ids.size()) > n_ctx())
    return Error(std::to_string(ids.size()) + " tokens do not fit the context of " + std::to_string(n_ctx()) +
                 " (use --ctx-size)");
  Batch batch;
  for (size_t i = 0; i < ids.size(); ++i) batch.add(ids[i], static_cast<int32_t>(i), 0, true);
  std::vector<float> logits;
  KY_RETURN_IF_ERROR(loaded_.model->forward(batch, cache_, logits));
  return logits;
}

Result<Generation> Session::generate(const std::vector<int32_t>& prompt_ids, const GenerateOptions& options,
                                     const std::function<bool(const std::string&)>& on_text) {
  if (prompt_ids.empty()) return Error("the prompt is empty: nothing to condition on");
  if (options.max_new_tokens < 0) return Error("the number of tokens to generate must not be negative");
  KY_RETURN_IF_ERROR(validate(options.sampling));
  const int64_t n_prompt = static_cast<int64_t>(prompt_ids.size());
  if (n_prompt >= n_ctx())
    return Error("the prompt has " + std::to_string(n_prompt) + " tokens but the context holds " +
                 std::to_string(n_ctx()) + ": shorten the prompt or raise --ctx-size");

  Generation gen;
  Sampler sampler(options.sampling);
  StreamingDecoder decoder(*tokenizer_);
  decoder.prime(prompt_ids);
  StopMatcher stops(options.stop);
  std::vector<int32_t> history = prompt_ids;
  bool keep_going = true;
  auto emit = [&](const std::string& text) {
    if (text.empty()) return;
    gen.text += text;
    if (on_text && !on_text(text)) keep_going = false;
  };

  // Prompt: one batch, logits only for its last position.
  Batch batch;
  for (int64_t i = 0; i < n_prompt; ++i) batch.add(prompt_ids[i], static_cast<int32_t>(i), 0, i == n_prompt - 1);
  std::vector<float> logits;
  if (options.max_new_tokens > 0) KY_RETURN_IF_ERROR(loaded_.model->forward(batch, cache_, logits));
  gen.finish_reason = "length";
  int64_t pos = n_prompt;
  for (int32_t step = 0; step < options.max_new_tokens && keep_going; ++step) {
    const int32_t id = sampler.sample(logits, history);
    if (options.stop_at_eos && (tokenizer_->is_end_of_generation(id) ||
                                std::find(spec().eos_ids.begin(), spec().eos_ids.end(), id) != spec().eos_ids.end())) {
      gen.finish_reason = "stop";
      break;
    }
    gen.ids.push_back(id);
    history.push_back(id);
    emit(stops.push(decoder.push(id)));
    if (stops.stopped()) {
      gen.finish_reason = "stop";
      break;
    }
    if (step + 1 == options.max_new_tokens) break;
    if (pos >= n_ctx()) {
      gen.context_full = true;
      break;
    }
    batch.clear();
    batch.add(id, static_cast<int32_t>(pos), 0, true);
    KY_RETURN_IF_ERROR(loaded_.model->forward(batch, cache_, logits));
    ++pos;
  }
  if (!stops.stopped()) emit(stops.push(decoder.flush()));
  emit(stops.flush());
  return gen;
}

}  // namespace kaiyuan
