// UTF-8 decoding with the well-formedness rules of Unicode Table 3-7, and lossy repair.
#include "tokenizer/unicode_utf8.h"

namespace kaiyuan::utf8 {

namespace {

// Length of the longest prefix at `pos` that could start a well-formed sequence (a maximal subpart
// when the sequence is cut short), and whether the whole sequence is well-formed.
size_t scan(std::string_view text, size_t pos, uint32_t* cp, bool* ok) {
  const auto byte = [&](size_t i) { return static_cast<uint8_t>(text[i]); };
  const uint8_t b0 = byte(pos);
  *ok = false;
  if (b0 < 0x80) {
    *cp = b0;
    *ok = true;
    return 1;
  }
  size_t need;
  uint8_t lo = 0x80, hi = 0xBF;  // allowed range of the second byte (Table 3-7)
  uint32_t value;
  if (b0 >= 0xC2 && b0 <= 0xDF) {
    need = 1, value = b0 & 0x1F;
  } else if (b0 >= 0xE0 && b0 <= 0xEF) {
    need = 2, value = b0 & 0x0F;
    if (b0 == 0xE0) lo = 0xA0;
    if (b0 == 0xED) hi = 0x9F;
  } else if (b0 >= 0xF0 && b0 <= 0xF4) {
    need = 3, value = b0 & 0x07;
    if (b0 == 0xF0) lo = 0x90;
    if (b0 == 0xF4) hi = 0x8F;
  } else {
    return 1;
  }
  size_t i = 1;
  for (; i <= need; ++i) {
    if (pos + i >= text.size()) return i;
    const uint8_t b = byte(pos + i);
    const uint8_t min = i == 1 ? lo : 0x80;
    const uint8_t max = i == 1 ? hi : 0xBF;
    if (b < min || b > max) return i;
    value = (value << 6) | (b & 0x3F);
  }
  *cp = value;
  *ok = true;
  return i;
}

}  // namespace

size_t decode(std::string_view text, size_t pos, uint32_t* cp) {
  if (pos >= text.size()) return 0;
  bool ok;
  const size_t n = scan(text, pos, cp, &ok);
  return ok ? n : 0;
}

void append(std::string& out, uint32_t cp) {
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xC0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xE0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (cp >> 18));
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  }
}

bool is_valid(std::string_view text) {
  for (size_t pos = 0; pos < text.size();) {
    uint32_t cp;
    const size_t n = decode(text, pos, &cp);
    if (n == 0) return false;
    pos += n;
  }
  return true;
}

std::string sanitize(std::string_view text) {
  if (is_valid(text)) return std::string(text);
  std::string out;
  out.reserve(text.size() + 8);
  for (size_t pos = 0; pos < text.size();) {
    uint32_t cp;
    bool ok;
    const size_t n = scan(text, pos, &cp, &ok);
    if (ok) {
      out.append(text.substr(pos, n));
    } else {
      append(out, kReplacementChar);
    }
    pos += n;
  }
  return out;
}

bool is_whitespace(uint32_t cp) {
  // PropList.txt White_Space (unchanged since Unicode 6.3).
  switch (cp) {
    case 0x09: case 0x0A: case 0x0B: case 0x0C: case 0x0D: case 0x20: case 0x85: case 0xA0:
    case 0x1680: case 0x2028: case 0x2029: case 0x202F: case 0x205F: case 0x3000:
      return true;
    default:
      return cp >= 0x2000 && cp <= 0x200A;
  }
}

}  // namespace kaiyuan::utf8
