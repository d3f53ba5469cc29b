// Server-Sent Events framing as OpenAI streams it: each event is "data: <one-line JSON>\n\n" and the
// stream ends with "data: [DONE]\n\n" (https://html.spec.whatwg.org/multipage/server-sent-events.html).
#pragma once

#include <string>

#include <nlohmann/json.hpp>

namespace kaiyuan::server {

// JSON is dumped on one line (no raw newlines can appear); invalid UTF-8 becomes U+FFFD.
std::string sse_event(const nlohmann::json& data);
inline std::string sse_done() { return "data: [DONE]\n\n"; }

// Compact JSON, invalid UTF-8 replaced (never throws).
std::string dump_json(const nlohmann::json& j);

}  // namespace kaiyuan::server
