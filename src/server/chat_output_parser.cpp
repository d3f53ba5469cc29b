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
    emit_text(out, kToolOpen + call_->body() + pending_);  // never closed: the model's words, as text
    call_.reset();
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

void ChatOutputParser::start_call(ToolCallStream::Shape shape, bool require_arguments) {
  call_.emplace(shape, require_arguments);
  call_index_ = -1;
}

// Feeds body text of the call being read and sends whatever that makes known.
void ChatOutputParser::feed_call(ChatDelta& out, const std::string& text) {
  call_->push(text);
  if (call_index_ < 0 && call_->ready()) announce_call(out);
  if (call_index_ >= 0) add_fragment(out, call_->take_fragment());
}

void ChatOutputParser::announce_call(ChatDelta& out) {
  call_index_ = n_announced_++;
  call_id_ = new_tool_call_id();
  out.tool_call_deltas.push_back({call_index_, call_id_, call_->name(), ""});
}

void ChatOutputParser::add_fragment(ChatDelta& out, std::string fragment) {
  if (fragment.empty()) return;
  if (!out.tool_call_deltas.empty() && out.tool_call_deltas.back().index == call_index_) {
    out.tool_call_deltas.back().arguments += fragment;
  } else {
    out.tool_call_deltas.push_back({call_index_, "", "", std::move(fragment)});
  }
}

// The call's body is over. True when it is a valid call: its last fragment and the whole call go
// out. False: the caller returns call_->body() as text.
bool ChatOutputParser::end_call(ChatDelta& out) {
  ParsedToolCall call;
  if (!call_->finish(call)) return false;
  if (call_index_ < 0) announce_call(out);  // arguments given as a JSON string are sent only now
  add_fragment(out, call_->take_fragment());
  call.index = call_index_;
  call.id = call_id_;
  out.tool_calls.push_back(std::move(call));
  return true;
}

// Inside <tool_call>: the body streams up to </tool_call> (a possible partial tag held back), and
// the call is judged there. False when more text is needed.
bool ChatOutputParser::drain_hermes_call(ChatDelta& out) {
  const size_t close = pending_.find(kToolClose);
  if (close == std::string::npos) {
    const size_t ready = pending_.size() - partial_tag_suffix(pending_, kToolClose);
    feed_call(out, pending_.substr(0, ready));
    pending_.erase(0, ready);
    return false;
  }
  feed_call(out, pending_.substr(0, close));
  pending_.erase(0, close + len(kToolClose));
  if (!end_call(out)) emit_text(out, kToolOpen + call_->body() + kToolClose);
  call_.reset();
  mode_ = Mode::kContent;
  return true;
}

void ChatOutputParser::leave_deepseek_section() {
  section_raw_.clear();
  section_calls_ = 0;
  mode_ = Mode::kContent;
}

// Inside a DeepSeek section, between calls. The section ends at <｜tool▁calls▁end｜>, or at the
// end of the text once a call was read (the V3 tokenizer_config template itself omits the end
// marker after a single call). False when more text is needed.
bool ChatOutputParser::drain_deepseek_section(ChatDelta& out, bool at_end) {
  const size_t at = pending_.find_first_not_of(kSpace);
  if (at == std::string::npos) {
    if (!at_end) return false;
    if (section_calls_ == 0) emit_text(out, section_raw_ + pending_);
    pending_.clear();
    leave_deepseek_section();
    return false;
  }
  if (starts_with_at(pending_, at, kDeepSeekCallsEnd)) {
    if (section_calls_ == 0) emit_text(out, section_raw_ + pending_.substr(0, at + len(kDeepSeekCallsEnd)));
    pending_.erase(0, at + len(kDeepSeekCallsEnd));
    leave_deepseek_section();
    return true;
  }
  if (starts_with_at(pending_, at, kDeepSeekCallBegin)) {
    const size_t body_at = at + len(kDeepSeekCallBegin);
    section_raw_ += pending_.substr(0, body_at);
    pending_.erase(0, body_at);
    start_call(ToolCallStream::Shape::kDeepSeek, true);
    mode_ = Mode::kDeepSeekCall;
    return true;
  }
  if (!at_end && (is_tag_prefix(pending_, at, kDeepSeekCallsEnd) || is_tag_prefix(pending_, at, kDeepSeekCallBegin)))
    return false;
  // Anything else ends the section; what came before it and was not a call is text.
  emit_text(out, section_raw_);
  leave_deepseek_section();
  return true;
}

// Inside a DeepSeek call: the body streams up to <｜tool▁call▁end｜> (a possible partial marker held
// back), and the call is judged there. False when more text is needed.
bool ChatOutputParser::drain_deepseek_call(ChatDelta& out, bool at_end) {
  const size_t end = pending_.find(kDeepSeekCallEnd);
  if (end == std::string::npos) {
    const size_t ready = pending_.size() - (at_end ? 0 : partial_tag_suffix(pending_, kDeepSeekCallEnd));
    feed_call(out, pending_.substr(0, ready));
    pending_.erase(0, ready);
    if (!at_end) return false;
    emit_text(out, section_raw_ + call_->body());  // a call left open: the model's words, as text
    call_.reset();
    leave_deepseek_section();
    return false;
  }
  feed_call(out, pending_.substr(0, end));
  pending_.erase(0, end + len(kDeepSeekCallEnd));
  if (end_call(out)) {
    ++section_calls_;
    section_raw_.clear();
    mode_ = Mode::kDeepSeekSection;
  } else {
    // Calls before it stay calls; this one and the rest of the section are text.
    emit_text(out, section_raw_ + call_->body() + kDeepSeekCallEnd);
    leave_deepseek_section();
  }
  call_.reset();
  return true;
}

// Llama: whether the message so far may be a JSON call (it starts with "{" or <|python_tag|>).
// `wait`: too little text to tell yet. `body_at`: where the call's JSON may begin.
bool ChatOutputParser::starts_whole_message_call(bool at_end, bool& wait, size_t& body_at) {
  wait = false;
  if (format_ != ToolCallFormat::kLlamaJson || !parse_tools_ || emitted_content_) return false;
  const size_t at = pending_.find_first_not_of(kSpace);
  if (at == std::string::npos) return false;
  if (pending_[at] == '{') {
    body_at = at;
    return true;
  }
  if (starts_with_at(pending_, at, kLlamaPythonTag)) {
    body_at = at + len(kLlamaPythonTag);
    return true;
  }
  wait = !at_end && is_tag_prefix(pending_, at, kLlamaPythonTag);
  return false;
}

// A Llama message that may be one call streams as a call while it can still be one; it is judged at
// the end of the message (a call must be all of it), or as text as soon as it cannot be a call.
// The template always writes "parameters": without it `{"name": ...}` is an ordinary JSON answer.
void ChatOutputParser::drain_whole_message(ChatDelta& out, bool at_end) {
  feed_call(out, pending_);
  pending_.clear();
  if (!call_->failed() && !at_end) return;
  if (call_->failed() || !end_call(out)) emit_text(out, call_prefix_ + call_->body());
  call_.reset();
  call_prefix_.clear();
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
    if (mode_ == Mode::kDeepSeekCall) {
      if (!drain_deepseek_call(out, at_end)) return;
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
        start_call(ToolCallStream::Shape::kJsonObject, false);
        mode_ = Mode::kToolCall;
      }
      continue;
    }
    bool wait = false;
    size_t body_at = 0;
    if (starts_whole_message_call(at_end, wait, body_at)) {
      call_prefix_ = pending_.substr(0, body_at);
      pending_.erase(0, body_at);
      start_call(ToolCallStream::Shape::kJsonObject, true);
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
