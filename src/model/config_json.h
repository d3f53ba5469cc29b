// Typed reads of config.json keys for the spec parsers (model/spec.cpp, model/mla_spec.cpp).
// Absent or null -> the fallback (or an error naming the key when there is none); present with the
// wrong type -> an error naming the key. Never nlohmann::json::value(), which throws on a type
// mismatch: config files are untrusted input (fuzz/fuzz_hf_config found three such throws).
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "core/status.h"

namespace kaiyuan {

Result<int64_t> json_int(const nlohmann::json& j, const char* key, std::optional<int64_t> fallback);
Result<double> json_float(const nlohmann::json& j, const char* key, double fallback);
Result<std::string> json_string(const nlohmann::json& j, const char* key, const std::string& fallback);
Result<bool> json_bool(const nlohmann::json& j, const char* key, bool fallback);

}  // namespace kaiyuan
