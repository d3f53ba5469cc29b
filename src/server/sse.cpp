#include "server/sse.h"

namespace kaiyuan::server {

std::string dump_json(const nlohmann::json& j) {
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

std::string sse_event(const nlohmann::json& data) { return "data: " + dump_json(data) + "\n\n"; }

}  // namespace kaiyuan::server
