// Splits a chat model's generated text into what OpenAI returns separately: reasoning
// (`<think>...</think>` -> reasoning_content, DeepSeek-R1 / Qwen3 convention), tool calls (in the
// shape the chat template renders them, see tool_call_format.h) and plain content. Incremental:
// text goes in as it is generated and deltas come out, so streaming and non-streaming responses
// share one parser. Tool calls stream as OpenAI streams them: a call's name as soon as its arguments
// begin, then its arguments' JSON text a fragment at a time (what may be sent before a call is
// judged: tool_call_stream.h). A tool call that is malformed, or left open at the end, comes out as
// plain content (never dropped) and is not among `tool_calls`.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "server/tool_call_format.h"
#include "server/tool_call_stream.h"

namespace kaiyuan::server {

// One piece of a streamed tool call, as OpenAI's `delta.tool_calls[i]`: a call's first piece has its
// id and name (and possibly a first arguments fragment); later pieces only add arguments text. The
// fragments of a valid call concatenate to its ParsedToolCall::arguments.
struct ToolCallDelta {
  int index = 0;
  std::string id;    // first piece only
  std::string name;  // first piece only
  std::string arguments;
};

struct ChatDelta {
  std::string content;
  std::string reasoning;
  std::vector<ToolCallDelta> tool_call_deltas;  // what a streaming response sends, at most one per call
  std::vector<ParsedToolCall> tool_calls;       // calls that ended valid, whole (the non-streaming answer)
  bool empty() const {
    return content.empty() && reasoning.empty() && tool_call_deltas.empty() && tool_calls.empty();
  }
};

class ChatOutputParser {
 public:
  // parse_tools: look for tool calls (only when the request offered tools).
  // in_reasoning: the prompt already opened a <think> block (templates that end with "<think>\n").
  ChatOutputParser(bool parse_tools, bool in_reasoning, ToolCallFormat format = ToolCallFormat::kHermes);
  ChatDelta push(const std::string& text);
  ChatDelta finish();  // flushes whatever is held back

 private:
  enum class Mode {
    kContent,
    kReasoning,
    kToolCall,         // inside <tool_call> (Hermes)
    kDeepSeekSection,  // after <｜tool▁calls▁begin｜>, between calls
    kDeepSeekCall,     // after <｜tool▁call▁begin｜>
    kWholeMessage,     // a Llama message that may be one JSON call: streams as one, judged at the end
  };
  void drain(ChatDelta& out, bool at_end);
  bool drain_hermes_call(ChatDelta& out);
  bool drain_deepseek_section(ChatDelta& out, bool at_end);
  bool drain_deepseek_call(ChatDelta& out, bool at_end);
  void leave_deepseek_section();
  void drain_whole_message(ChatDelta& out, bool at_end);
  bool starts_whole_message_call(bool at_end, bool& wait, size_t& body_at);
  void emit_text(ChatDelta& out, const std::string& text);
  void start_call(ToolCallStream::Shape shape, bool require_arguments);
  void feed_call(ChatDelta& out, const std::string& text);
  void announce_call(ChatDelta& out);
  void add_fragment(ChatDelta& out, std::string fragment);
  bool end_call(ChatDelta& out);
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
  std::optional<ToolCallStream> call_;  // the call being read
  std::string call_prefix_;  // Llama: the whitespace / <|python_tag|> before the call, text if it fails
  int call_index_ = -1;      // the call's index once announced
  std::string call_id_;
  int n_announced_ = 0;      // calls given an index (a call that fails after it was announced keeps its index)
};

}  // namespace kaiyuan::server
