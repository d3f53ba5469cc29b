// Fuzzes the Jinja chat-template engine (lexer, parser, interpreter, filters, tests, methods)
// through render_chat_template, the call the server and `kaiyuan template` make, with a fixed
// conversation: system/user/assistant-with-tool-call/tool messages, one tool, special tokens and
// add_generation_prompt. The interpreter's limits (steps, macro depth, string and list sizes)
// must turn every hostile template into an error, never a hang or a crash.
// Input: the template source.
#include <cstddef>
#include <cstdint>

#include "chat/chat_template.h"
#include "fuzz_util.h"

using namespace kaiyuan;

namespace {

chat::ChatTemplateInputs make_inputs() {
  chat::ChatTemplateInputs in;
  in.messages = nlohmann::ordered_json::parse(R"([
    {"role": "system", "content": "You are helpful."},
    {"role": "user", "content": "What is the weather in Paris? \u4f60\u597d"},
    {"role": "assistant", "content": "", "reasoning_content": "Need the tool.",
     "tool_calls": [{"id": "call_1", "type": "function",
                     "function": {"name": "get_weather", "arguments": {"city": "Paris", "days": 2}}}]},
    {"role": "tool", "tool_call_id": "call_1", "name": "get_weather", "content": "{\"temp\": 21.5}"},
    {"role": "user", "content": [{"type": "text", "text": "Thanks!"}]}
  ])");
  in.tools = nlohmann::ordered_json::parse(R"([
    {"type": "function", "function": {"name": "get_weather", "description": "Weather for a city",
     "parameters": {"type": "object", "properties": {"city": {"type": "string"}, "days": {"type": "integer"}},
                    "required": ["city"]}}}
  ])");
  in.add_generation_prompt = true;
  in.extra = nlohmann::ordered_json{{"enable_thinking", false}};
  in.special_tokens = {{"bos_token", "<s>"}, {"eos_token", "</s>"}};
  return in;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const chat::ChatTemplateInputs inputs = make_inputs();
  const std::string source(reinterpret_cast<const char*>(data), size);
  (void)chat::render_chat_template(source, inputs);
  return 0;
}
