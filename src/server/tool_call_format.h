// The text shapes in which chat models write tool calls, chosen from the chat template in use (a
// model is trained to answer in the shape its template renders for assistant tool-call messages)
// (the parser for one call in each shape is ToolCallStream, tool_call_stream.h).
#pragma once

#include <string>

namespace kaiyuan::server {

struct ParsedToolCall {
  int index = 0;
  std::string id;         // "call_" + random
  std::string name;
  std::string arguments;  // JSON text, as OpenAI's function.arguments (the model's text of it)
};

enum class ToolCallFormat {
  // Qwen / Hermes: `<tool_call>{"name": ..., "arguments": {...}}</tool_call>`, one call per tag.
  kHermes,
  // DeepSeek-V3 / R1: `<｜tool▁calls▁begin｜><｜tool▁call▁begin｜>function<｜tool▁sep｜>NAME\n```json\n
  // ARGS\n```<｜tool▁call▁end｜>...<｜tool▁calls▁end｜>`; DeepSeek-V3.1 writes
  // `<｜tool▁call▁begin｜>NAME<｜tool▁sep｜>ARGS<｜tool▁call▁end｜>` inside the same section markers.
  kDeepSeek,
  // Llama 3.x: the whole message is `{"name": ..., "parameters": {...}}`, optionally after
  // `<|python_tag|>` (Llama-3.1-8B-Instruct chat template, custom tools branch).
  kLlamaJson,
};

// Detects the format from markers the template source contains; Hermes when none is recognised.
ToolCallFormat tool_call_format_for_template(const std::string& template_source);

std::string new_tool_call_id();

// DeepSeek markers (tokenizer.json added tokens of deepseek-ai/DeepSeek-V3; "｜" is U+FF5C and
// "▁" U+2581).
inline constexpr const char* kDeepSeekCallsBegin = "<｜tool▁calls▁begin｜>";
inline constexpr const char* kDeepSeekCallsEnd = "<｜tool▁calls▁end｜>";
inline constexpr const char* kDeepSeekCallBegin = "<｜tool▁call▁begin｜>";
inline constexpr const char* kDeepSeekCallEnd = "<｜tool▁call▁end｜>";
inline constexpr const char* kDeepSeekSep = "<｜tool▁sep｜>";
inline constexpr const char* kLlamaPythonTag = "<|python_tag|>";

}  // namespace kaiyuan::server
