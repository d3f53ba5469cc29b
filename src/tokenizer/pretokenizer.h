// Pre-tokenization of Hugging Face tokenizers ("pre_tokenizer" in tokenizer.json): splitting text
// into the pieces that BPE merges within. Regexes are PCRE2 (UTF + UCP, JIT-compiled), which accepts
// the Oniguruma syntax these files use (\p{L}, (?i:...), possessive ?+, (?!\S)).
#pragma once

#include <deque>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "core/status.h"

struct pcre2_real_code_8;

namespace kaiyuan {

// A compiled, immutable regex; safe to share between threads (match data is per call).
class Regex {
 public:
  // `literal`: the pattern is a plain string (HF Split {"String": ...}).
  static Result<std::shared_ptr<const Regex>> compile(const std::string& pattern, bool literal = false);
  ~Regex();
  Regex(const Regex&) = delete;
  Regex& operator=(const Regex&) = delete;

  const std::string& pattern() const { return pattern_; }
  // All matches in `subject` (valid UTF-8) as byte ranges, left to right, the way HF tokenizers
  // iterates Oniguruma matches: after an empty match the search resumes one character later.
  std::vector<std::pair<size_t, size_t>> find_all(std::string_view subject) const;

 private:
  Regex() = default;
  std::string pattern_;
  pcre2_real_code_8* code_ = nullptr;
};

// HF SplitDelimiterBehavior.
enum class SplitBehavior { kRemoved, kIsolated, kMergedWithPrevious, kMergedWithNext, kContiguous };

class PreTokenizer {
 public:
  // Sequence / Split (Regex or String pattern, any behavior, invert) / ByteLevel (add_prefix_space,
  // use_regex) / Digits (individual_digits); null means no splitting. Other types are errors.
  static Result<PreTokenizer> from_json(const nlohmann::json& json);
  // A sequence of Isolated regex splits (llama.cpp's regex lists for GGUF vocabs).
  static Result<PreTokenizer> from_regexes(const std::vector<std::string>& patterns);

  // Whether a ByteLevel step is present, i.e. the vocab is byte-level mapped.
  bool has_byte_level() const { return has_byte_level_; }
  // Splits `text` (valid UTF-8) into non-empty pieces (raw bytes, before byte-level mapping).
  std::vector<std::string> split(std::string_view text) const;

  // The same pieces without a copy each: views into `text`, or into `owned` for pieces a step
  // rewrote (ByteLevel's prefix space). Valid while `text` and `owned` live.
  struct Pieces {
    std::vector<std::string_view> views;
    std::deque<std::string> owned;  // a deque: growing it never moves the strings views point into
  };
  void split(std::string_view text, Pieces& pieces) const;

 private:
  struct Step {
    std::shared_ptr<const Regex> regex;  // null: only the prefix space of ByteLevel
    SplitBehavior behavior = SplitBehavior::kIsolated;
    bool invert = false;
    bool add_prefix_space = false;  // ByteLevel
  };
  Status add_from_json(const nlohmann::json& json, int depth);
  Status add_split(const std::string& pattern, bool literal, SplitBehavior behavior, bool invert);

  std::vector<Step> steps_;
  bool has_byte_level_ = false;
};

}  // namespace kaiyuan
