// Parsing helpers shared by the subcommands.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/status.h"

namespace kaiyuan::cli {

// "1,2,3" -> {1, 2, 3}; rejects empty items, non-numbers and values outside int32.
Result<std::vector<int32_t>> parse_id_list(const std::string& text);

// JSON string escaping for one-line outputs (valid UTF-8 passes through; invalid bytes -> U+FFFD).
std::string json_string(const std::string& s);

}  // namespace kaiyuan::cli
