#include "model_args.h"

#include <nlohmann/json.hpp>

namespace kaiyuan::cli {

Result<std::vector<int32_t>> parse_id_list(const std::string& text) {
  std::vector<int32_t> ids;
  size_t start = 0;
  while (start <= text.size()) {
    size_t end = text.find(',', start);
    if (end == std::string::npos) end = text.size();
    std::string item = text.substr(start, end - start);
    while (!item.empty() && item.front() == ' ') item.erase(item.begin());
    while (!item.empty() && item.back() == ' ') item.pop_back();
    if (item.empty() || item.find_first_not_of("0123456789") != std::string::npos || item.size() > 10)
      return Error("token id list \"" + text + "\": \"" + item + "\" is not a non-negative integer");
    const long long v = std::stoll(item);
    if (v > INT32_MAX) return Error("token id " + item + " is too large");
    ids.push_back(static_cast<int32_t>(v));
    start = end + 1;
  }
  return ids;
}

std::string json_string(const std::string& s) {
  return nlohmann::json(s).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

void add_cache_type_option(CLI::App& sub, std::string& value) {
  sub.add_option("--cache-type", value, "KV cache element type: f32 (exact) or f16 (half the memory)")
      ->check(CLI::IsMember({"f32", "f16"}));
}

KvType cache_type_of(const std::string& value) { return parse_kv_type(value).value_or(KvType::kF32); }

}  // namespace kaiyuan::cli
