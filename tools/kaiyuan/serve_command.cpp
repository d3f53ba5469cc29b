// `kaiyuan serve MODEL [--host H] [--port P] [--parallel N] ...`: the OpenAI-compatible HTTP server.
#include <pthread.h>
#include <signal.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "chat/chat_template.h"
#include "command.h"
#include "model_args.h"
#include "runtime/engine.h"
#include "server/http_server.h"

namespace kaiyuan::cli {
namespace {

struct ServeArgs {
  std::string model;
  std::string host = "127.0.0.1";
  int port = 8080;
  int parallel = 4;
  int queue = 64;
  int threads = 0;
  int64_t ctx_size = 0;
  std::string cache_type = "f32";
  int batch = 512;
  std::string api_key;
  std::string alias;
  std::string chat_template_file;
  size_t max_body = 8u << 20;
  int timeout = 30;
  int request_timeout = 30;
  int grace = 10;
  bool quiet = false;
  std::string forced_output;
};

Result<server::ChatPromptTemplate> find_chat_template(const ServeArgs& a, const Engine& engine) {
  server::ChatPromptTemplate t;
  const Tokenizer& tok = engine.tokenizer();
  if (tok.bos_id() >= 0) t.special_tokens["bos_token"] = tok.token_string(tok.bos_id());
  if (tok.eos_id() >= 0) t.special_tokens["eos_token"] = tok.token_string(tok.eos_id());
  if (!a.chat_template_file.empty()) {
    std::ifstream in(a.chat_template_file, std::ios::binary);
    if (!in) return Error("cannot read the chat template " + a.chat_template_file);
    std::stringstream ss;
    ss << in.rdbuf();
    t.source = ss.str();
    return t;
  }
  if (std::filesystem::is_directory(a.model)) {
    if (std::filesystem::exists(std::filesystem::path(a.model) / "tokenizer_config.json")) {
      auto m = chat::load_chat_template_from_folder(a.model, false);
      if (m) {
        t.source = m->source;
        for (const auto& [k, v] : m->special_tokens) t.special_tokens[k] = v;
      }
    }
    return t;
  }
  t.source = engine.embedded_chat_template();
  return t;
}

std::string model_id_of(const ServeArgs& a) {
  if (!a.alias.empty()) return a.alias;
  std::filesystem::path p(a.model);
  if (p.filename().empty()) p = p.parent_path();
  return std::filesystem::is_directory(p) ? p.filename().string() : p.stem().string();
}

int serve(const ServeArgs& a) {
  // SIGTERM/SIGINT are taken by one thread (sigwait) so the shutdown runs outside signal context;
  // block them before any thread starts so every thread inherits the mask.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  ::signal(SIGPIPE, SIG_IGN);

  EngineOptions eo;
  eo.n_ctx = a.ctx_size;
  eo.n_parallel = a.parallel;
  eo.max_queued = a.queue;
  eo.n_threads = a.threads;
  eo.max_batch_tokens = a.batch;
  eo.cache_type = cache_type_of(a.cache_type);
  auto engine = Engine::open(a.model, eo);
  if (!engine) return fail(engine.status().message());

  server::ServerOptions so;
  so.host = a.host;
  so.port = a.port;
  so.api_key = a.api_key;
  if (so.api_key.empty())
    if (const char* env = std::getenv("KAIYUAN_API_KEY")) so.api_key = env;
  so.model_id = model_id_of(a);
  auto tmpl = find_chat_template(a, **engine);
  if (!tmpl) return fail(tmpl.status().message());
  so.chat_template = std::move(*tmpl);
  so.max_body_bytes = a.max_body;
  so.read_timeout_s = a.timeout;
  so.write_timeout_s = a.timeout;
  so.request_timeout_s = a.request_timeout;
  so.access_log = !a.quiet;
  so.forced_output = a.forced_output;

  server::HttpServer http(**engine, so);
  if (Status st = http.bind(); !st) return fail(st.message());
  std::fprintf(stderr, "kaiyuan serve: model '%s' on http://%s:%d (slots %d, context %lld%s)\n", so.model_id.c_str(),
               a.host.c_str(), http.port(), a.parallel, static_cast<long long>((*engine)->n_ctx()),
               so.api_key.empty() ? ", no API key" : ", API key required");
  std::fflush(stderr);

  Engine* eng = engine->get();
  std::thread waiter([&] {
    int sig = 0;
    sigwait(&signals, &sig);
    std::fprintf(stderr, "kaiyuan serve: signal %d, shutting down (grace %d s)\n", sig, a.grace);
    // The engine first: new requests get 503 while in-flight ones finish (up to the grace period);
    // httplib's stop() would cut responses still being written, so it comes after.
    eng->shutdown(std::chrono::seconds(a.grace));
    std::this_thread::sleep_for(std::chrono::milliseconds(200));  // last bytes out to clients
    http.stop();
  });
  const Status st = http.listen();
  pthread_kill(waiter.native_handle(), SIGTERM);  // wakes the waiter when listen ended by itself
  waiter.join();
  eng->shutdown(std::chrono::milliseconds(0));
  if (!st) return fail(st.message());
  return 0;
}

const bool kRegistered = add_command("serve", "OpenAI-compatible HTTP server", [](CLI::App& sub) -> RunFn {
  auto a = std::make_shared<ServeArgs>();
  sub.add_option("model", a->model, "GGUF file or Hugging Face model folder")->required();
  sub.add_option("--host", a->host, "Address to bind (default 127.0.0.1: this machine only)");
  sub.add_option("--port", a->port, "Port (0: any free port)")->check(CLI::Range(0, 65535));
  sub.add_option("--parallel", a->parallel, "Sequences generated at once (KV-cache slots)")->check(CLI::Range(1, 1024));
  sub.add_option("--queue", a->queue, "Requests that may wait for a slot; more get 503")->check(CLI::Range(0, 1 << 20));
  sub.add_option("-t,--threads", a->threads, "Threads (default: available CPUs)")->check(CLI::Range(1, 1024));
  sub.add_option("-c,--ctx-size", a->ctx_size, "Context of each slot (default: model's, at most 4096)")
      ->check(CLI::Range(int64_t{2}, int64_t{1} << 24));
  add_cache_type_option(sub, a->cache_type);
  sub.add_option("-b,--batch-size", a->batch, "Tokens per forward step")->check(CLI::Range(1, 1 << 20));
  sub.add_option("--api-key", a->api_key, "Require 'Authorization: Bearer KEY' (or set KAIYUAN_API_KEY)");
  sub.add_option("--alias", a->alias, "Model id clients use (default: the file name)");
  sub.add_option("--chat-template", a->chat_template_file, "Jinja chat template file (overrides the model's)");
  sub.add_option("--max-body", a->max_body, "Largest request body in bytes");
  sub.add_option("--timeout", a->timeout, "Seconds an idle connection may stay silent")->check(CLI::Range(1, 86400));
  sub.add_option("--request-timeout", a->request_timeout,
                 "Seconds a client may take to send one request, headers and body (0: no limit)")
      ->check(CLI::Range(0, 86400));
  sub.add_option("--shutdown-grace", a->grace, "Seconds in-flight requests get after SIGTERM")->check(CLI::Range(0, 3600));
  sub.add_flag("--quiet", a->quiet, "No access log");
  sub.add_option("--test-forced-output", a->forced_output,
                 "TESTS ONLY: every request generates exactly this text (drives tool-call tests)")
      ->group("");
  return [a] { return serve(*a); };
});

}  // namespace
}  // namespace kaiyuan::cli
