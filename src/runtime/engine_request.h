// What a generation request asks for and what it produces, event by event, through its stream.
// Shared by the Engine (which queues requests) and the Scheduler (which runs them).
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <mutex>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "sampling/sampler.h"

namespace kaiyuan {

struct GenerationRequest {
  std::vector<int32_t> prompt_ids;
  int32_t max_new_tokens = 16;
  SamplingParams sampling;
  std::vector<std::string> stop;                     // generation ends before any of these strings
  std::vector<std::pair<int32_t, float>> logit_bias;  // OpenAI logit_bias: added to the raw logits
  int top_logprobs = -1;  // -1: no log-probs; 0: the chosen token's; n > 0: also the n most likely
  bool stop_at_eos = true;
  // Test hook (`kaiyuan serve --test-forced-output`): these ids are emitted instead of sampled ones,
  // then generation stops, so end-to-end tests can make a tiny model "say" a tool call.
  std::vector<int32_t> forced_ids;
};

struct TokenEvent {
  enum class Kind { kToken, kFinished, kError };
  Kind kind = Kind::kToken;
  int32_t id = -1;   // kToken: the generated id
  std::string text;  // text that became final with this event (never half a UTF-8 character,
                     // never part of a stop string); kFinished carries the held-back remainder
  float logprob = 0.0f;                            // kToken with top_logprobs >= 0
  std::vector<Sampler::TokenLogprob> top_logprobs;  // kToken with top_logprobs > 0
  std::string finish_reason;                       // kFinished: "stop", "length" or "cancelled"
  int32_t n_prompt = 0;     // kFinished: prompt tokens
  int32_t n_generated = 0;  // kFinished: generated tokens (a stop string's tokens included, EOS not)
  int32_t n_reused = 0;     // kFinished: prompt tokens whose keys/values came from an earlier request
  std::string error;        // kError
};

// The channel between the scheduler (producer) and one request's reader. Thread-safe.
class RequestStream {
 public:
  // The next event, waiting at most `timeout`; nullopt when none arrived in time.
  std::optional<TokenEvent> next(std::chrono::milliseconds timeout);
  // Asks the scheduler to stop this request and free its slot (before its next forward step).
  void cancel() { cancelled_.store(true); }
  bool cancelled() const { return cancelled_.load(); }

  void push(TokenEvent event);  // scheduler side

 private:
  std::mutex mutex_;
  std::condition_variable ready_;
  std::deque<TokenEvent> events_;
  std::atomic<bool> cancelled_{false};
};

}  // namespace kaiyuan
