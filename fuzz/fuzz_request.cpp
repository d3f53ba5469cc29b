// Fuzzes the server's request parsing: a POST body, parsed as http_server.cpp does, then
// validated as /v1/chat/completions and as /v1/completions (server/openai_request.cpp).
// Input: the request body.
#include <cstddef>
#include <cstdint>
#include <variant>

#include "fuzz_util.h"
#include "server/openai_request.h"

using namespace kaiyuan::server;

namespace {

void check(const std::variant<OpenAiRequest, ApiError>& parsed, bool chat) {
  const OpenAiRequest* r = std::get_if<OpenAiRequest>(&parsed);
  if (r == nullptr) return;
  KY_FUZZ_CHECK(r->chat == chat, "the request kind matches the endpoint");
  KY_FUZZ_CHECK(r->n >= 1, "n is at least 1");
  KY_FUZZ_CHECK(!r->max_tokens || *r->max_tokens >= 0, "max_tokens is not negative");
  KY_FUZZ_CHECK(r->top_logprobs >= 0, "top_logprobs is not negative");
  if (chat) KY_FUZZ_CHECK(r->messages.is_array(), "chat messages are an array");
  else KY_FUZZ_CHECK(!r->prompts.empty(), "a completion has at least one prompt");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const nlohmann::json body = nlohmann::json::parse(data, data + size, nullptr, /*allow_exceptions=*/false);
  if (body.is_discarded()) return 0;
  check(parse_chat_request(body), true);
  check(parse_completion_request(body), false);
  return 0;
}
