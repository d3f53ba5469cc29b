// One tool call read while the model writes it: the call's body goes in as it is generated, its
// name and its arguments' JSON text come out as soon as they are known, and at the call's end the
// whole call is judged. Shared by streaming and non-streaming responses, so both give the same
// arguments string: the model's own text of the arguments object (as OpenAI returns it), not a
// re-serialisation.
//
// Text already streamed cannot be taken back, so this is what may be sent before the call is
// judged (the parser returns a call that fails as the model's words, in content; see
// chat_output_parser.h):
//  - nothing until the name is read and the arguments value has opened with '{': a few tokens later
//    than the name alone, but a JSON answer such as Llama's `{"name": "Bob"}`, or a body whose
//    arguments are not an object, is never announced;
//  - then the arguments text as it grows, except the byte that closes the object, sent only once the
//    whole call is valid (the scanner follows structure; JSON syntax is checked by a real parser at
//    the end). So a client shown a call that then failed holds arguments that do not parse (an
//    unclosed object); that call is not in the non-streamed answer, its text arrives as content,
//    and finish_reason is "tool_calls" only if another call was valid;
//  - arguments written as a JSON string (`"arguments": "{\"x\": 1}"`) are decoded, so they are
//    sent whole once the call is valid.
#pragma once

#include <string>

#include "server/json_value_scanner.h"
#include "server/tool_call_format.h"

namespace kaiyuan::server {

class ToolCallStream {
 public:
  enum class Shape {
    kJsonObject,  // Hermes / Llama body: {"name": ..., "arguments" | "parameters": {...}}
    kDeepSeek,    // text between <｜tool▁call▁begin｜> and <｜tool▁call▁end｜>, V3 or V3.1 shape
  };
  // require_arguments: a body without an arguments key is not a call (Llama, where a whole-message
  // JSON object may be an ordinary answer); otherwise it is a call with arguments "{}".
  ToolCallStream(Shape shape, bool require_arguments);

  void push(const std::string& text);
  bool failed() const { return state_ == State::kFailed; }  // can no longer become a valid call
  // The name and the first arguments byte are known (see above): the call may be announced.
  bool ready() const;
  const std::string& name() const { return name_; }
  // Arguments text not returned before and now safe to send (only once ready() or after a successful
  // finish()); all fragments together equal the final `arguments`.
  std::string take_fragment();
  // The body is over (its end marker arrived or the message ended). True with `call` filled (name,
  // arguments) when it is a valid call.
  bool finish(ParsedToolCall& call);
  const std::string& body() const { return body_; }  // everything pushed, for a call that becomes text

 private:
  enum class State {
    kHead,         // DeepSeek: before <｜tool▁sep｜>, or V3 before the ```json fence
    kBeforeObject, // JSON: before the opening '{'
    kBeforeKey,
    kKey,
    kAfterKey,
    kBeforeValue,
    kValue,
    kAfterValue,
    kDone,         // JSON: after the closing '}'; DeepSeek: after the arguments value
    kFailed,
  };
  void scan();
  void scan_deepseek_head();
  void scan_json(char c, bool& consumed);
  void end_value(size_t end);
  bool finish_arguments();

  Shape shape_;
  bool require_arguments_;
  State state_;
  std::string body_;
  size_t pos_ = 0;  // bytes of body_ scanned
  std::string key_;  // JSON: the key whose value is being read (raw, between its quotes)
  bool key_escape_ = false;
  size_t value_begin_ = 0;
  JsonValueScanner value_;
  std::string name_;
  bool has_name_ = false;
  size_t args_begin_ = std::string::npos, args_end_ = std::string::npos;  // the arguments value in body_
  size_t sep_ = std::string::npos;  // DeepSeek: where <｜tool▁sep｜> is in body_
  size_t searched_ = 0;             // DeepSeek head: where the search for the separator / fence resumes
  bool deepseek_fenced_ = false;  // V3 shape: arguments inside ```json ... ```
  bool valid_ = false;            // finish() accepted the call
  std::string arguments_;         // after a successful finish
  size_t sent_ = 0;               // arguments bytes already returned by take_fragment
};

}  // namespace kaiyuan::server
