#include "server/tool_call_stream.h"

#include <algorithm>

#include <nlohmann/json.hpp>

namespace kaiyuan::server {
namespace {

constexpr const char* kSpace = " \t\r\n";
constexpr const char* kJsonFence = "```json";  // DeepSeek V3 tokenizer_config.json chat template

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

std::string trim(const std::string& s) {
  const size_t b = s.find_first_not_of(kSpace);
  if (b == std::string::npos) return "";
  return s.substr(b, s.find_last_not_of(kSpace) - b + 1);
}

bool valid_deepseek_name(const std::string& name) {
  return !name.empty() && name.find_first_of(kSpace) == std::string::npos;
}

// Finds `tag` in text[from..], where `searched` says how far earlier calls already looked (so text
// that grows a token at a time is not searched again from its start on every token).
size_t find_from(const std::string& text, const char* tag, size_t from, size_t& searched) {
  const size_t n = std::char_traits<char>::length(tag);
  const size_t at = text.find(tag, std::max(from, searched));
  if (at == std::string::npos && text.size() >= n) searched = text.size() - n + 1;
  return at;
}

}  // namespace

ToolCallStream::ToolCallStream(Shape shape, bool require_arguments)
    : shape_(shape),
      require_arguments_(require_arguments),
      state_(shape == Shape::kDeepSeek ? State::kHead : State::kBeforeObject) {}

void ToolCallStream::push(const std::string& text) {
  body_ += text;
  scan();
}

bool ToolCallStream::ready() const {
  return state_ != State::kFailed && has_name_ && args_begin_ != std::string::npos && body_[args_begin_] == '{';
}

std::string ToolCallStream::take_fragment() {
  if (valid_) {
    std::string rest = arguments_.substr(sent_);
    sent_ = arguments_.size();
    return rest;
  }
  if (!ready()) return "";
  // Until the call is judged, the byte that closes the arguments object stays back (see header).
  const size_t end = args_end_ != std::string::npos ? args_end_ - 1 : pos_;
  const size_t avail = end - args_begin_;
  if (avail <= sent_) return "";
  std::string fragment = body_.substr(args_begin_ + sent_, avail - sent_);
  sent_ = avail;
  return fragment;
}

void ToolCallStream::scan() {
  if (state_ == State::kHead) scan_deepseek_head();
  while (pos_ < body_.size() && state_ != State::kHead && state_ != State::kFailed) {
    bool consumed = true;
    scan_json(body_[pos_], consumed);
    if (consumed) ++pos_;
  }
}

// DeepSeek V3 / R1: `function<｜tool▁sep｜>NAME\n```json\nARGS\n```` (the call's type, then its name);
// V3.1: `NAME<｜tool▁sep｜>ARGS`. A V3.1 function named "function" is told apart by what follows the
// separator: its arguments ('{' or '"') rather than a name.
void ToolCallStream::scan_deepseek_head() {
  if (sep_ == std::string::npos) {
    sep_ = find_from(body_, kDeepSeekSep, 0, searched_);
    if (sep_ == std::string::npos) return;
    searched_ = 0;  // from now on: the fence
  }
  const size_t tail = sep_ + std::char_traits<char>::length(kDeepSeekSep);
  const std::string head = trim(body_.substr(0, sep_));
  if (head == "function" && !deepseek_fenced_) {
    const size_t first = body_.find_first_not_of(kSpace, tail);
    if (first == std::string::npos) return;
    deepseek_fenced_ = body_[first] != '{' && body_[first] != '"';
  }
  if (deepseek_fenced_) {
    const size_t fence = find_from(body_, kJsonFence, tail, searched_);
    if (fence == std::string::npos) return;
    name_ = trim(body_.substr(tail, fence - tail));
    pos_ = fence + std::char_traits<char>::length(kJsonFence);
  } else {
    name_ = head;
    pos_ = tail;
  }
  if (!valid_deepseek_name(name_)) {
    state_ = State::kFailed;
    return;
  }
  has_name_ = true;
  state_ = State::kBeforeValue;
}

// One byte of the JSON object (or, for DeepSeek, of the arguments value and what follows it).
// `consumed` false: the byte belongs to the next state and is scanned again.
void ToolCallStream::scan_json(char c, bool& consumed) {
  const bool deepseek = shape_ == Shape::kDeepSeek;
  switch (state_) {
    case State::kBeforeObject:
      if (c == '{') state_ = State::kBeforeKey;
      else if (!is_space(c)) state_ = State::kFailed;
      return;
    case State::kBeforeKey:
      if (c == '"') {
        key_.clear();
        state_ = State::kKey;
      } else if (c == '}') {
        state_ = State::kDone;  // `{}` or a trailing comma: the final parse decides
      } else if (!is_space(c)) {
        state_ = State::kFailed;
      }
      return;
    case State::kKey:
      if (key_escape_) key_escape_ = false;
      else if (c == '\\') key_escape_ = true;
      else if (c == '"') {
        state_ = State::kAfterKey;
        return;
      }
      key_ += c;  // raw: a key spelled with escapes is not one of ours
      return;
    case State::kAfterKey:
      if (c == ':') state_ = State::kBeforeValue;
      else if (!is_space(c)) state_ = State::kFailed;
      return;
    case State::kBeforeValue: {
      if (is_space(c)) return;
      const bool is_args = deepseek || key_ == "arguments" || key_ == "parameters";
      if (is_args) {
        if (args_begin_ != std::string::npos) {  // a second arguments key: which one did the model mean?
          state_ = State::kFailed;
          return;
        }
        args_begin_ = pos_;
      }
      value_ = JsonValueScanner{};
      value_begin_ = pos_;
      state_ = State::kValue;
      consumed = false;
      return;
    }
    case State::kValue:
      if (!value_.push(c)) {
        consumed = false;
        end_value(pos_);
      } else if (value_.complete()) {
        end_value(pos_ + 1);
      }
      return;
    case State::kAfterValue:
      if (c == ',') state_ = State::kBeforeKey;
      else if (c == '}') state_ = State::kDone;
      else if (!is_space(c)) state_ = State::kFailed;
      return;
    case State::kDone:
      // JSON: only whitespace may follow the object. DeepSeek: the closing fence is checked by finish().
      if (!deepseek && !is_space(c)) state_ = State::kFailed;
      return;
    case State::kHead:
    case State::kFailed:
      return;
  }
}

void ToolCallStream::end_value(size_t end) {
  if (shape_ == Shape::kDeepSeek) {
    args_end_ = end;
    state_ = State::kDone;
    return;
  }
  state_ = State::kAfterValue;
  if (value_begin_ == args_begin_) {
    args_end_ = end;
  } else if (key_ == "name") {
    const auto name = nlohmann::json::parse(body_.substr(value_begin_, end - value_begin_), nullptr, false);
    if (has_name_ || !name.is_string() || name.get<std::string>().empty()) {
      state_ = State::kFailed;
      return;
    }
    name_ = name.get<std::string>();
    has_name_ = true;
  }
}

bool ToolCallStream::finish(ParsedToolCall& call) {
  if (valid_) return false;  // judged once
  if (state_ != State::kDone || !has_name_) return false;
  if (shape_ == Shape::kJsonObject) {
    // The scanner only tracked structure; the whole object must be JSON (escapes, numbers, UTF-8).
    if (nlohmann::json::parse(body_, nullptr, false).is_discarded()) return false;
    if (args_begin_ == std::string::npos) {
      if (require_arguments_) return false;
      arguments_ = "{}";
    } else if (!finish_arguments()) {
      return false;
    }
  } else {
    const std::string rest = trim(body_.substr(args_end_));
    if (rest != (deepseek_fenced_ ? "```" : "")) return false;
    if (!finish_arguments()) return false;
  }
  valid_ = true;
  call.name = name_;
  call.arguments = arguments_;
  return true;
}

// Arguments as OpenAI's function.arguments: an object is the model's text as written; a JSON string
// (templates that write `arguments | tojson` of OpenAI's string form) must itself hold an object.
bool ToolCallStream::finish_arguments() {
  const std::string text = body_.substr(args_begin_, args_end_ - args_begin_);
  const auto args = nlohmann::json::parse(text, nullptr, false);
  if (args.is_object()) {
    arguments_ = text;
    return true;
  }
  if (!args.is_string()) return false;
  const auto inner = nlohmann::json::parse(args.get<std::string>(), nullptr, false);
  if (!inner.is_object()) return false;
  arguments_ = args.get<std::string>();
  return true;
}

}  // namespace kaiyuan::server
