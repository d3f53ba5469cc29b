#include "server/api_error.h"

namespace kaiyuan::server {

nlohmann::json ApiError::to_json() const {
  nlohmann::json e = {{"message", message}, {"type", type}, {"param", nullptr}, {"code", nullptr}};
  if (!param.empty()) e["param"] = param;
  if (!code.empty()) e["code"] = code;
  return {{"error", e}};
}

ApiError invalid_param(const std::string& param, const std::string& message) {
  return ApiError{400, message, "invalid_request_error", param, ""};
}

ApiError unauthorized() {
  return ApiError{401, "Incorrect or missing API key: send it as 'Authorization: Bearer <key>'",
                  "invalid_request_error", "", "invalid_api_key"};
}

ApiError not_found(const std::string& message, const std::string& code) {
  return ApiError{404, message, "invalid_request_error", "", code};
}

ApiError server_busy(const std::string& message) { return ApiError{503, message, "server_error", "", "server_busy"}; }

ApiError server_error(const std::string& message) { return ApiError{500, message, "server_error", "", ""}; }

}  // namespace kaiyuan::server
