// Splits a chat model's generated text into what OpenAI returns separately: reasoning
// (`<think>...</think>` -> reasoning_content, DeepSeek-R1 / Qwen3 convention), tool calls (in the
// shape the chat template renders them, see tool_call_format.h) and plain content. Incremental:
// text goes in as it is generated and deltas come out, so streaming and non-streaming responses
// share one parser. A tool call that is malformed, or left open at the end, comes out as plain
// content (never dropped).
#pragma once

#include <string>
#include <vector>

#include "server/tool_call_format.h"

namespace kaiyuan::server {

struct ChatDelta {
  std::string content;
  std::string reasoning;
  std::vector<ParsedToolCall> tool_calls;
  bool empty() const { return content.empty() && reasoning.empty() && tool_calls.empty(); }
};

class ChatOutputParser {
 public:
  // parse_tools: look for tool calls (only when the request offered tools).
  // in_reasoning: the prompt already opened a <think> block (templates that end with "<think>\n").
  ChatOutputParser(bool parse_tools, bool in_reasoning, ToolCallFormat format = ToolCallFormat::kHermes);
  ChatDelta push(const std::string& text);
  ChatDelta finish();  // flushes whatever is held back
  int n_tool_calls() const { return n_tool_calls_; }

 private:
  enum class Mode {
    kContent,
    kReasoning,
    kToolCall,         // inside <tool_call> (Hermes)
    kDeepSeekSection,  // after <｜tool▁calls▁begin｜>
    kWholeMessage,     // a Llama message that may be one JSON call: judged at the end
  };
  void drain(ChatDelta& out, bool at_end);
  bool drain_hermes_call(ChatDelta& out);
  bool drain_deepseek_section(ChatDelta& out, bool at_end);
  void drain_whole_message(ChatDelta& out, bool at_end);
  bool starts_whole_message_call(bool at_end, bool& wait);
  void emit_text(ChatDelta& out, const std::string& text);
  void emit_call(ChatDelta& out, ParsedToolCall call);
  const char* section_open() const;

  bool parse_tools_;
  ToolCallFormat format_;
  Mode mode_;
  bool seen_content_ = false;     // <think> is only recognised before any content
  bool emitted_content_ = false;  // non-blank content went out (a Llama call must be the whole message)
  bool after_think_ = false;      // drop the newlines that follow </think>
  std::string pending_;
  std::string section_raw_;  // DeepSeek section text not yet returned (as calls or as text)
  int section_calls_ = 0;    // calls parsed in the current DeepSeek section
  int n_tool_calls_ = 0;
};

}  // namespace kaiyuan::server
