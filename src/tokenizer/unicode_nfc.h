// Unicode canonical normalization forms NFC and NFD (UAX #15) over valid UTF-8.
#pragma once

#include <string>
#include <string_view>

namespace kaiyuan::unicode {

// `text` must be valid UTF-8 (callers sanitize first).
std::string to_nfc(std::string_view text);
std::string to_nfd(std::string_view text);

}  // namespace kaiyuan::unicode
