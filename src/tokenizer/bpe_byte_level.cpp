// bytes_to_unicode from openai/gpt-2 src/encoder.py: printable Latin-1 bytes map to themselves, the
// other 68 bytes to U+0100.. in byte order.
#include "tokenizer/bpe_byte_level.h"

#include <array>
#include <cstdint>

#include "tokenizer/unicode_utf8.h"

namespace kaiyuan::byte_level {

namespace {

struct Tables {
  std::array<std::string, 256> char_for_byte;
  std::array<int16_t, 324> byte_for_cp;  // code points used are < 256 + 68
  Tables() {
    byte_for_cp.fill(-1);
    int next = 0;
    for (int b = 0; b < 256; ++b) {
      const bool printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
      const uint32_t cp = printable ? static_cast<uint32_t>(b) : 256 + next++;
      utf8::append(char_for_byte[b], cp);
      byte_for_cp[cp] = static_cast<int16_t>(b);
    }
  }
};

const Tables& tables() {
  static const Tables kTables;
  return kTables;
}

}  // namespace

const std::string& char_for_byte(uint8_t byte) { return tables().char_for_byte[byte]; }

std::optional<std::string> unmap(std::string_view mapped) {
  const Tables& t = tables();
  std::string out;
  out.reserve(mapped.size());
  for (size_t pos = 0; pos < mapped.size();) {
    uint32_t cp;
    const size_t n = utf8::decode(mapped, pos, &cp);
    if (n == 0 || cp >= t.byte_for_cp.size() || t.byte_for_cp[cp] < 0) return std::nullopt;
    out += static_cast<char>(t.byte_for_cp[cp]);
    pos += n;
  }
  return out;
}

std::string map(std::string_view bytes) {
  std::string out;
  out.reserve(bytes.size() * 2);
  for (char c : bytes) out += char_for_byte(static_cast<uint8_t>(c));
  return out;
}

}  // namespace kaiyuan::byte_level
