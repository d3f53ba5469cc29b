#include "server/http_server.h"

#include <httplib.h>

#include <cstdio>
#include <cmath>
#include <ctime>
#include <random>

#include "server/api_error.h"
#include "server/completion_job.h"
#include "server/metrics.h"
#include "server/openai_request.h"
#include "server/request_deadlines.h"
#include "server/sse.h"

namespace kaiyuan::server {
namespace {

using nlohmann::json;
using Clock = std::chrono::steady_clock;

// How long a non-streaming handler waits for the answer before committing to a chunked 200
// response, whose leading whitespace (valid JSON) then probes the connection so a client that
// went away cancels its request.
constexpr auto kDirectAnswerWait = std::chrono::milliseconds(500);
constexpr auto kHeartbeat = std::chrono::milliseconds(1000);
constexpr auto kPoll = std::chrono::milliseconds(50);

void send_error(httplib::Response& res, const ApiError& e) {
  res.status = e.status;
  if (e.status == 503) res.set_header("Retry-After", "1");
  res.set_content(dump_json(e.to_json()), "application/json");
}

bool constant_time_equal(const std::string& a, const std::string& b) {
  unsigned char diff = a.size() == b.size() ? 0 : 1;
  for (size_t i = 0; i < a.size(); ++i) diff |= static_cast<unsigned char>(a[i] ^ (i < b.size() ? b[i] : 0));
  return diff == 0;
}

thread_local Clock::time_point t_request_start;

// The metrics label of a request: its route, never the client's path, so that clients can neither
// grow the label set without bound nor write quotes into the exposition format.
std::string route_label(const httplib::Request& req) {
  if (req.matches.empty()) return "other";
  if (req.path.rfind("/v1/models/", 0) == 0) return "/v1/models/{model}";
  return req.path;
}

}  // namespace

struct HttpServer::Impl {
  Engine& engine;
  ServerOptions options;
  httplib::Server http;
  Metrics metrics;
  int port = -1;
  std::mutex log_mutex;
  std::unique_ptr<RequestDeadlines> deadlines;  // created in listen(), once the port is known
  std::mutex stop_mutex;                        // orders stop() against creating `deadlines`
  bool stopping = false;

  Impl(Engine& e, ServerOptions o) : engine(e), options(std::move(o)) {}

  void setup();
  void handle_generation(const httplib::Request& req, httplib::Response& res, bool chat);
  std::optional<ApiError> submit_all(OpenAiRequest& r, std::shared_ptr<CompletionJob>& job);
  void access_log(const httplib::Request& req, const httplib::Response& res);
  void record(const CompletionJob& job) {
    metrics.count_tokens(job.prompt_tokens(), job.completion_tokens());
    if (job.seconds_to_first_token() >= 0) metrics.observe_time_to_first_token(job.seconds_to_first_token());
    const double gen_s = job.seconds_total() - std::max(0.0, job.seconds_to_first_token());
    if (job.completion_tokens() > 1 && gen_s > 0) metrics.observe_tokens_per_second(job.completion_tokens() / gen_s);
  }
};

HttpServer::HttpServer(Engine& engine, ServerOptions options) : impl_(std::make_unique<Impl>(engine, std::move(options))) {
  impl_->setup();
}
HttpServer::~HttpServer() = default;

Status HttpServer::bind() {
  if (impl_->options.port == 0) {
    impl_->port = impl_->http.bind_to_any_port(impl_->options.host);
  } else {
    impl_->port = impl_->http.bind_to_port(impl_->options.host, impl_->options.port) ? impl_->options.port : -1;
  }
  if (impl_->port < 0)
    return Error("cannot listen on " + impl_->options.host + ":" + std::to_string(impl_->options.port) +
                 " (address in use or not available?)");
  return Status::ok();
}

int HttpServer::port() const { return impl_->port; }

Status HttpServer::listen() {
  Impl& im = *impl_;
  if (im.options.request_timeout_s > 0 && im.port > 0) {
    RequestDeadlines::Limits limits;
    limits.deadline = std::chrono::seconds(im.options.request_timeout_s);
    limits.max_header_bytes = im.options.max_header_bytes;
    auto deadlines = std::make_unique<RequestDeadlines>(im.port, limits, [&im](const std::string& peer, const std::string& why) {
      if (!im.options.access_log) return;
      const std::string text = dump_json({{"time", static_cast<int64_t>(std::time(nullptr))},
                                          {"remote", peer},
                                          {"event", "connection closed"},
                                          {"reason", why}}) + "\n";
      std::lock_guard<std::mutex> lock(im.log_mutex);
      std::fwrite(text.data(), 1, text.size(), stderr);
    });
    std::lock_guard<std::mutex> lock(im.stop_mutex);
    im.deadlines = std::move(deadlines);
    if (im.stopping) im.deadlines->close_idle_from_now();
    im.deadlines->start();
  }
  const bool ok = im.http.listen_after_bind();
  if (im.deadlines) im.deadlines->stop();
  if (!ok) return Error("the HTTP server stopped with an error");
  return Status::ok();
}

void HttpServer::stop() {
  Impl& im = *impl_;
  im.http.stop();
  // The library then waits for every connection's thread, and one idle on keep-alive returns only
  // at its keep-alive timeout (5 s): close those at once (RequestDeadlines knows which they are).
  std::lock_guard<std::mutex> lock(im.stop_mutex);
  im.stopping = true;
  if (im.deadlines) im.deadlines->close_idle_from_now();
}

void HttpServer::Impl::setup() {
  const EngineStats st = engine.stats();
  const int threads = options.http_threads > 0 ? options.http_threads : st.n_parallel * 2 + 64 + 4;
  http.new_task_queue = [threads] { return new httplib::ThreadPool(static_cast<size_t>(threads)); };
  http.set_payload_max_length(options.max_body_bytes);
  http.set_read_timeout(options.read_timeout_s, 0);
  http.set_write_timeout(options.write_timeout_s, 0);
  http.set_keep_alive_timeout(options.keep_alive_timeout_s);
  // Streams send one small chunk per token: without TCP_NODELAY, Nagle's algorithm holds each chunk
  // until the client's delayed ACK (~40 ms), capping a stream near 25 tokens/s whatever the model.
  http.set_tcp_nodelay(true);

  http.set_pre_routing_handler([this](const httplib::Request& req, httplib::Response& res) {
    t_request_start = Clock::now();
    if (deadlines) {
      // The methods whose body cpp-httplib reads after this handler (detail::expect_content).
      const bool body_follows = req.method == "POST" || req.method == "PUT" || req.method == "PATCH" ||
                                req.method == "DELETE" || req.method == "PRI";
      deadlines->headers_received(req.remote_addr, req.remote_port, body_follows);
    }
    if (options.api_key.empty() || req.path == "/health") return httplib::Server::HandlerResponse::Unhandled;
    const std::string header = req.get_header_value("Authorization");
    const std::string prefix = "Bearer ";
    const bool ok = header.compare(0, prefix.size(), prefix) == 0 &&
                    constant_time_equal(header.substr(prefix.size()), options.api_key);
    if (ok) return httplib::Server::HandlerResponse::Unhandled;
    send_error(res, unauthorized());
    return httplib::Server::HandlerResponse::Handled;
  });
  http.set_error_handler([](const httplib::Request& req, httplib::Response& res) {
    if (!res.body.empty()) return;
    if (res.status == 413) {
      send_error(res, ApiError{413, "the request body is too large", "invalid_request_error", "", "request_too_large"});
    } else if (res.status == 404) {
      send_error(res, not_found("no route " + req.method + " " + req.path, "unknown_url"));
    } else {
      send_error(res, ApiError{res.status, "HTTP error " + std::to_string(res.status), "invalid_request_error", "", ""});
    }
  });
  http.set_exception_handler([](const httplib::Request&, httplib::Response& res, std::exception_ptr ep) {
    std::string what = "internal error";
    try {
      if (ep) std::rethrow_exception(ep);
    } catch (const std::exception& e) {
      what += std::string(": ") + e.what();
    } catch (...) {
    }
    send_error(res, server_error(what));
  });
  http.set_logger([this](const httplib::Request& req, const httplib::Response& res) {
    if (deadlines) deadlines->request_answered(req.remote_addr, req.remote_port);
    metrics.count_request(route_label(req), res.status);
    if (options.access_log) access_log(req, res);
  });

  http.Get("/health", [this](const httplib::Request&, httplib::Response& res) {
    const EngineStats s = engine.stats();
    res.set_content(dump_json({{"status", "ok"}, {"slots", s.n_parallel}, {"active", s.active}, {"queued", s.queued}}),
                    "application/json");
  });
  http.Get("/v1/models", [this](const httplib::Request&, httplib::Response& res) {
    json model = {{"id", options.model_id}, {"object", "model"}, {"created", 0}, {"owned_by", "kaiyuan"}};
    res.set_content(dump_json({{"object", "list"}, {"data", json::array({model})}}), "application/json");
  });
  http.Get(R"(/v1/models/(.+))", [this](const httplib::Request& req, httplib::Response& res) {
    if (req.matches[1] != options.model_id)
      return send_error(res, not_found("the model '" + std::string(req.matches[1]) + "' does not exist", "model_not_found"));
    res.set_content(dump_json({{"id", options.model_id}, {"object", "model"}, {"created", 0}, {"owned_by", "kaiyuan"}}),
                    "application/json");
  });
  http.Get("/metrics", [this](const httplib::Request&, httplib::Response& res) {
    res.set_content(metrics.render(engine.stats()), "text/plain; version=0.0.4");
  });
  http.Get("/openapi.json", [](const httplib::Request&, httplib::Response& res) {
    res.set_content(openapi_document(), "application/json");
  });
  http.Post("/v1/chat/completions", [this](const httplib::Request& req, httplib::Response& res) {
    handle_generation(req, res, true);
  });
  http.Post("/v1/completions", [this](const httplib::Request& req, httplib::Response& res) {
    handle_generation(req, res, false);
  });
}

void HttpServer::Impl::access_log(const httplib::Request& req, const httplib::Response& res) {
  const double ms = std::chrono::duration<double, std::milli>(Clock::now() - t_request_start).count();
  const json line = {{"time", static_cast<int64_t>(std::time(nullptr))},
                     {"remote", req.remote_addr},
                     {"method", req.method},
                     {"path", req.path},
                     {"status", res.status},
                     {"ms", std::round(ms * 10) / 10}};
  const std::string text = dump_json(line) + "\n";
  std::lock_guard<std::mutex> lock(log_mutex);
  std::fwrite(text.data(), 1, text.size(), stderr);
}

std::optional<ApiError> HttpServer::Impl::submit_all(OpenAiRequest& r, std::shared_ptr<CompletionJob>& job) {
  const Tokenizer& tok = engine.tokenizer();
  std::vector<std::vector<int32_t>> prompts;
  bool reasoning_open = false;
  EncodeOptions enc;
  enc.add_special = true;
  if (r.chat) {
    auto text = render_chat_prompt(options.chat_template, r.messages, r.tools, r.tool_choice);
    if (!text) return invalid_param("messages", text.status().message());
    reasoning_open = prompt_opens_reasoning(*text);
    // A template that writes the BOS itself must not get a second one from the tokenizer.
    const auto bos = options.chat_template.special_tokens.find("bos_token");
    if (bos != options.chat_template.special_tokens.end() && !bos->second.empty() && text->rfind(bos->second, 0) == 0)
      enc.add_special = false;
    prompts.push_back(tok.encode(*text, enc));
  } else {
    for (const PromptInput& p : r.prompts) prompts.push_back(p.is_ids ? p.ids : tok.encode(p.text, enc));
  }
  int64_t prompt_tokens = 0;
  for (const auto& p : prompts) {
    if (p.empty()) return invalid_param(r.chat ? "messages" : "prompt", "the prompt is empty");
    for (int32_t id : p)
      if (id >= engine.spec().n_vocab)
        return invalid_param("prompt", "token id " + std::to_string(id) + " is outside the vocabulary");
    const int64_t room = engine.n_ctx() - static_cast<int64_t>(p.size());
    if (room < 1)
      return ApiError{400, "the prompt has " + std::to_string(p.size()) + " tokens but the context holds " +
                               std::to_string(engine.n_ctx()) + ": shorten it",
                      "invalid_request_error", r.chat ? "messages" : "prompt", "context_length_exceeded"};
    if (r.max_tokens && *r.max_tokens > room)
      return ApiError{400, "max_tokens " + std::to_string(*r.max_tokens) + " plus the prompt's " +
                               std::to_string(p.size()) + " tokens exceed the context of " +
                               std::to_string(engine.n_ctx()) + " tokens: ask for at most " + std::to_string(room),
                      "invalid_request_error", "max_tokens", "context_length_exceeded"};
    prompt_tokens += static_cast<int64_t>(p.size());
  }
  job = std::make_shared<CompletionJob>(tok, r, options.model_id, prompt_tokens);
  // Models answer with tool calls in the shape their own template renders them.
  const ToolCallFormat tool_format = tool_call_format_for_template(options.chat_template.source);
  const uint64_t base_seed = r.seed ? *r.seed : std::random_device{}() * 0x9E3779B97F4A7C15ull + std::random_device{}();
  for (size_t p = 0; p < prompts.size(); ++p) {
    for (int i = 0; i < r.n; ++i) {
      GenerationRequest g;
      g.prompt_ids = prompts[p];
      g.max_new_tokens = r.max_tokens ? *r.max_tokens : static_cast<int32_t>(engine.n_ctx() - prompts[p].size());
      g.sampling = r.sampling;
      // Choice k of a seeded request uses seed + k: reproducible, yet the choices differ.
      g.sampling.seed = base_seed + p * static_cast<uint64_t>(r.n) + static_cast<uint64_t>(i);
      g.stop = r.stop;
      g.logit_bias = r.logit_bias;
      g.top_logprobs = r.logprobs ? r.top_logprobs : -1;
      if (!options.forced_output.empty()) g.forced_ids = tok.encode(options.forced_output, EncodeOptions{});
      SubmitResult s = engine.submit(std::move(g));
      if (s.code != SubmitResult::Code::kOk) {
        job->cancel();
        if (s.code == SubmitResult::Code::kInvalid) return invalid_param("", s.message);
        return server_busy(s.message);
      }
      job->add_choice(s.stream, static_cast<int>(p), reasoning_open, tool_format);
    }
  }
  return std::nullopt;
}

void HttpServer::Impl::handle_generation(const httplib::Request& req, httplib::Response& res, bool chat) {
  if (deadlines) deadlines->body_received(req.remote_addr, req.remote_port);
  auto parsed_body = parse_request_body(req.body);
  if (auto* e = std::get_if<ApiError>(&parsed_body)) return send_error(res, *e);
  const json body = std::get<json>(std::move(parsed_body));
  auto parsed = chat ? parse_chat_request(body) : parse_completion_request(body);
  if (auto* e = std::get_if<ApiError>(&parsed)) return send_error(res, *e);
  OpenAiRequest r = std::get<OpenAiRequest>(std::move(parsed));
  if (r.model != options.model_id)
    return send_error(res, not_found("the model '" + r.model + "' does not exist (this server serves '" +
                                         options.model_id + "')",
                                     "model_not_found"));
  std::shared_ptr<CompletionJob> job;
  if (auto e = submit_all(r, job)) return send_error(res, *e);

  if (r.stream) {
    res.set_header("Cache-Control", "no-cache");
    res.set_chunked_content_provider(
        "text/event-stream",
        [this, job](size_t, httplib::DataSink& sink) {
          auto write = [&](const std::string& s) { return sink.write(s.data(), s.size()); };
          while (!job->finished()) {
            if (!sink.is_writable() || !job->pump(kPoll, write)) {
              job->cancel();
              return false;
            }
          }
          record(*job);
          if (!write(job->failed() ? job->stream_error() : job->stream_tail())) return false;
          sink.done();
          return true;
        },
        [job](bool success) {
          if (!success) job->cancel();
        });
    return;
  }

  auto ignore = [](const std::string&) { return true; };
  const auto direct_deadline = Clock::now() + kDirectAnswerWait;
  while (!job->finished() && Clock::now() < direct_deadline) job->pump(kPoll, ignore);
  if (job->finished()) {
    record(*job);
    if (job->failed()) return send_error(res, job->error());
    res.set_content(dump_json(job->final_response()), "application/json");
    return;
  }
  res.set_chunked_content_provider(
      "application/json",
      [this, job, ignore](size_t, httplib::DataSink& sink) {
        auto last_write = Clock::now();
        while (!job->finished()) {
          job->pump(kPoll, ignore);
          if (Clock::now() - last_write >= kHeartbeat) {
            if (!sink.write(" ", 1)) {
              job->cancel();
              return false;
            }
            last_write = Clock::now();
          }
        }
        record(*job);
        const std::string out = dump_json(job->failed() ? job->error().to_json() : job->final_response());
        if (!sink.write(out.data(), out.size())) return false;
        sink.done();
        return true;
      },
      [job](bool success) {
        if (!success) job->cancel();
      });
}

}  // namespace kaiyuan::server
