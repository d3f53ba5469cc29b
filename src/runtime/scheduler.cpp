#include "runtime/scheduler.h"

#include <algorithm>
#include <cmath>

namespace kaiyuan {

// One sequence's state. Its keys/values live in KV-cache slot `index` at positions [0, cached.size()).
struct Scheduler::Slot {
  int index = 0;
  bool busy = false;
  std::vector<int32_t> cached;  // tokens whose keys/values are in this slot, by position

  // The request being served (valid while busy).
  ScheduledRequest req;
  std::vector<int32_t> history;  // prompt + generated ids (the sampler's penalty window)
  size_t n_prompt = 0;
  size_t n_fed = 0;              // history[0, n_fed) went through forward (== cached.size())
  int32_t n_generated = 0;
  int32_t n_reused = 0;
  std::unique_ptr<Sampler> sampler;
  std::unique_ptr<StreamingDecoder> decoder;
  std::unique_ptr<StopMatcher> stops;
};

Scheduler::Scheduler(Model& model, KvCache cache, const Tokenizer& tokenizer, int max_batch_tokens,
                     std::function<bool(int32_t)> is_end_of_generation)
    : model_(model),
      cache_(std::move(cache)),
      tokenizer_(tokenizer),
      max_batch_tokens_(std::max(1, max_batch_tokens)),
      is_end_of_generation_(std::move(is_end_of_generation)) {
  for (int64_t i = 0; i < cache_.n_slots(); ++i) {
    auto slot = std::make_unique<Slot>();
    slot->index = static_cast<int>(i);
    slots_.push_back(std::move(slot));
  }
}

Scheduler::~Scheduler() = default;

int Scheduler::active() const {
  int n = 0;
  for (const auto& s : slots_) n += s->busy ? 1 : 0;
  return n;
}

namespace {
size_t common_prefix(const std::vector<int32_t>& a, const std::vector<int32_t>& b) {
  size_t n = 0;
  while (n < a.size() && n < b.size() && a[n] == b[n]) ++n;
  return n;
}
}  // namespace

void Scheduler::admit(ScheduledRequest request) {
  const std::vector<int32_t>& prompt = request.request.prompt_ids;
  KY_CHECK(!prompt.empty());
  Slot* best = nullptr;
  size_t best_shared = 0;
  for (auto& s : slots_) {
    if (s->busy) continue;
    const size_t shared = common_prefix(s->cached, prompt);
    if (best == nullptr || shared > best_shared) {
      best = s.get();
      best_shared = shared;
    }
  }
  KY_CHECK(best != nullptr);
  // The last prompt token always goes through forward: its logits pick the first new token.
  const size_t reuse = std::min(best_shared, prompt.size() - 1);
  Slot& slot = *best;
  slot.busy = true;
  slot.cached.resize(reuse);
  slot.history = prompt;
  slot.n_prompt = prompt.size();
  slot.n_fed = reuse;
  slot.n_generated = 0;
  slot.n_reused = static_cast<int32_t>(reuse);
  prompt_tokens_reused_ += static_cast<int64_t>(reuse);
  slot.sampler = std::make_unique<Sampler>(request.request.sampling);
  slot.decoder = std::make_unique<StreamingDecoder>(tokenizer_);
  slot.decoder->prime(prompt);
  slot.stops = std::make_unique<StopMatcher>(request.request.stop);
  slot.req = std::move(request);
  if (slot.req.request.max_new_tokens <= 0) finish(slot, "length");
}

void Scheduler::step() {
  for (auto& s : slots_)
    if (s->busy && s->req.stream->cancelled()) finish(*s, "cancelled");

  // Every decoding sequence contributes its newest token; prompts fill the rest of the budget,
  // in slot order, a chunk at a time. A sequence wants logits once its whole history is fed.
  batch_.clear();
  std::vector<Slot*> in_batch;
  int budget = max_batch_tokens_;
  for (auto& s : slots_) {
    if (!s->busy || s->n_fed + 1 != s->history.size() || s->n_fed < s->n_prompt) continue;
    batch_.add(s->history[s->n_fed], static_cast<int32_t>(s->n_fed), s->index, true);
    in_batch.push_back(s.get());
    --budget;
  }
  for (auto& s : slots_) {
    if (!s->busy || s->n_fed >= s->n_prompt || budget <= 0) continue;
    const size_t take = std::min<size_t>(static_cast<size_t>(budget), s->n_prompt - s->n_fed);
    for (size_t i = 0; i < take; ++i) {
      const size_t pos = s->n_fed + i;
      batch_.add(s->history[pos], static_cast<int32_t>(pos), s->index, pos + 1 == s->n_prompt);
    }
    budget -= static_cast<int>(take);
    in_batch.push_back(s.get());
  }
  if (batch_.size() == 0) return;

  const Status st = model_.forward(batch_, cache_, logits_);
  ++forward_steps_;
  if (!st) {
    for (Slot* s : in_batch) fail(*s, st.message());
    return;
  }
  // Record what each slot now has cached, then sample where logits came back (batch order).
  for (size_t i = 0; i < batch_.size(); ++i) {
    Slot& s = *slots_[static_cast<size_t>(batch_.seq_ids[i])];
    s.cached.push_back(batch_.tokens[i]);
    ++s.n_fed;
  }
  const size_t n_vocab = static_cast<size_t>(model_.spec().n_vocab);
  size_t row = 0;
  for (size_t i = 0; i < batch_.size(); ++i) {
    if (!batch_.want_logits[i]) continue;
    Slot& s = *slots_[static_cast<size_t>(batch_.seq_ids[i])];
    sample_and_emit(s, logits_.data() + row * n_vocab);
    ++row;
  }
}

void Scheduler::sample_and_emit(Slot& slot, const float* logits_row) {
  const GenerationRequest& r = slot.req.request;
  const size_t n_vocab = static_cast<size_t>(model_.spec().n_vocab);
  std::span<const float> raw(logits_row, n_vocab);
  std::span<const float> scored = raw;
  if (!r.logit_bias.empty()) {
    biased_.assign(raw.begin(), raw.end());
    for (const auto& [id, bias] : r.logit_bias)
      if (id >= 0 && static_cast<size_t>(id) < n_vocab) biased_[static_cast<size_t>(id)] += bias;
    scored = biased_;
  }
  int32_t id = slot.sampler->sample(scored, slot.history);
  if (!r.forced_ids.empty()) {
    if (static_cast<size_t>(slot.n_generated) >= r.forced_ids.size()) {
      finish(slot, "stop");
      return;
    }
    id = r.forced_ids[static_cast<size_t>(slot.n_generated)];
  }
  if (r.stop_at_eos && is_end_of_generation_(id)) {
    finish(slot, "stop");
    return;
  }
  TokenEvent ev;
  ev.kind = TokenEvent::Kind::kToken;
  ev.id = id;
  if (r.top_logprobs >= 0) {
    ev.logprob = Sampler::logprob_of(raw, id);
    if (r.top_logprobs > 0) ev.top_logprobs = Sampler::top_logprobs(raw, r.top_logprobs);
  }
  slot.history.push_back(id);
  ++slot.n_generated;
  ev.text = slot.stops->push(slot.decoder->push(id));
  slot.req.stream->push(std::move(ev));
  if (slot.stops->stopped()) {
    finish(slot, "stop");
  } else if (slot.n_generated >= r.max_new_tokens || static_cast<int64_t>(slot.n_fed) >= cache_.n_ctx()) {
    finish(slot, "length");
  }
}

void Scheduler::finish(Slot& slot, const std::string& reason) {
  TokenEvent ev;
  ev.kind = TokenEvent::Kind::kFinished;
  if (reason != "cancelled") {
    if (!slot.stops->stopped()) ev.text = slot.stops->push(slot.decoder->flush());
    ev.text += slot.stops->flush();
  }
  ev.finish_reason = reason;
  ev.n_prompt = static_cast<int32_t>(slot.n_prompt);
  ev.n_generated = slot.n_generated;
  ev.n_reused = slot.n_reused;
  slot.req.stream->push(std::move(ev));
  slot.req.stream.reset();
  slot.busy = false;
}

void Scheduler::fail(Slot& slot, const std::string& message) {
  TokenEvent ev;
  ev.kind = TokenEvent::Kind::kError;
  ev.error = message;
  slot.req.stream->push(std::move(ev));
  slot.req.stream.reset();
  slot.busy = false;
  slot.cached.clear();  // forward failed: what the slot holds is not known to be whole
}

void Scheduler::cancel_all() {
  for (auto& s : slots_)
    if (s->busy) finish(*s, "cancelled");
}

}  // namespace kaiyuan
