// StreamingDecoder and the UTF-8 helpers it shares with the tokenizers. Text is produced by the
// tokenizer's own decode() over a short window of recent ids, so whole-sequence rules (SPM's
// leading space, byte-fallback sequences) come out exactly as decode() of everything would give.
#include <algorithm>

#include "tokenizer/tokenizer.h"

namespace kaiyuan {
namespace {

// How many tokens the decode window may grow before the anchor moves up.
constexpr size_t kMaxWindow = 16;

bool is_continuation(uint8_t b) { return (b & 0xC0) == 0x80; }

// Expected length of a character starting with `lead`, and the allowed range of its second byte
// (Unicode Table 3-7 "Well-Formed UTF-8 Byte Sequences": no overlongs, surrogates or > U+10FFFF).
struct LeadInfo {
  size_t length = 0;  // 0: not a valid lead byte
  uint8_t second_min = 0x80;
  uint8_t second_max = 0xBF;
};

LeadInfo lead_info(uint8_t b) {
  if (b < 0x80) return {1};
  if (b >= 0xC2 && b <= 0xDF) return {2};
  if (b == 0xE0) return {3, 0xA0, 0xBF};
  if (b == 0xED) return {3, 0x80, 0x9F};
  if (b >= 0xE1 && b <= 0xEF) return {3};
  if (b == 0xF0) return {4, 0x90, 0xBF};
  if (b >= 0xF1 && b <= 0xF3) return {4};
  if (b == 0xF4) return {4, 0x80, 0x8F};
  return {};
}

// Bytes s[i + 1 .. i + count) continue the character led by `info`.
bool continues(std::string_view s, size_t i, size_t count, const LeadInfo& info) {
  for (size_t k = 1; k < count; ++k) {
    const auto b = static_cast<uint8_t>(s[i + k]);
    if (k == 1 ? (b < info.second_min || b > info.second_max) : !is_continuation(b)) return false;
  }
  return true;
}

// Length of the well-formed character at s[i], or 0.
size_t valid_char_at(std::string_view s, size_t i) {
  const LeadInfo info = lead_info(static_cast<uint8_t>(s[i]));
  if (info.length == 0 || info.length > s.size() - i) return 0;
  return continues(s, i, info.length, info) ? info.length : 0;
}

}  // namespace

std::string sanitize_utf8(std::string_view bytes) {
  std::string out;
  out.reserve(bytes.size());
  for (size_t i = 0; i < bytes.size();) {
    const size_t n = valid_char_at(bytes, i);
    if (n == 0) {
      out += "\xEF\xBF\xBD";  // U+FFFD REPLACEMENT CHARACTER
      ++i;
    } else {
      out.append(bytes.substr(i, n));
      i += n;
    }
  }
  return out;
}

size_t incomplete_utf8_tail(std::string_view bytes) {
  for (size_t k = 1; k <= 3 && k <= bytes.size(); ++k) {
    const size_t start = bytes.size() - k;
    const auto b = static_cast<uint8_t>(bytes[start]);
    if (is_continuation(b)) continue;
    const LeadInfo info = lead_info(b);
    if (info.length <= k) return 0;  // complete, or not a lead byte at all
    return continues(bytes, start, k, info) ? k : 0;
  }
  return 0;
}

StreamingDecoder::StreamingDecoder(const Tokenizer& tokenizer, bool skip_special)
    : tokenizer_(tokenizer), skip_special_(skip_special) {}

std::string StreamingDecoder::raw_bytes(size_t begin, size_t end) const {
  std::string out;
  for (size_t i = begin; i < end; ++i) {
    const int32_t id = ids_[i];
    if (id < 0 || id >= tokenizer_.n_vocab()) continue;  // decode() skips these too
    if (skip_special_ && tokenizer_.is_special(id)) continue;
    out += tokenizer_.token_bytes(id);
  }
  return out;
}

void StreamingDecoder::prime(std::span<const int32_t> ids) {
  ids_.insert(ids_.end(), ids.begin(), ids.end());
  // Everything primed counts as on screen, except a trailing partial character: the token that
  // completes it emits the whole character.
  size_t end = ids_.size();
  while (end > committed_ && incomplete_utf8_tail(raw_bytes(committed_, end)) > 0) --end;
  committed_ = end;
  const std::span<const int32_t> window(ids_.data() + anchor_, committed_ - anchor_);
  base_ = tokenizer_.decode(window, skip_special_);
  move_anchor();
}

std::string StreamingDecoder::push(int32_t id) {
  ids_.push_back(id);
  if (incomplete_utf8_tail(raw_bytes(committed_, ids_.size())) > 0) return {};
  return flush();
}

std::string StreamingDecoder::flush() {
  if (committed_ == ids_.size()) return {};
  const std::span<const int32_t> window(ids_.data() + anchor_, ids_.size() - anchor_);
  std::string text = tokenizer_.decode(window, skip_special_);
  // decode() is prefix-stable at character boundaries for our tokenizers (base_ is a prefix of
  // text); should one ever rewrite earlier text, only what extends past the old length comes out.
  std::string delta = text.size() > base_.size() ? text.substr(base_.size()) : std::string();
  committed_ = ids_.size();
  base_ = std::move(text);
  move_anchor();
  return sanitize_utf8(delta);
}

void StreamingDecoder::move_anchor() {
  if (committed_ - anchor_ <= kMaxWindow) return;
  // The newest committed token whose own text is whole characters and non-empty when decoded
  // alone: decoding from it treats it as the first piece, and it is the first piece with text in
  // the full sequence's view of the window too.
  for (size_t j = committed_ - 1; j > anchor_; --j) {
    const int32_t id = ids_[j];
    if (id < 0 || id >= tokenizer_.n_vocab()) continue;
    if (skip_special_ && tokenizer_.is_special(id)) continue;
    const std::string bytes = tokenizer_.token_bytes(id);
    if (bytes.empty() || sanitize_utf8(bytes) != bytes) continue;
    const int32_t one[1] = {id};
    if (tokenizer_.decode(one, skip_special_).empty()) continue;
    anchor_ = j;
    base_ = tokenizer_.decode(std::span<const int32_t>(ids_.data() + anchor_, committed_ - anchor_), skip_special_);
    return;
  }
}

}  // namespace kaiyuan
