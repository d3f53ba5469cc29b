// UTF-8 decoding/encoding for the tokenizers, and the repair of invalid UTF-8.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace kaiyuan::utf8 {

constexpr uint32_t kReplacementChar = 0xFFFD;

// Decodes the well-formed UTF-8 sequence at `pos` (Unicode Table 3-7: no overlongs, no surrogates,
// nothing above U+10FFFF). Returns its length (1..4), or 0 when the bytes there are ill-formed.
size_t decode(std::string_view text, size_t pos, uint32_t* cp);
void append(std::string& out, uint32_t cp);
bool is_valid(std::string_view text);

// Replaces each maximal ill-formed subpart with U+FFFD (Unicode 15 §3.9 "U+FFFD substitution of
// maximal subparts", the convention of Python's bytes.decode(errors="replace") and Rust's
// String::from_utf8_lossy). Valid text is returned unchanged.
std::string sanitize(std::string_view text);

// Rust char::is_whitespace: the Unicode White_Space property.
bool is_whitespace(uint32_t cp);

}  // namespace kaiyuan::utf8
