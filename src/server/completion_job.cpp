#include "server/completion_job.h"

#include <random>

#include "server/sse.h"

namespace kaiyuan::server {
namespace {

using nlohmann::json;

std::string random_id(const std::string& prefix) {
  static const char kHex[] = "0123456789abcdef";
  thread_local std::mt19937_64 rng{std::random_device{}()};
  std::string id = prefix;
  for (int i = 0; i < 24; ++i) id += kHex[rng() % 16];
  return id;
}

json bytes_of(const std::string& s) {
  json b = json::array();
  for (unsigned char c : s) b.push_back(static_cast<int>(c));
  return b;
}

json tool_calls_json(const std::vector<ParsedToolCall>& calls) {
  json out = json::array();
  for (const ParsedToolCall& c : calls)
    out.push_back({{"id", c.id}, {"type", "function"}, {"function", {{"name", c.name}, {"arguments", c.arguments}}}});
  return out;
}

// OpenAI's streamed form: a call's first piece has index, id, type and name; later pieces only
// index and an arguments fragment.
json tool_call_deltas_json(const std::vector<ToolCallDelta>& deltas) {
  json out = json::array();
  for (const ToolCallDelta& d : deltas) {
    json t = {{"index", d.index}, {"function", {{"arguments", d.arguments}}}};
    if (!d.id.empty()) {
      t["id"] = d.id;
      t["type"] = "function";
      t["function"]["name"] = d.name;
    }
    out.push_back(std::move(t));
  }
  return out;
}

// `rest` follows `into` (the parser's finish() after the last push): one chunk, one piece per call.
void append_delta(ChatDelta& into, ChatDelta rest) {
  into.content += rest.content;
  into.reasoning += rest.reasoning;
  for (ToolCallDelta& d : rest.tool_call_deltas) {
    if (!into.tool_call_deltas.empty() && into.tool_call_deltas.back().index == d.index && d.id.empty())
      into.tool_call_deltas.back().arguments += d.arguments;
    else
      into.tool_call_deltas.push_back(std::move(d));
  }
  for (ParsedToolCall& t : rest.tool_calls) into.tool_calls.push_back(std::move(t));
}

}  // namespace

CompletionJob::CompletionJob(const Tokenizer& tokenizer, OpenAiRequest request, std::string model_id,
                             int64_t prompt_tokens)
    : tokenizer_(tokenizer),
      request_(std::move(request)),
      model_id_(std::move(model_id)),
      id_(random_id(request_.chat ? "chatcmpl-" : "cmpl-")),
      created_(std::chrono::duration_cast<std::chrono::seconds>(
                   std::chrono::system_clock::now().time_since_epoch()).count()),
      prompt_tokens_(prompt_tokens) {}

void CompletionJob::add_choice(std::shared_ptr<RequestStream> stream, int prompt_index, bool reasoning_open,
                               ToolCallFormat tool_format) {
  Choice c;
  c.stream = std::move(stream);
  c.index = static_cast<int>(choices_.size());
  c.prompt_index = prompt_index;
  if (request_.chat) {
    const bool parse_tools = !request_.tools.is_null() &&
                             !(request_.tool_choice.is_string() && request_.tool_choice.get<std::string>() == "none");
    c.parser = std::make_unique<ChatOutputParser>(parse_tools, reasoning_open, tool_format);
    c.logprobs = json::array();
  } else {
    c.logprobs = {{"tokens", json::array()}, {"token_logprobs", json::array()}, {"top_logprobs", json::array()},
                  {"text_offset", json::array()}};
  }
  choices_.push_back(std::move(c));
}

void CompletionJob::cancel() {
  for (Choice& c : choices_) c.stream->cancel();
}

bool CompletionJob::finished() const {
  if (error_) return true;
  for (const Choice& c : choices_)
    if (!c.done) return false;
  return true;
}

double CompletionJob::seconds_total() const {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
}

int64_t CompletionJob::completion_tokens() const {
  int64_t n = 0;
  for (const Choice& c : choices_) n += c.n_generated;
  return n;
}

json CompletionJob::usage() const {
  return {{"prompt_tokens", prompt_tokens_},
          {"completion_tokens", completion_tokens()},
          {"total_tokens", prompt_tokens_ + completion_tokens()}};
}

json CompletionJob::chunk_base() const {
  return {{"id", id_},
          {"object", request_.chat ? "chat.completion.chunk" : "text_completion"},
          {"created", created_},
          {"model", model_id_}};
}

bool CompletionJob::pump(std::chrono::milliseconds wait, const std::function<bool(const std::string&)>& on_chunk) {
  bool keep = true;
  bool got_any = false;
  for (Choice& c : choices_) {
    while (!c.done && keep && !error_) {
      auto ev = c.stream->next(std::chrono::milliseconds(0));
      if (!ev) break;
      got_any = true;
      on_event(c, std::move(*ev), on_chunk, keep);
    }
  }
  if (!got_any && keep && !finished()) {
    for (Choice& c : choices_) {
      if (c.done) continue;
      if (auto ev = c.stream->next(wait)) on_event(c, std::move(*ev), on_chunk, keep);
      break;
    }
  }
  if (!keep) cancel();
  return keep;
}

void CompletionJob::record_logprobs(Choice& c, const TokenEvent& ev) {
  const std::string raw = tokenizer_.token_bytes(ev.id);
  const std::string token = sanitize_utf8(raw);
  if (request_.chat) {
    json top = json::array();
    for (const auto& t : ev.top_logprobs) {
      const std::string tb = tokenizer_.token_bytes(t.id);
      top.push_back({{"token", sanitize_utf8(tb)}, {"logprob", t.logprob}, {"bytes", bytes_of(tb)}});
    }
    c.logprobs.push_back({{"token", token}, {"logprob", ev.logprob}, {"bytes", bytes_of(raw)}, {"top_logprobs", top}});
  } else {
    json top = json::object();
    for (const auto& t : ev.top_logprobs) top[sanitize_utf8(tokenizer_.token_bytes(t.id))] = t.logprob;
    c.logprobs["tokens"].push_back(token);
    c.logprobs["token_logprobs"].push_back(ev.logprob);
    c.logprobs["top_logprobs"].push_back(top);
    c.logprobs["text_offset"].push_back(c.text_offset);
    c.text_offset += static_cast<int>(token.size());
  }
}

void CompletionJob::on_event(Choice& c, TokenEvent ev, const std::function<bool(const std::string&)>& on_chunk,
                             bool& keep) {
  if (ev.kind == TokenEvent::Kind::kError) {
    error_ = server_error("generation failed: " + ev.error);
    c.done = true;
    return;
  }
  if (ev.kind == TokenEvent::Kind::kFinished && ev.finish_reason == "cancelled") {
    error_ = ApiError{503, "the request was cancelled (server shutting down)", "server_error", "", "cancelled"};
    c.done = true;
    return;
  }
  json lp_entry;
  if (ev.kind == TokenEvent::Kind::kToken) {
    if (first_token_s_ < 0) first_token_s_ = seconds_total();
    if (request_.logprobs) {
      const size_t before = request_.chat ? c.logprobs.size() : 0;
      record_logprobs(c, ev);
      if (request_.chat) lp_entry = {{"content", json::array({c.logprobs[before]})}};
      else lp_entry = {{"tokens", {c.logprobs["tokens"].back()}},
                       {"token_logprobs", {c.logprobs["token_logprobs"].back()}},
                       {"top_logprobs", {c.logprobs["top_logprobs"].back()}},
                       {"text_offset", {c.logprobs["text_offset"].back()}}};
    }
  }
  ChatDelta delta;
  std::string text = ev.text;
  if (c.parser) {
    delta = c.parser->push(text);
    if (ev.kind == TokenEvent::Kind::kFinished) append_delta(delta, c.parser->finish());
    c.text += delta.content;
    c.reasoning += delta.reasoning;
    for (const auto& t : delta.tool_calls) c.tool_calls.push_back(t);
  } else {
    c.text += text;
  }
  if (ev.kind == TokenEvent::Kind::kFinished) {
    c.done = true;
    c.n_generated = ev.n_generated;
    c.finish_reason = c.tool_calls.empty() ? ev.finish_reason : "tool_calls";
  }
  if (!request_.stream) return;

  // Streaming: one chunk per event that carries anything, then a closing chunk per choice.
  auto send = [&](json choice) {
    json chunk = chunk_base();
    chunk["choices"] = json::array({std::move(choice)});
    if (request_.include_usage) chunk["usage"] = nullptr;
    if (keep && !on_chunk(sse_event(chunk))) keep = false;
  };
  if (request_.chat) {
    if (!c.started) {
      c.started = true;
      send({{"index", c.index}, {"delta", {{"role", "assistant"}, {"content", ""}}}, {"logprobs", nullptr},
            {"finish_reason", nullptr}});
    }
    json d = json::object();
    if (!delta.reasoning.empty()) d["reasoning_content"] = delta.reasoning;
    if (!delta.content.empty()) d["content"] = delta.content;
    if (!delta.tool_call_deltas.empty()) d["tool_calls"] = tool_call_deltas_json(delta.tool_call_deltas);
    if (!d.empty() || !lp_entry.is_null())
      send({{"index", c.index}, {"delta", d}, {"logprobs", lp_entry.is_null() ? json(nullptr) : lp_entry},
            {"finish_reason", nullptr}});
    if (c.done) send({{"index", c.index}, {"delta", json::object()}, {"logprobs", nullptr}, {"finish_reason", c.finish_reason}});
  } else {
    if (!text.empty() || !lp_entry.is_null())
      send({{"index", c.index}, {"text", text}, {"logprobs", lp_entry.is_null() ? json(nullptr) : lp_entry},
            {"finish_reason", nullptr}});
    if (c.done) send({{"index", c.index}, {"text", ""}, {"logprobs", nullptr}, {"finish_reason", c.finish_reason}});
  }
}

json CompletionJob::final_response() const {
  json choices = json::array();
  for (const Choice& c : choices_) {
    json choice = {{"index", c.index}, {"finish_reason", c.finish_reason}};
    if (request_.chat) {
      json message = {{"role", "assistant"}, {"content", c.text}};
      if (!c.tool_calls.empty()) {
        if (c.text.empty()) message["content"] = nullptr;
        message["tool_calls"] = tool_calls_json(c.tool_calls);
      }
      if (!c.reasoning.empty()) message["reasoning_content"] = c.reasoning;
      choice["message"] = std::move(message);
      choice["logprobs"] = request_.logprobs ? json{{"content", c.logprobs}} : json(nullptr);
    } else {
      choice["text"] = c.text;
      choice["logprobs"] = request_.logprobs ? c.logprobs : json(nullptr);
    }
    choices.push_back(std::move(choice));
  }
  json out = {{"id", id_},
              {"object", request_.chat ? "chat.completion" : "text_completion"},
              {"created", created_},
              {"model", model_id_},
              {"choices", std::move(choices)},
              {"usage", usage()}};
  return out;
}

std::string CompletionJob::stream_tail() const {
  std::string out;
  if (request_.include_usage) {
    json chunk = chunk_base();
    chunk["choices"] = json::array();
    chunk["usage"] = usage();
    out += sse_event(chunk);
  }
  return out + sse_done();
}

std::string CompletionJob::stream_error() const {
  const ApiError e = error_ ? *error_ : server_error("generation failed");
  return sse_event(e.to_json()) + sse_done();
}

}  // namespace kaiyuan::server
