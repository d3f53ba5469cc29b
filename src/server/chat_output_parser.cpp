#include "server/chat_output_parser.h"

#include <random>

namespace kaiyuan::server {
namespace {

constexpr const char* kThinkOpen = "<think>";
constexpr const char* kThinkClose = "</think>";
constexpr const char* kToolOpen = "<tool_call>";
constexpr const char* kToolClose = "</tool_call>";

// Length of the longest suffix of `text` that is a proper prefix of `tag` (text that may become
// the tag once more arrives, so it must be held back).
size_t partial_tag_suffix(const std::string& text, const std::string& tag) {
  for (size_t len = std::min(tag.size() - 1, text.size()); len > 0; --len)
    if (text.compare(text.size() - len, len, tag, 0, len) == 0) return len;
  return 0;
}

}  // namespace

std::string new_tool_call_id() {
  static const char kAlphabet[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
  thread_local std::mt19937_64 rng{std::random_device{}()};
  std::string id = "call_";
  for (int i = 0; i < 24; ++i) id += kAlphabet[rng() % (sizeof(kAlphabet) - 1)];
  return id;
}

bool parse_tool_call_json(const std::string& body, ParsedToolCall& call) {
  const auto j = nlohmann::json::parse(body, nullptr, false);
  if (j.is_discarded() || !j.is_object() || !j.contains("name") || !j["name"].is_string()) return false;
  call.name = j["name"].get<std::string>();
  if (call.name.empty()) return false;
  const nlohmann::json args = j.contains("arguments") ? j["arguments"] : nlohmann::json::object();
  if (args.is_string()) {
    call.arguments = args.get<std::string>();  // already JSON text (some models emit it so)
  } else if (args.is_object()) {
    call.arguments = args.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  } else {
    return false;
  }
  return true;
}

ChatOutputParser::ChatOutputParser(bool parse_tools, bool in_reasoning)
    : parse_tools_(parse_tools), mode_(in_reasoning ? Mode::kReasoning : Mode::kContent) {}

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

void ChatOutputParser::emit_text(ChatDelta& out, const std::string& text) {
  if (text.empty()) return;
  out.content += text;
  if (text.find_first_not_of(" \t\r\n") != std::string::npos) seen_content_ = true;
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
      pending_.erase(0, close + std::string(kThinkClose).size());
      mode_ = Mode::kContent;
      seen_content_ = true;
      after_think_ = true;
      continue;
    }
    if (mode_ == Mode::kToolCall) {
      const size_t close = pending_.find(kToolClose);
      if (close == std::string::npos) return;  // a call is only judged whole
      const std::string body = pending_.substr(0, close);
      ParsedToolCall call;
      if (parse_tool_call_json(body, call)) {
        call.index = n_tool_calls_++;
        call.id = new_tool_call_id();
        out.tool_calls.push_back(std::move(call));
      } else {
        emit_text(out, kToolOpen + body + kToolClose);
      }
      pending_.erase(0, close + std::string(kToolClose).size());
      mode_ = Mode::kContent;
      continue;
    }
    // The blank line templates put after </think> is formatting, not content.
    if (after_think_) {
      pending_.erase(0, std::min(pending_.size(), pending_.find_first_not_of("\r\n")));
      if (pending_.empty()) return;
      after_think_ = false;
    }
    // Content: look for the earliest tag that may start here.
    const size_t think = seen_content_ ? std::string::npos : pending_.find(kThinkOpen);
    const size_t tool = parse_tools_ ? pending_.find(kToolOpen) : std::string::npos;
    if (think != std::string::npos && (tool == std::string::npos || think < tool)) {
      // <think> opens reasoning only at the very start (whitespace aside); later it is plain text.
      if (pending_.find_first_not_of(" \t\r\n") >= think) {
        pending_.erase(0, think + std::string(kThinkOpen).size());
        mode_ = Mode::kReasoning;
        continue;
      }
      seen_content_ = true;
    }
    if (tool != std::string::npos) {
      emit_text(out, pending_.substr(0, tool));
      pending_.erase(0, tool + std::string(kToolOpen).size());
      mode_ = Mode::kToolCall;
      continue;
    }
    size_t hold = 0;
    if (!at_end) {
      if (parse_tools_) hold = std::max(hold, partial_tag_suffix(pending_, kToolOpen));
      if (!seen_content_) hold = std::max(hold, partial_tag_suffix(pending_, kThinkOpen));
    }
    // Whitespace before a possible <think> is held too, so reasoning models do not emit a stray newline.
    std::string ready = pending_.substr(0, pending_.size() - hold);
    if (!seen_content_ && !at_end && ready.find_first_not_of(" \t\r\n") == std::string::npos) return;
    emit_text(out, ready);
    pending_.erase(0, pending_.size() - hold);
    return;
  }
}

}  // namespace kaiyuan::server
