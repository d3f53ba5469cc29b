// The OpenAI-compatible HTTP front end: routes, API-key check, limits, access log. Handler threads
// only parse requests, submit them to the Engine and relay its events (as JSON or SSE).
#pragma once

#include <chrono>
#include <memory>
#include <string>

#include "core/status.h"
#include "runtime/engine.h"
#include "server/chat_prompt.h"

namespace kaiyuan::server {

struct ServerOptions {
  std::string host = "127.0.0.1";  // loopback unless asked otherwise
  int port = 8080;                 // 0: any free port (see HttpServer::port())
  std::string api_key;             // empty: no key required
  std::string model_id;            // the name /v1/models lists and requests must use
  ChatPromptTemplate chat_template;
  size_t max_body_bytes = 8u << 20;
  int read_timeout_s = 30;   // a client that sends nothing for this long is dropped
  int write_timeout_s = 30;  // a client that reads nothing for this long is dropped
  int keep_alive_timeout_s = 5;
  // A client must deliver one request, headers and body, within this long (0: no limit), with at
  // most max_header_bytes of headers; see server/request_deadlines.h.
  int request_timeout_s = 30;
  size_t max_header_bytes = 64u << 10;
  int http_threads = 0;      // 0: slots + queue + a few for /health and /metrics
  bool access_log = true;    // one JSON line per request on stderr
  std::string forced_output;  // test hook: every request generates exactly this text
};

class HttpServer {
 public:
  HttpServer(Engine& engine, ServerOptions options);
  ~HttpServer();
  // Binds the listening socket (so the port is known before serving).
  Status bind();
  int port() const;
  // Serves until stop(); returns after in-flight requests are answered.
  Status listen();
  // Stops accepting connections (safe from any thread).
  void stop();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// The OpenAPI 3.1 description of the API served at GET /openapi.json.
const std::string& openapi_document();

}  // namespace kaiyuan::server
