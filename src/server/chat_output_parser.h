// Splits a chat model's generated text into what OpenAI returns separately: reasoning
// (`<think>...</think>` -> reasoning_content, DeepSeek-R1 / Qwen3 convention), tool calls (Qwen /
// Hermes: `<tool_call>{"name": ..., "arguments": {...}}</tool_call>`, one JSON object per tag) and
// plain content. Incremental: text goes in as it is generated and deltas come out, so streaming
// and non-streaming responses share one parser. A tool call whose JSON is malformed, or a tag left
// open at the end, comes out as plain content (never dropped).
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace kaiyuan::server {

struct ParsedToolCall {
  int index = 0;
  std::string id;         // "call_" + random
  std::string name;
  std::string arguments;  // JSON text, as OpenAI's function.arguments
};

struct ChatDelta {
  std::string content;
  std::string reasoning;
  std::vector<ParsedToolCall> tool_calls;
  bool empty() const { return content.empty() && reasoning.empty() && tool_calls.empty(); }
};

class ChatOutputParser {
 public:
  // parse_tools: look for <tool_call> tags (only when the request offered tools).
  // in_reasoning: the prompt already opened a <think> block (templates that end with "<think>\n").
  ChatOutputParser(bool parse_tools, bool in_reasoning);
  ChatDelta push(const std::string& text);
  ChatDelta finish();  // flushes whatever is held back
  int n_tool_calls() const { return n_tool_calls_; }

 private:
  enum class Mode { kContent, kReasoning, kToolCall };
  void drain(ChatDelta& out, bool at_end);
  void emit_text(ChatDelta& out, const std::string& text);

  bool parse_tools_;
  Mode mode_;
  bool seen_content_ = false;  // <think> is only recognised before any content
  bool after_think_ = false;   // drop the newlines that follow </think>
  std::string pending_;
  int n_tool_calls_ = 0;
};

// Parses one tool call body (the JSON between the tags); false when it is not a valid call.
bool parse_tool_call_json(const std::string& body, ParsedToolCall& call);
std::string new_tool_call_id();

}  // namespace kaiyuan::server
