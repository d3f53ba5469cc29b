#include "model/config_json.h"

namespace kaiyuan {
namespace {

Status wrong_type(const char* key, const char* what) {
  return Error(std::string("config.json: \"") + key + "\" must be " + what);
}

}  // namespace

Result<int64_t> json_int(const nlohmann::json& j, const char* key, std::optional<int64_t> fallback) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) {
    if (fallback) return *fallback;
    return Error(std::string("config.json: missing \"") + key + "\"");
  }
  if (!it->is_number_integer()) return wrong_type(key, "an integer");
  return it->get<int64_t>();
}

Result<double> json_float(const nlohmann::json& j, const char* key, double fallback) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return fallback;
  if (!it->is_number()) return wrong_type(key, "a number");
  return it->get<double>();
}

Result<std::string> json_string(const nlohmann::json& j, const char* key, const std::string& fallback) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return fallback;
  if (!it->is_string()) return wrong_type(key, "a string");
  return it->get<std::string>();
}

Result<bool> json_bool(const nlohmann::json& j, const char* key, bool fallback) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return fallback;
  if (!it->is_boolean()) return wrong_type(key, "true or false");
  return it->get<bool>();
}

}  // namespace kaiyuan
