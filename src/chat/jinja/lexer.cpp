// Tokenizer for Jinja templates. Whitespace handling follows jinja2 lexer.py: `{%-` strips all
// whitespace before a tag, `-%}` all whitespace after; lstrip_blocks removes spaces/tabs between a
// line start and a block or comment tag; trim_blocks removes the newline right after a block or
// comment tag; one trailing newline of the template is dropped. `{% raw %}` bodies are kept as text.
#include "chat/jinja/lexer.h"

#include <cerrno>
#include <cstdlib>
#include <string_view>

#include "chat/jinja/error.h"
#include "chat/jinja/utf8.h"

namespace kaiyuan::jinja {
namespace {

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f'; }
bool is_name_start(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'; }
bool is_digit(char c) { return c >= '0' && c <= '9'; }
bool is_name_char(char c) { return is_name_start(c) || is_digit(c); }

// jinja2 normalises every newline sequence to "\n" (newline_sequence default).
std::string normalize_newlines(const std::string& in) {
  std::string out;
  out.reserve(in.size());
  for (size_t i = 0; i < in.size(); ++i) {
    if (in[i] == '\r') {
      out += '\n';
      if (i + 1 < in.size() && in[i + 1] == '\n') ++i;
    } else {
      out += in[i];
    }
  }
  return out;
}

class Lexer {
 public:
  explicit Lexer(std::string source) : src_(std::move(source)) {}

  std::vector<Token> run() {
    while (pos_ < src_.size()) {
      const size_t tag = find_tag(pos_);
      std::string text = src_.substr(pos_, (tag == std::string::npos ? src_.size() : tag) - pos_);
      if (tag == std::string::npos) {
        emit_text(std::move(text), line_);
        break;
      }
      const char kind = src_[tag + 1];  // '{', '%' or '#'
      const char modifier = tag + 2 < src_.size() ? src_[tag + 2] : '\0';
      const int text_line = line_;
      if (modifier == '-') {
        while (!text.empty() && is_space(text.back())) text.pop_back();
      } else if (modifier != '+' && kind != '{') {
        lstrip_line(text);
      }
      count_lines(pos_, tag);
      emit_text(std::move(text), text_line);
      pos_ = tag + 2 + ((modifier == '-' || modifier == '+') ? 1 : 0);
      if (kind == '#') {
        lex_comment();
      } else if (kind == '{') {
        push(TokenType::kVarBegin, "{{");
        lex_inside("}}");
      } else if (is_raw_block()) {
        lex_raw();
      } else {
        push(TokenType::kBlockBegin, "{%");
        lex_inside("%}");
      }
    }
    push(TokenType::kEof, "");
    return std::move(tokens_);
  }

 private:
  size_t find_tag(size_t from) const {
    for (size_t i = src_.find('{', from); i != std::string::npos; i = src_.find('{', i + 1)) {
      if (i + 1 < src_.size() && (src_[i + 1] == '{' || src_[i + 1] == '%' || src_[i + 1] == '#')) return i;
    }
    return std::string::npos;
  }

  // lstrip_blocks: spaces/tabs between the start of a line and a block/comment tag go away.
  void lstrip_line(std::string& text) const {
    const size_t nl = text.rfind('\n');
    const size_t l_pos = nl == std::string::npos ? 0 : nl + 1;
    if (l_pos == 0 && !line_starting_) return;
    if (l_pos == text.size()) return;
    for (size_t i = l_pos; i < text.size(); ++i)
      if (!is_space(text[i])) return;
    text.resize(l_pos);
  }

  void emit_text(std::string text, int line) {
    if (text.empty()) return;
    line_starting_ = text.back() == '\n';
    Token t;
    t.type = TokenType::kText;
    t.text = std::move(text);
    t.line = line;
    tokens_.push_back(std::move(t));
  }

  void push(TokenType type, std::string text) {
    Token t;
    t.type = type;
    t.text = std::move(text);
    t.line = line_;
    tokens_.push_back(std::move(t));
  }

  void count_lines(size_t from, size_t to) {
    for (size_t i = from; i < to && i < src_.size(); ++i)
      if (src_[i] == '\n') ++line_;
  }

  // After a tag's closing delimiter: `-` strips all following whitespace, no modifier (block and
  // comment tags only) drops one newline (trim_blocks), `+` keeps everything.
  void after_tag_end(char modifier, bool trim_newline) {
    line_starting_ = false;
    if (modifier == '-') {
      while (pos_ < src_.size() && is_space(src_[pos_])) {
        if (src_[pos_] == '\n') ++line_;
        ++pos_;
      }
      line_starting_ = true;  // jinja2 counts a `-` stripped tag end like a fresh line
    } else if (modifier != '+' && trim_newline && pos_ < src_.size() && src_[pos_] == '\n') {
      ++pos_;
      ++line_;
      line_starting_ = true;
    }
  }

  void lex_comment() {
    const int start_line = line_;
    const size_t end = src_.find("#}", pos_);
    if (end == std::string::npos) raise("unterminated comment (missing '#}')", start_line);
    const char modifier = end > pos_ && (src_[end - 1] == '-' || src_[end - 1] == '+') ? src_[end - 1] : '\0';
    count_lines(pos_, end);
    pos_ = end + 2;
    after_tag_end(modifier, true);
  }

  // `{% raw %}` (after "{%" and its modifier): is the next word "raw" followed by the tag end?
  bool is_raw_block() const {
    size_t i = pos_;
    while (i < src_.size() && is_space(src_[i])) ++i;
    if (src_.compare(i, 3, "raw") != 0) return false;
    i += 3;
    if (i < src_.size() && is_name_char(src_[i])) return false;
    while (i < src_.size() && is_space(src_[i])) ++i;
    return src_.compare(i, 2, "%}") == 0 || src_.compare(i, 3, "-%}") == 0 || src_.compare(i, 3, "+%}") == 0;
  }

  void lex_raw() {
    const int start_line = line_;
    size_t close = src_.find("%}", pos_);
    const char open_mod = src_[close - 1] == '-' || src_[close - 1] == '+' ? src_[close - 1] : '\0';
    count_lines(pos_, close);
    pos_ = close + 2;
    after_tag_end(open_mod, true);
    // Find "{%" [-+]? ws "endraw" ws [-+]? "%}".
    for (size_t i = find_tag(pos_); i != std::string::npos; i = find_tag(i + 1)) {
      if (src_[i + 1] != '%') continue;
      size_t j = i + 2;
      const char mod = src_[j] == '-' || src_[j] == '+' ? src_[j] : '\0';
      if (mod) ++j;
      while (j < src_.size() && is_space(src_[j])) ++j;
      if (src_.compare(j, 6, "endraw") != 0) continue;
      j += 6;
      while (j < src_.size() && is_space(src_[j])) ++j;
      char end_mod = '\0';
      if (j < src_.size() && (src_[j] == '-' || src_[j] == '+')) end_mod = src_[j++];
      if (src_.compare(j, 2, "%}") != 0) continue;
      std::string text = src_.substr(pos_, i - pos_);
      if (mod == '-') {
        while (!text.empty() && is_space(text.back())) text.pop_back();
      }
      const int text_line = line_;
      count_lines(pos_, j);
      emit_text(std::move(text), text_line);
      pos_ = j + 2;
      after_tag_end(end_mod, true);
      return;
    }
    raise("unterminated raw block (missing '{% endraw %}')", start_line);
  }

  // Tokens of an expression or statement up to `close` ("}}" or "%}") at bracket depth 0.
  void lex_inside(const char* close) {
    const int start_line = line_;
    int depth = 0;
    const bool is_block = close[0] == '%';
    while (true) {
      while (pos_ < src_.size() && is_space(src_[pos_])) {
        if (src_[pos_] == '\n') ++line_;
        ++pos_;
      }
      if (pos_ >= src_.size()) raise(std::string("unexpected end of template: missing '") + close + "'", start_line);
      if (depth == 0) {
        char modifier = '\0';
        size_t at = pos_;
        if ((src_[at] == '-' || src_[at] == '+') && src_.compare(at + 1, 2, close) == 0) modifier = src_[at++];
        if (src_.compare(at, 2, close) == 0) {
          push(is_block ? TokenType::kBlockEnd : TokenType::kVarEnd, close);
          pos_ = at + 2;
          after_tag_end(modifier, is_block);
          return;
        }
      }
      const char c = src_[pos_];
      if (is_name_start(c)) {
        size_t end = pos_;
        while (end < src_.size() && is_name_char(src_[end])) ++end;
        push(TokenType::kName, src_.substr(pos_, end - pos_));
        pos_ = end;
      } else if (is_digit(c)) {
        lex_number();
      } else if (c == '\'' || c == '"') {
        lex_string();
      } else {
        static const char* const kOps[] = {"**", "//", "==", "!=", "<=", ">=", "+", "-", "*", "/", "%", "~", "<",
                                           ">",  "=",  "(",  ")",  "[",  "]",  "{", "}", ",", ".", ":", "|"};
        const char* matched = nullptr;
        for (const char* op : kOps) {
          if (src_.compare(pos_, std::char_traits<char>::length(op), op) == 0) {
            matched = op;
            break;
          }
        }
        if (!matched) raise(std::string("unexpected character '") + c + "'", line_);
        const std::string op = matched;
        if (op == "(" || op == "[" || op == "{") ++depth;
        if (op == ")" || op == "]" || op == "}") {
          if (depth == 0) raise("unexpected '" + op + "'", line_);
          --depth;
        }
        push(TokenType::kOperator, op);
        pos_ += op.size();
      }
    }
  }

  void lex_number() {
    size_t end = pos_;
    bool is_float = false;
    auto digits = [&] {
      while (end < src_.size() && (is_digit(src_[end]) || (src_[end] == '_' && end + 1 < src_.size() && is_digit(src_[end + 1]))))
        ++end;
    };
    digits();
    if (end + 1 < src_.size() && src_[end] == '.' && is_digit(src_[end + 1])) {
      is_float = true;
      ++end;
      digits();
    }
    if (end < src_.size() && (src_[end] == 'e' || src_[end] == 'E')) {
      size_t e = end + 1;
      if (e < src_.size() && (src_[e] == '+' || src_[e] == '-')) ++e;
      if (e < src_.size() && is_digit(src_[e])) {
        is_float = true;
        end = e;
        digits();
      }
    }
    std::string text;
    for (size_t i = pos_; i < end; ++i)
      if (src_[i] != '_') text += src_[i];
    Token t;
    t.line = line_;
    t.text = text;
    errno = 0;
    if (is_float) {
      t.type = TokenType::kFloat;
      t.float_value = std::strtod(text.c_str(), nullptr);
    } else {
      t.type = TokenType::kInt;
      t.int_value = std::strtoll(text.c_str(), nullptr, 10);
      if (errno == ERANGE) raise("integer literal too large: " + text, line_);
    }
    tokens_.push_back(std::move(t));
    pos_ = end;
  }

  // Python string literal escapes, as jinja2 decodes them; unknown escapes stay as written.
  void lex_string() {
    const char quote = src_[pos_];
    const int start_line = line_;
    std::string out;
    size_t i = pos_ + 1;
    while (true) {
      if (i >= src_.size()) raise("unterminated string literal", start_line);
      const char c = src_[i];
      if (c == quote) break;
      if (c == '\n') ++line_;
      if (c != '\\') {
        out += c;
        ++i;
        continue;
      }
      if (i + 1 >= src_.size()) raise("unterminated string literal", start_line);
      const char e = src_[i + 1];
      i += 2;
      switch (e) {
        case 'n': out += '\n'; break;
        case 't': out += '\t'; break;
        case 'r': out += '\r'; break;
        case 'b': out += '\b'; break;
        case 'f': out += '\f'; break;
        case 'v': out += '\v'; break;
        case 'a': out += '\a'; break;
        case '0': out += '\0'; break;
        case '\\': out += '\\'; break;
        case '\'': out += '\''; break;
        case '"': out += '"'; break;
        case '\n': ++line_; break;  // line continuation
        case 'x':
        case 'u':
        case 'U': {
          const size_t n = e == 'x' ? 2 : e == 'u' ? 4 : 8;
          if (i + n > src_.size()) raise("truncated \\" + std::string(1, e) + " escape in string literal", line_);
          const std::string hex = src_.substr(i, n);
          char* end_ptr = nullptr;
          const unsigned long cp = std::strtoul(hex.c_str(), &end_ptr, 16);
          if (end_ptr != hex.c_str() + n || cp > 0x10FFFF) raise("bad \\" + std::string(1, e) + " escape in string literal", line_);
          utf8_append(out, static_cast<uint32_t>(cp));
          i += n;
          break;
        }
        default:
          out += '\\';
          out += e;
      }
    }
    Token t;
    t.type = TokenType::kString;
    t.text = std::move(out);
    t.line = start_line;
    tokens_.push_back(std::move(t));
    pos_ = i + 1;
  }

  std::string src_;
  size_t pos_ = 0;
  int line_ = 1;
  bool line_starting_ = true;
  std::vector<Token> tokens_;
};

}  // namespace

Result<std::vector<Token>> tokenize(const std::string& source) {
  std::string src = normalize_newlines(source);
  if (!src.empty() && src.back() == '\n') src.pop_back();  // keep_trailing_newline=False
  try {
    return Lexer(std::move(src)).run();
  } catch (const JinjaError& e) {
    return Error("template line " + std::to_string(e.line()) + ": " + e.what());
  }
}

}  // namespace kaiyuan::jinja
