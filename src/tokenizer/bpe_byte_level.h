// GPT-2's byte <-> printable-character mapping ("bytes_to_unicode" in openai/gpt-2 encoder.py, the
// ByteLevel pre-tokenizer/decoder of HF tokenizers): every byte gets a visible code point, so a
// byte-level vocab is stored as text ("Ġthe" = " the").
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace kaiyuan::byte_level {

// The UTF-8 of the character that stands for `byte`.
const std::string& char_for_byte(uint8_t byte);
// Raw bytes of a mapped string, or nullopt when a character is not one of the 256 mapped ones
// (e.g. an added token such as "<｜begin▁of▁sentence｜>").
std::optional<std::string> unmap(std::string_view mapped);
std::string map(std::string_view bytes);

}  // namespace kaiyuan::byte_level
