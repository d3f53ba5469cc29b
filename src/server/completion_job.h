// One OpenAI request in flight: its choices (one engine stream each), the text/tool-call/logprob
// state of every choice, and the JSON it produces — streaming chunks as events arrive, or the one
// final response object. Used by one HTTP handler thread at a time.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "runtime/engine.h"
#include "server/api_error.h"
#include "server/chat_output_parser.h"
#include "server/openai_request.h"

namespace kaiyuan::server {

struct Choice {
  std::shared_ptr<RequestStream> stream;
  int index = 0;
  int prompt_index = 0;
  std::unique_ptr<ChatOutputParser> parser;  // chat only
  bool started = false;                      // chat streaming: role chunk sent
  bool done = false;
  std::string text, reasoning;
  std::vector<ParsedToolCall> tool_calls;
  nlohmann::json logprobs;  // chat: array of content entries; completions: the four parallel arrays
  int text_offset = 0;
  std::string finish_reason;
  int32_t n_generated = 0;
};

class CompletionJob {
 public:
  // `prompt_tokens`: the sum over distinct prompts (a prompt counts once however many choices).
  CompletionJob(const Tokenizer& tokenizer, OpenAiRequest request, std::string model_id, int64_t prompt_tokens);

  void add_choice(std::shared_ptr<RequestStream> stream, int prompt_index, bool reasoning_open,
                  ToolCallFormat tool_format);
  void cancel();

  // Reads pending events, waiting up to `wait` for the first. `on_chunk` gets each streaming
  // chunk (already SSE-framed); returning false cancels. Returns false on cancel.
  bool pump(std::chrono::milliseconds wait, const std::function<bool(const std::string&)>& on_chunk);
  bool finished() const;
  bool failed() const { return error_.has_value(); }
  const ApiError& error() const { return *error_; }

  nlohmann::json final_response() const;   // non-streaming body
  std::string stream_tail() const;          // usage chunk (if asked) and [DONE]
  std::string stream_error() const;         // an error event then [DONE]

  int64_t prompt_tokens() const { return prompt_tokens_; }
  int64_t completion_tokens() const;
  double seconds_to_first_token() const { return first_token_s_; }
  double seconds_total() const;

 private:
  void on_event(Choice& c, TokenEvent ev, const std::function<bool(const std::string&)>& on_chunk, bool& keep);
  void record_logprobs(Choice& c, const TokenEvent& ev);
  nlohmann::json chunk_base() const;
  nlohmann::json usage() const;

  const Tokenizer& tokenizer_;
  OpenAiRequest request_;
  std::string model_id_;
  std::string id_;
  int64_t created_;
  int64_t prompt_tokens_;
  std::vector<Choice> choices_;
  std::optional<ApiError> error_;
  std::chrono::steady_clock::time_point start_ = std::chrono::steady_clock::now();
  double first_token_s_ = -1;
};

}  // namespace kaiyuan::server
