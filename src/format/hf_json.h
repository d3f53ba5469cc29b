// JSON parsing for untrusted Hugging Face files (config.json, safetensors headers, index files):
// errors come back as a Status naming the file and byte position, never as an exception.
#pragma once

#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "core/status.h"

namespace kaiyuan {

// Parses `text`; `label` (usually the file path) prefixes every error. Nesting deeper than
// `max_depth` is rejected before parsing, so hostile input ("[[[[...") cannot exhaust the stack.
Result<nlohmann::json> parse_json_text(std::string_view text, const std::string& label, int max_depth);

// Reads and parses a JSON file that must hold an object (config.json and friends).
Result<nlohmann::json> read_json_object_file(const std::string& path);

}  // namespace kaiyuan
