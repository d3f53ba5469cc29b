// Strict UTF-8 validation for GGUF keys and tensor names (RFC 3629: no overlong forms, no
// surrogates, nothing above U+10FFFF). Metadata string VALUES are kept as raw bytes: tokenizer
// vocabularies legitimately hold partial UTF-8 sequences (byte-level BPE pieces).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace kaiyuan {

// Byte offset of the first invalid sequence, or `s.size()` when the whole string is valid.
inline size_t first_invalid_utf8(std::string_view s) {
  const auto* p = reinterpret_cast<const uint8_t*>(s.data());
  const size_t n = s.size();
  size_t i = 0;
  while (i < n) {
    const uint8_t b = p[i];
    if (b < 0x80) {
      ++i;
      continue;
    }
    size_t len;
    uint32_t cp;
    if ((b & 0xE0) == 0xC0) {
      len = 2;
      cp = b & 0x1F;
    } else if ((b & 0xF0) == 0xE0) {
      len = 3;
      cp = b & 0x0F;
    } else if ((b & 0xF8) == 0xF0) {
      len = 4;
      cp = b & 0x07;
    } else {
      return i;  // a continuation byte or 0xF8..0xFF where a lead byte belongs
    }
    if (n - i < len) return i;
    for (size_t k = 1; k < len; ++k) {
      if ((p[i + k] & 0xC0) != 0x80) return i;
      cp = (cp << 6) | (p[i + k] & 0x3F);
    }
    static constexpr uint32_t kMinForLength[5] = {0, 0, 0x80, 0x800, 0x10000};
    if (cp < kMinForLength[len] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return i;
    i += len;
  }
  return n;
}

inline bool is_valid_utf8(std::string_view s) { return first_invalid_utf8(s) == s.size(); }

}  // namespace kaiyuan
