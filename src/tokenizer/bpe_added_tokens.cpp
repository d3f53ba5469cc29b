// Added-token splitting after HF tokenizers added_vocabulary.rs `split_with_indices`.
#include "tokenizer/bpe_added_tokens.h"

#include <algorithm>

#include "tokenizer/unicode_utf8.h"

namespace kaiyuan {

namespace {

// Start of the character that ends at `end` (valid UTF-8).
size_t previous_char_start(std::string_view text, size_t end) {
  size_t start = end - 1;
  while (start > 0 && (static_cast<uint8_t>(text[start]) & 0xC0) == 0x80) --start;
  return start;
}

}  // namespace

Result<AddedTokenMatcher> AddedTokenMatcher::build(std::vector<AddedToken> tokens, std::vector<std::string> patterns) {
  AddedTokenMatcher matcher;
  // Rust char::is_alphanumeric (Alphabetic or Numeric), approximated by letters and numbers.
  KY_ASSIGN_OR_RETURN(matcher.word_char_, Regex::compile("\\A[\\p{L}\\p{N}]"));
  for (size_t i = 0; i < tokens.size(); ++i) {
    if (patterns[i].empty()) continue;
    matcher.tokens_.push_back(std::move(tokens[i]));
    matcher.patterns_.push_back(std::move(patterns[i]));
  }
  for (uint32_t i = 0; i < matcher.patterns_.size(); ++i) {
    matcher.by_first_byte_[static_cast<uint8_t>(matcher.patterns_[i][0])].push_back(i);
  }
  for (auto& list : matcher.by_first_byte_) {
    std::stable_sort(list.begin(), list.end(), [&](uint32_t a, uint32_t b) {
      return matcher.patterns_[a].size() > matcher.patterns_[b].size();
    });
  }
  return matcher;
}

std::vector<AddedTokenMatcher::Segment> AddedTokenMatcher::split(std::string_view text, bool parse_special) const {
  std::vector<Segment> segments;
  const auto is_word_char_at = [&](size_t pos) {
    uint32_t cp;
    const size_t n = utf8::decode(text, pos, &cp);
    return n != 0 && !word_char_->find_all(text.substr(pos, n)).empty();
  };
  size_t emitted = 0;  // end of the last segment
  size_t pos = 0;
  while (pos < text.size()) {
    // Leftmost-longest: the first position where any token matches, its longest token there.
    int best = -1;
    for (uint32_t index : by_first_byte_[static_cast<uint8_t>(text[pos])]) {
      if (text.compare(pos, patterns_[index].size(), patterns_[index]) == 0) {
        best = static_cast<int>(index);
        break;
      }
    }
    if (best < 0) {
      ++pos;
      continue;
    }
    const AddedToken& token = tokens_[best];
    size_t start = pos;
    size_t stop = pos + patterns_[best].size();
    pos = stop;  // matches never overlap, even when this one is then ignored
    if (token.special && !parse_special) continue;
    if (token.single_word) {
      const bool word_before = start > 0 && is_word_char_at(previous_char_start(text, start));
      const bool word_after = stop < text.size() && is_word_char_at(stop);
      if (word_before || word_after) continue;
    }
    if (token.lstrip) {
      while (start > emitted) {
        const size_t prev = previous_char_start(text, start);
        uint32_t cp;
        if (utf8::decode(text, prev, &cp) == 0 || !utf8::is_whitespace(cp)) break;
        start = prev;
      }
    }
    if (token.rstrip) {
      while (stop < text.size()) {
        uint32_t cp;
        const size_t n = utf8::decode(text, stop, &cp);
        if (n == 0 || !utf8::is_whitespace(cp)) break;
        stop += n;
      }
      pos = stop;
    }
    if (start > emitted) segments.push_back({emitted, start, -1});
    segments.push_back({start, stop, token.id});
    emitted = stop;
  }
  if (emitted < text.size()) segments.push_back({emitted, text.size(), -1});
  return segments;
}

}  // namespace kaiyuan
