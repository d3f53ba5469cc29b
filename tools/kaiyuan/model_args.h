// Parsing helpers shared by the subcommands.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "core/status.h"
#include "model/kv_cache.h"

namespace kaiyuan::cli {

// "1,2,3" -> {1, 2, 3}; rejects empty items, non-numbers and values outside int32.
Result<std::vector<int32_t>> parse_id_list(const std::string& text);

// --cache-type for the commands that hold a KV cache: "f32" (default: exact) or "f16" (half the
// memory and the bytes attention reads, as llama.cpp's default cache).
void add_cache_type_option(CLI::App& sub, std::string& value);
KvType cache_type_of(const std::string& value);  // value already checked by the option

// JSON string escaping for one-line outputs (valid UTF-8 passes through; invalid bytes -> U+FFFD).
std::string json_string(const std::string& s);

}  // namespace kaiyuan::cli
