// Added tokens ("added_tokens" in tokenizer.json, control/user-defined tokens in GGUF): found in
// the text before normal tokenization, as HF tokenizers' AddedVocabulary (added_vocabulary.rs).
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "tokenizer/pretokenizer.h"

namespace kaiyuan {

struct AddedToken {
  int32_t id = -1;
  std::string content;
  bool special = false;      // skipped by decode(skip_special); not matched when parse_special is off
  bool lstrip = false;       // swallows whitespace on its left
  bool rstrip = false;       // swallows whitespace on its right
  bool normalized = false;   // matched in normalized text rather than the raw input
  bool single_word = false;  // only matched when not inside a word
};

// Leftmost-longest matching of a set of token strings (the aho-corasick MatchKind::LeftmostLongest
// HF uses), non-overlapping, left to right.
class AddedTokenMatcher {
 public:
  struct Segment {
    size_t start;
    size_t end;
    int32_t id;  // -1: ordinary text
  };
  // `patterns[i]` is the text matched for `tokens[i]` (its content, normalized when needed).
  static Result<AddedTokenMatcher> build(std::vector<AddedToken> tokens, std::vector<std::string> patterns);

  bool empty() const { return tokens_.empty(); }
  // Splits `text` into token and text segments covering it in order (empty text segments omitted).
  std::vector<Segment> split(std::string_view text, bool parse_special) const;

 private:
  std::vector<AddedToken> tokens_;
  std::vector<std::string> patterns_;
  std::array<std::vector<uint32_t>, 256> by_first_byte_;  // indices, longest pattern first
  std::shared_ptr<const Regex> word_char_;                 // single_word boundary test
};

}  // namespace kaiyuan
