#include "server/chat_output_parser.h"

#include <algorithm>

namespace kaiyuan::server {
namespace {

constexpr const char* kThinkOpen = "<think>";
constexpr const char* kThinkClose = "</think>";
constexpr const char* kToolOpen = "<tool_call>";
constexpr const char* kToolClose = "</tool_call>";
constexpr const char* kSpace = " \t\r\n";

size_t len(const char* s) { return std::char_traits<char>::length(s); }

// Length of the longest suffix of `text` that is a proper prefix of `tag` (text that may become
// the tag once more arrives, so it must be held back).
size_t partial_tag_suffix(const std::string& text, const std::string& tag) {
  for (size_t len = std::min(tag.size() - 1, text.size()); len > 0; --len)
    if (text.compare(text.size() - len, len, tag, 0, len) == 0) return len;
  return 0;
}

bool starts_with_at(const std::string& text, size_t at, const char* tag) {
  return text.compare(at, len(tag), tag) == 0;
}

// Whether text[at..] is a proper prefix of `tag` (the tag may still be arriving).
bool is_tag_prefix(const std::string& text, size_t at, const char* tag) {
  const size_t n = text.size() - at;
  return n < len(tag) && text.compare(at, n, tag, 0, n) == 0;
}

}  // namespace

ChatOutputParser::ChatOutputParser(bool parse_tools, bool in_reasoning, ToolCallFormat format)
    : parse_tools_(parse_tools), format_(format), mode_(in_reasoning ? Mode::kReasoning : Mode::kContent) {}

ChatDelta ChatOutputParser::push(const std::string& text) {
  ChatDelta out;
  pending_ += text;
  drain(out, false);
  return out;
}

ChatDelta ChatOutputParser::finish() {
  ChatDelta out;
  drain(out, true);
  if (mode_ == Mode::kToolCall) {
    emit_text(out, kToolOpen + pending_);  // never closed: the model's words, as text
  } else if (mode_ == Mode::kReasoning) {
    out.reasoning += pending_;
  } else {
    emit_text(out, pending_);
  }
  pending_.clear();
  mode_ = Mode::kContent;
  return out;
}

const char* ChatOutputParser::section_open() const {
  switch (format_) {
    case ToolCallFormat::kHermes: return kToolOpen;
    case ToolCallFormat::kDeepSeek: return kDeepSeekCallsBegin;
    case ToolCallFormat::kLlamaJson: return nullptr;  // the whole message, see starts_whole_message_call
  }
  return nullptr;
}

void ChatOutputParser::emit_text(ChatDelta& out, const std::string& text) {
  if (text.empty()) return;
  out.content += text;
  if (text.find_first_not_of(kSpace) != std::string::npos) seen_content_ = emitted_content_ = true;
}

void ChatOutputParser::emit_call(ChatDelta& out, ParsedToolCall call) {
  call.index = n_tool_calls_++;
  call.id = new_tool_call_id();
  out.tool_calls.push_back(std::move(call));
}

// Inside <tool_call>: a call is only judged whole. False when more text is needed.
bool ChatOutputParser::drain_hermes_call(ChatDelta& out) {
  const size_t close = pending_.find(kToolClose);
  if (close == std::string::npos) return false;
  const std::string body = pending_.substr(0, close);
  ParsedToolCall call;
  if (parse_tool_call_json(body, call)) {
    emit_call(out, std::move(call));
  } else {
    emit_text(out, kToolOpen + body + kToolClose);
  }
  pending_.erase(0, close + len(kToolClose));
  mode_ = Mode::kContent;
  return true;
}

// Inside a DeepSeek section: calls one by one, each sent as soon as its end marker arrives. The
// section ends at <｜tool▁calls▁end｜>, or at the end of the text once a call was read (the V3
// tokenizer_config template itself omits the end marker after a single call). False when more
// text is needed.
bool ChatOutputParser::drain_deepseek_section(ChatDelta& out, bool at_end) {
  auto leave_section = [&] {
    section_raw_.clear();
    section_calls_ = 0;
    mode_ = Mode::kContent;
  };
  const size_t at = pending_.find_first_not_of(kSpace);
  if (at == std::string::npos) {
    if (!at_end) return false;
    if (section_calls_ == 0) emit_text(out, section_raw_ + pending_);
    pending_.clear();
    leave_section();
    return false;
  }
  if (starts_with_at(pending_, at, kDeepSeekCallsEnd)) {
    if (section_calls_ == 0) emit_text(out, section_raw_ + pending_.substr(0, at + len(kDeepSeekCallsEnd)));
    pending_.erase(0, at + len(kDeepSeekCallsEnd));
    leave_section();
    return true;
  }
  if (starts_with_at(pending_, at, kDeepSeekCallBegin)) {
    const size_t body_at = at + len(kDeepSeekCallBegin);
    const size_t end = pending_.find(kDeepSeekCallEnd, body_at);
    if (end == std::string::npos) {
      if (!at_end) return false;
      emit_text(out, section_raw_ + pending_);  // a call left open: the model's words, as text
      pending_.clear();
      leave_section();
      return false;
    }
    const size_t after = end + len(kDeepSeekCallEnd);
    ParsedToolCall call;
    if (parse_deepseek_tool_call(pending_.substr(body_at, end - body_at), call)) {
      emit_call(out, std::move(call));
      ++section_calls_;
      section_raw_.clear();
      pending_.erase(0, after);
      return true;
    }
    emit_text(out, section_raw_ + pending_.substr(0, after));
    pending_.erase(0, after);
    leave_section();
    return true;
  }
  if (!at_end && (is_tag_prefix(pending_, at, kDeepSeekCallsEnd) || is_tag_prefix(pending_, at, kDeepSeekCallBegin)))
    return false;
  // Anything else ends the section; what came before it and was not a call is text.
  emit_text(out, section_raw_);
  leave_section();
  return true;
}

// Llama: whether the message so far may be a JSON call (it starts with "{" or <|python_tag|>).
// `wait`: too little text to tell yet.
bool ChatOutputParser::starts_whole_message_call(bool at_end, bool& wait) {
  wait = false;
  if (format_ != ToolCallFormat::kLlamaJson || !parse_tools_ || emitted_content_) return false;
  const size_t at = pending_.find_first_not_of(kSpace);
  if (at == std::string::npos) return false;
  if (pending_[at] == '{' || starts_with_at(pending_, at, kLlamaPythonTag)) return true;
  wait = !at_end && is_tag_prefix(pending_, at, kLlamaPythonTag);
  return false;
}

void ChatOutputParser::drain_whole_message(ChatDelta& out, bool at_end) {
  if (!at_end) return;
  std::string body = pending_;
  const size_t at = body.find_first_not_of(kSpace);
  if (at != std::string::npos && starts_with_at(body, at, kLlamaPythonTag)) body.erase(0, at + len(kLlamaPythonTag));
  ParsedToolCall call;
  // The template always writes "parameters"; without it `{"name": ...}` is an ordinary JSON answer.
  const bool has_args = body.find("\"parameters\"") != std::string::npos || body.find("\"arguments\"") != std::string::npos;
  if (has_args && parse_tool_call_json(body, call)) {
    emit_call(out, std::move(call));
  } else {
    emit_text(out, pending_);
  }
  pending_.clear();
  mode_ = Mode::kContent;
}

void ChatOutputParser::drain(ChatDelta& out, bool at_end) {
  for (;;) {
    if (mode_ == Mode::kReasoning) {
      const size_t close = pending_.find(kThinkClose);
      if (close == std::string::npos) {
        const size_t hold = at_end ? 0 : partial_tag_suffix(pending_, kThinkClose);
        out.reasoning += pending_.substr(0, pending_.size() - hold);
        pending_.erase(0, pending_.size() - hold);
        return;
      }
      out.reasoning += pending_.substr(0, close);
      pending_.erase(0, close + len(kThinkClose));
      mode_ = Mode::kContent;
      seen_content_ = true;
      after_think_ = true;
      continue;
    }
    if (mode_ == Mode::kToolCall) {
      if (!drain_hermes_call(out)) return;
      continue;
    }
    if (mode_ == Mode::kDeepSeekSection) {
      if (!drain_deepseek_section(out, at_end)) return;
      continue;
    }
    if (mode_ == Mode::kWholeMessage) {
      drain_whole_message(out, at_end);
      return;
    }
    // The blank line templates put after </think> is formatting, not content.
    if (after_think_) {
      pending_.erase(0, std::min(pending_.size(), pending_.find_first_not_of("\r\n")));
      if (pending_.empty()) return;
      after_think_ = false;
    }
    // Content: look for the earliest tag that may start here.
    const char* open = parse_tools_ ? section_open() : nullptr;
    const size_t think = seen_content_ ? std::string::npos : pending_.find(kThinkOpen);
    const size_t tool = open ? pending_.find(open) : std::string::npos;
    if (think != std::string::npos && (tool == std::string::npos || think < tool)) {
      // <think> opens reasoning only at the very start (whitespace aside); later it is plain text.
      if (pending_.find_first_not_of(kSpace) >= think) {
        pending_.erase(0, think + len(kThinkOpen));
        mode_ = Mode::kReasoning;
        continue;
      }
      seen_content_ = true;
    }
    if (tool != std::string::npos) {
      emit_text(out, pending_.substr(0, tool));
      pending_.erase(0, tool + len(open));
      if (format_ == ToolCallFormat::kDeepSeek) {
        section_raw_ = open;
        mode_ = Mode::kDeepSeekSection;
      } else {
        mode_ = Mode::kToolCall;
      }
      continue;
    }
    bool wait = false;
    if (starts_whole_message_call(at_end, wait)) {
      mode_ = Mode::kWholeMessage;
      continue;
    }
    if (wait) return;
    size_t hold = 0;
    if (!at_end) {
      if (open) hold = std::max(hold, partial_tag_suffix(pending_, open));
      if (!seen_content_) hold = std::max(hold, partial_tag_suffix(pending_, kThinkOpen));
    }
    // Whitespace before a possible <think> is held too, so reasoning models do not emit a stray newline;
    // so is whitespace before a possible Llama JSON call, which must be judged as the whole message.
    const bool llama_may_call = format_ == ToolCallFormat::kLlamaJson && parse_tools_ && !emitted_content_;
    std::string ready = pending_.substr(0, pending_.size() - hold);
    if ((!seen_content_ || llama_may_call) && !at_end && ready.find_first_not_of(kSpace) == std::string::npos) return;
    emit_text(out, ready);
    pending_.erase(0, pending_.size() - hold);
    return;
  }
}

}  // namespace kaiyuan::server
