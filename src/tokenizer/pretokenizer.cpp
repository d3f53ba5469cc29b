// PCRE2-backed pre-tokenizers following HF tokenizers src/pre_tokenizers (split.rs, byte_level.rs,
// digits.rs, sequence.rs) and src/tokenizer/pattern.rs (how matches become pieces).
#include "tokenizer/pretokenizer.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include <algorithm>

#include <nlohmann/json.hpp>

#include "tokenizer/unicode_utf8.h"

namespace kaiyuan {

namespace {

// openai/gpt-2 encoder.py pattern, used by the ByteLevel pre-tokenizer when use_regex is true.
constexpr const char* kGpt2Pattern =
    "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+";

struct MatchData {
  explicit MatchData(const pcre2_code* code) : data(pcre2_match_data_create_from_pattern(code, nullptr)) {}
  ~MatchData() { pcre2_match_data_free(data); }
  pcre2_match_data* data;
};

size_t char_length_at(std::string_view text, size_t pos) {
  uint32_t cp;
  const size_t n = utf8::decode(text, pos, &cp);
  return n == 0 ? 1 : n;
}

const std::string* string_field(const nlohmann::json& json, const char* key) {
  auto it = json.find(key);
  return it != json.end() && it->is_string() ? it->get_ptr<const std::string*>() : nullptr;
}

bool bool_field(const nlohmann::json& json, const char* key, bool fallback) {
  auto it = json.find(key);
  return it != json.end() && it->is_boolean() ? it->get<bool>() : fallback;
}

// Turns matches + gaps into pieces per HF SplitDelimiterBehavior (normalizer.rs `split`).
std::vector<std::pair<size_t, size_t>> apply_behavior(const std::vector<std::pair<std::pair<size_t, size_t>, bool>>& spans,
                                                      SplitBehavior behavior) {
  std::vector<std::pair<size_t, size_t>> out;
  bool previous_match = false;
  switch (behavior) {
    case SplitBehavior::kIsolated:
      for (const auto& [range, is_match] : spans) out.push_back(range);
      break;
    case SplitBehavior::kRemoved:
      for (const auto& [range, is_match] : spans) {
        if (!is_match) out.push_back(range);
      }
      break;
    case SplitBehavior::kMergedWithPrevious:
      for (const auto& [range, is_match] : spans) {
        if (is_match && !previous_match && !out.empty()) {
          out.back().second = range.second;
        } else {
          out.push_back(range);
        }
        previous_match = is_match;
      }
      break;
    case SplitBehavior::kMergedWithNext:
      for (auto it = spans.rbegin(); it != spans.rend(); ++it) {
        if (it->second && !previous_match && !out.empty()) {
          out.back().first = it->first.first;
        } else {
          out.push_back(it->first);
        }
        previous_match = it->second;
      }
      std::reverse(out.begin(), out.end());
      break;
    case SplitBehavior::kContiguous:
      for (const auto& [range, is_match] : spans) {
        if (is_match == previous_match && !out.empty()) {
          out.back().second = range.second;
        } else {
          out.push_back(range);
        }
        previous_match = is_match;
      }
      break;
  }
  return out;
}

}  // namespace

// ---- Regex ------------------------------------------------------------------------------------

Result<std::shared_ptr<const Regex>> Regex::compile(const std::string& pattern, bool literal) {
  int error_code = 0;
  PCRE2_SIZE error_offset = 0;
  uint32_t options = PCRE2_UTF | PCRE2_UCP;
  if (literal) options |= PCRE2_LITERAL;
  pcre2_code* code = pcre2_compile(reinterpret_cast<PCRE2_SPTR>(pattern.data()), pattern.size(), options,
                                   &error_code, &error_offset, nullptr);
  if (code == nullptr) {
    PCRE2_UCHAR message[256];
    pcre2_get_error_message(error_code, message, sizeof(message));
    return Error("invalid regex \"" + pattern + "\": " + reinterpret_cast<const char*>(message) + " at offset " +
                 std::to_string(error_offset));
  }
  // JIT is an optimisation only: when unavailable, matching falls back to the interpreter.
  pcre2_jit_compile(code, PCRE2_JIT_COMPLETE);
  std::shared_ptr<Regex> regex(new Regex());
  regex->pattern_ = pattern;
  regex->code_ = code;
  return std::shared_ptr<const Regex>(std::move(regex));
}

Regex::~Regex() { pcre2_code_free(code_); }

std::vector<std::pair<size_t, size_t>> Regex::find_all(std::string_view subject) const {
  std::vector<std::pair<size_t, size_t>> matches;
  MatchData match(code_);
  const auto* bytes = reinterpret_cast<PCRE2_SPTR>(subject.data());
  size_t pos = 0;
  while (pos <= subject.size()) {
    // The subject was sanitized to valid UTF-8 by the caller, so the UTF check is skipped.
    int rc = pcre2_match(code_, bytes, subject.size(), pos, PCRE2_NO_UTF_CHECK, match.data, nullptr);
    if (rc == PCRE2_ERROR_JIT_STACKLIMIT) {
      rc = pcre2_match(code_, bytes, subject.size(), pos, PCRE2_NO_UTF_CHECK | PCRE2_NO_JIT, match.data, nullptr);
    }
    // No match, or a resource limit hit by a pathological pattern: the rest stays unmatched text.
    if (rc < 0) break;
    const PCRE2_SIZE* ovector = pcre2_get_ovector_pointer(match.data);
    const size_t start = ovector[0], end = ovector[1];
    if (end < start || end > subject.size()) break;  // \K tricks; never in tokenizer files
    matches.emplace_back(start, end);
    if (end > start) {
      pos = end;
    } else {
      if (start >= subject.size()) break;
      pos = start + char_length_at(subject, start);
    }
  }
  return matches;
}

// ---- PreTokenizer -----------------------------------------------------------------------------

Result<PreTokenizer> PreTokenizer::from_json(const nlohmann::json& json) {
  PreTokenizer pre_tokenizer;
  KY_RETURN_IF_ERROR(pre_tokenizer.add_from_json(json, 0));
  return pre_tokenizer;
}

Result<PreTokenizer> PreTokenizer::from_regexes(const std::vector<std::string>& patterns) {
  PreTokenizer pre_tokenizer;
  for (const std::string& pattern : patterns) {
    KY_RETURN_IF_ERROR(pre_tokenizer.add_split(pattern, false, SplitBehavior::kIsolated, false));
  }
  pre_tokenizer.has_byte_level_ = true;  // GGUF gpt2 vocabs are always byte-level
  return pre_tokenizer;
}

Status PreTokenizer::add_split(const std::string& pattern, bool literal, SplitBehavior behavior, bool invert) {
  KY_ASSIGN_OR_RETURN(auto regex, Regex::compile(pattern, literal));
  steps_.push_back({std::move(regex), behavior, invert, false});
  return Status::ok();
}

Status PreTokenizer::add_from_json(const nlohmann::json& json, int depth) {
  if (json.is_null()) return Status::ok();
  if (depth > 16) return Error("pre_tokenizer: Sequence nested too deeply");
  const std::string* type = json.is_object() ? string_field(json, "type") : nullptr;
  if (type == nullptr) return Error("pre_tokenizer: expected an object with a string \"type\"");
  if (*type == "Sequence") {
    auto it = json.find("pretokenizers");
    if (it == json.end() || !it->is_array()) return Error("pre_tokenizer Sequence: missing \"pretokenizers\" array");
    for (const auto& child : *it) KY_RETURN_IF_ERROR(add_from_json(child, depth + 1));
    return Status::ok();
  }
  if (*type == "Split") {
    auto pattern = json.find("pattern");
    if (pattern == json.end() || !pattern->is_object()) return Error("pre_tokenizer Split: missing \"pattern\" object");
    const std::string* regex = string_field(*pattern, "Regex");
    const std::string* literal = string_field(*pattern, "String");
    if (regex == nullptr && literal == nullptr) {
      return Error("pre_tokenizer Split: pattern needs a string \"Regex\" or \"String\"");
    }
    const std::string* behavior_name = string_field(json, "behavior");
    const std::string behavior_str = behavior_name ? *behavior_name : "Isolated";
    SplitBehavior behavior;
    if (behavior_str == "Isolated") {
      behavior = SplitBehavior::kIsolated;
    } else if (behavior_str == "Removed") {
      behavior = SplitBehavior::kRemoved;
    } else if (behavior_str == "MergedWithPrevious") {
      behavior = SplitBehavior::kMergedWithPrevious;
    } else if (behavior_str == "MergedWithNext") {
      behavior = SplitBehavior::kMergedWithNext;
    } else if (behavior_str == "Contiguous") {
      behavior = SplitBehavior::kContiguous;
    } else {
      return Error("pre_tokenizer Split: unknown behavior \"" + behavior_str + "\"");
    }
    return add_split(regex ? *regex : *literal, regex == nullptr, behavior, bool_field(json, "invert", false));
  }
  if (*type == "ByteLevel") {
    has_byte_level_ = true;
    Step step;
    step.add_prefix_space = bool_field(json, "add_prefix_space", true);
    if (bool_field(json, "use_regex", true)) {
      KY_ASSIGN_OR_RETURN(step.regex, Regex::compile(kGpt2Pattern));
    }
    steps_.push_back(std::move(step));
    return Status::ok();
  }
  if (*type == "Digits") {
    // Rust char::is_numeric is general category N; individual digits are isolated, runs otherwise
    // stay together (Contiguous).
    const bool individual = bool_field(json, "individual_digits", false);
    return add_split(individual ? "\\p{N}" : "\\p{N}+", false, SplitBehavior::kIsolated, false);
  }
  return Error("pre_tokenizer type \"" + *type + "\" is not supported");
}

std::vector<std::string> PreTokenizer::split(std::string_view text) const {
  Pieces pieces;
  split(text, pieces);
  return std::vector<std::string>(pieces.views.begin(), pieces.views.end());
}

void PreTokenizer::split(std::string_view text, Pieces& pieces) const {
  pieces.views.clear();
  pieces.owned.clear();
  if (!text.empty()) pieces.views.push_back(text);
  std::vector<std::string_view> next;
  std::vector<std::pair<std::pair<size_t, size_t>, bool>> spans;
  for (const Step& step : steps_) {
    next.clear();
    next.reserve(pieces.views.size() * 2);
    for (std::string_view piece : pieces.views) {
      // byte_level.rs: the prefix space goes on every piece that does not start with one.
      if (step.add_prefix_space && piece[0] != ' ') {
        std::string& prefixed = pieces.owned.emplace_back();
        prefixed.reserve(piece.size() + 1);
        prefixed.push_back(' ');
        prefixed.append(piece);
        piece = prefixed;
      }
      if (!step.regex) {
        next.push_back(piece);
        continue;
      }
      // pattern.rs find_matches: matches and the gaps between them, in order.
      spans.clear();
      size_t previous = 0;
      for (const auto& [start, end] : step.regex->find_all(piece)) {
        if (start != previous) spans.push_back({{previous, start}, step.invert});
        spans.push_back({{start, end}, !step.invert});
        previous = end;
      }
      if (previous != piece.size()) spans.push_back({{previous, piece.size()}, step.invert});
      for (const auto& [start, end] : apply_behavior(spans, step.behavior)) {
        if (end > start) next.push_back(piece.substr(start, end - start));
      }
    }
    pieces.views.swap(next);
  }
}

}  // namespace kaiyuan
