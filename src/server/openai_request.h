// Parses and validates the bodies of POST /v1/chat/completions and /v1/completions into plain
// data. Unknown fields are ignored (as OpenAI's API does); a known field of the wrong type or out
// of range is an ApiError naming the parameter.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include <nlohmann/json.hpp>

#include "sampling/sampler.h"
#include "server/api_error.h"

namespace kaiyuan::server {

// A completions prompt is text or token ids (OpenAI accepts both, one or several).
struct PromptInput {
  std::string text;
  std::vector<int32_t> ids;
  bool is_ids = false;
};

struct OpenAiRequest {
  bool chat = false;
  std::string model;
  // chat
  nlohmann::ordered_json messages;  // validated, content parts flattened to strings
  nlohmann::ordered_json tools;     // null when absent
  nlohmann::ordered_json tool_choice;
  // completions
  std::vector<PromptInput> prompts;
  bool echo = false;

  std::optional<int32_t> max_tokens;  // max_tokens or max_completion_tokens; absent: what the context allows
  SamplingParams sampling;
  std::optional<uint64_t> seed;
  int n = 1;
  std::vector<std::string> stop;
  std::vector<std::pair<int32_t, float>> logit_bias;
  bool logprobs = false;
  int top_logprobs = 0;  // chat: top_logprobs; completions: the integer `logprobs`
  bool stream = false;
  bool include_usage = false;
  std::string user;
};

// The body as JSON; an error when it is not JSON or nests arrays/objects deeper than
// kMaxJsonDepth (nlohmann's dump() and destructor recurse per level: a deep body would overflow
// the handler thread's stack).
constexpr int kMaxJsonDepth = 128;
std::variant<nlohmann::json, ApiError> parse_request_body(std::string_view body);

std::variant<OpenAiRequest, ApiError> parse_chat_request(const nlohmann::json& body);
std::variant<OpenAiRequest, ApiError> parse_completion_request(const nlohmann::json& body);

}  // namespace kaiyuan::server
