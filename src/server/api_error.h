// OpenAI-shaped errors: {"error": {"message", "type", "param", "code"}} with an HTTP status
// (https://platform.openai.com/docs/guides/error-codes).
#pragma once

#include <string>

#include <nlohmann/json.hpp>

namespace kaiyuan::server {

struct ApiError {
  int status = 400;
  std::string message;
  std::string type = "invalid_request_error";
  std::string param;  // empty: null
  std::string code;   // empty: null

  nlohmann::json to_json() const;
};

ApiError invalid_param(const std::string& param, const std::string& message);
ApiError unauthorized();
ApiError not_found(const std::string& message, const std::string& code);
ApiError server_busy(const std::string& message);
ApiError server_error(const std::string& message);

}  // namespace kaiyuan::server
