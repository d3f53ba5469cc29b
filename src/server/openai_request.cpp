#include "server/openai_request.h"

#include <algorithm>
#include <cmath>
#include <limits>

namespace kaiyuan::server {
namespace {

using nlohmann::json;

// Limits: OpenAI's documented ranges (n <= 128, stop <= 4 strings, top_logprobs <= 20 for chat
// and logprobs <= 5 for completions, logit_bias in [-100, 100], at most 128 tools, at most 2048
// messages). The others are ours, so that no field makes a request cost more than its body size
// suggests: the stop matcher rescans held-back text against every stop string on each token,
// every choice is one engine submission, and nlohmann's dump() recurses once per nesting level.
constexpr int kMaxN = 128;
constexpr size_t kMaxChoices = 128;  // n x prompts: choices one request may ask for
constexpr size_t kMaxStops = 4;
constexpr size_t kMaxStopBytes = 1024;
constexpr size_t kMaxMessages = 2048;
constexpr size_t kMaxTools = 128;
constexpr size_t kMaxToolsBytes = 1u << 20;
constexpr size_t kMaxPrompts = 2048;
constexpr size_t kMaxLogitBias = 1024;
constexpr size_t kMaxUserBytes = 256;

std::string type_name(const json& v) { return v.type_name(); }

ApiError wrong_type(const std::string& param, const std::string& expected, const json& got) {
  return invalid_param(param, "'" + param + "' must be " + expected + ", got " + type_name(got));
}

// Each reader returns an error, or nothing when the field is absent/null or was read.
std::optional<ApiError> read_number(const json& body, const char* key, float lo, float hi, float& out) {
  if (!body.contains(key) || body[key].is_null()) return std::nullopt;
  const json& v = body[key];
  if (!v.is_number()) return wrong_type(key, "a number", v);
  const double d = v.get<double>();
  if (!std::isfinite(d) || d < lo || d > hi)
    return invalid_param(key, "'" + std::string(key) + "' must be between " + json(lo).dump() + " and " +
                                  json(hi).dump() + ", got " + v.dump());
  out = static_cast<float>(d);
  return std::nullopt;
}

std::optional<ApiError> read_int(const json& body, const char* key, int64_t lo, int64_t hi, std::optional<int64_t>& out) {
  if (!body.contains(key) || body[key].is_null()) return std::nullopt;
  const json& v = body[key];
  if (!v.is_number_integer()) return wrong_type(key, "an integer", v);
  // A body parsed from text holds every non-negative integer as unsigned: the lower bound applies
  // to those too ("n": 0 must fail).
  const bool out_of_range =
      v.is_number_unsigned()
          ? v.get<uint64_t>() > static_cast<uint64_t>(hi) || (lo > 0 && v.get<uint64_t>() < static_cast<uint64_t>(lo))
          : v.get<int64_t>() < lo || v.get<int64_t>() > hi;
  if (out_of_range)
    return invalid_param(key, "'" + std::string(key) + "' must be between " + std::to_string(lo) + " and " +
                                  std::to_string(hi) + ", got " + v.dump());
  out = v.is_number_unsigned() ? static_cast<int64_t>(v.get<uint64_t>()) : v.get<int64_t>();
  return std::nullopt;
}

std::optional<ApiError> read_bool(const json& body, const char* key, bool& out) {
  if (!body.contains(key) || body[key].is_null()) return std::nullopt;
  if (!body[key].is_boolean()) return wrong_type(key, "a boolean", body[key]);
  out = body[key].get<bool>();
  return std::nullopt;
}

std::optional<ApiError> read_common(const json& body, OpenAiRequest& r) {
  if (!body.is_object()) return invalid_param("", "the request body must be a JSON object");
  if (!body.contains("model") || !body["model"].is_string())
    return body.contains("model") ? wrong_type("model", "a string", body["model"])
                                  : invalid_param("model", "'model' is required");
  r.model = body["model"].get<std::string>();

  // OpenAI defaults: temperature 1, top_p 1, no top-k/min-p, penalties over the whole text.
  r.sampling.temperature = 1.0f;
  r.sampling.top_p = 1.0f;
  r.sampling.top_k = 0;
  r.sampling.min_p = 0.0f;
  r.sampling.penalty_last_n = -1;
  if (auto e = read_number(body, "temperature", 0.0f, 2.0f, r.sampling.temperature)) return e;
  if (auto e = read_number(body, "top_p", 0.0f, 1.0f, r.sampling.top_p)) return e;
  if (body.contains("top_p") && body["top_p"].is_number() && r.sampling.top_p <= 0.0f)
    return invalid_param("top_p", "'top_p' must be greater than 0");
  if (auto e = read_number(body, "presence_penalty", -2.0f, 2.0f, r.sampling.presence_penalty)) return e;
  if (auto e = read_number(body, "frequency_penalty", -2.0f, 2.0f, r.sampling.frequency_penalty)) return e;
  // Extensions vLLM and llama.cpp accept too.
  if (auto e = read_number(body, "min_p", 0.0f, 1.0f, r.sampling.min_p)) return e;
  if (auto e = read_number(body, "repetition_penalty", 0.01f, 100.0f, r.sampling.repetition_penalty)) return e;
  std::optional<int64_t> v;
  if (auto e = read_int(body, "top_k", -1, std::numeric_limits<int32_t>::max(), v)) return e;
  if (v) r.sampling.top_k = static_cast<int32_t>(std::max<int64_t>(0, *v));
  v.reset();
  if (auto e = read_int(body, "seed", std::numeric_limits<int64_t>::min(), std::numeric_limits<int64_t>::max(), v)) return e;
  if (v) r.seed = static_cast<uint64_t>(*v);
  v.reset();
  if (auto e = read_int(body, "n", 1, kMaxN, v)) return e;
  if (v) r.n = static_cast<int>(*v);
  for (const char* key : {"max_tokens", "max_completion_tokens"}) {
    v.reset();
    if (auto e = read_int(body, key, 0, std::numeric_limits<int32_t>::max(), v)) return e;
    if (v) r.max_tokens = static_cast<int32_t>(*v);
  }
  if (auto e = read_bool(body, "stream", r.stream)) return e;
  if (body.contains("stream_options") && !body["stream_options"].is_null()) {
    const json& so = body["stream_options"];
    if (!so.is_object()) return wrong_type("stream_options", "an object", so);
    if (auto e = read_bool(so, "include_usage", r.include_usage)) return e;
  }
  if (body.contains("stop") && !body["stop"].is_null()) {
    const json& s = body["stop"];
    if (s.is_string()) {
      r.stop.push_back(s.get<std::string>());
    } else if (s.is_array()) {
      if (s.size() > kMaxStops) return invalid_param("stop", "'stop' holds at most 4 strings");
      for (const json& x : s) {
        if (!x.is_string()) return wrong_type("stop", "a string or an array of strings", s);
        r.stop.push_back(x.get<std::string>());
      }
    } else {
      return wrong_type("stop", "a string or an array of strings", s);
    }
    for (const std::string& x : r.stop)
      if (x.size() > kMaxStopBytes)
        return invalid_param("stop", "each stop string may be at most " + std::to_string(kMaxStopBytes) +
                                         " bytes, got " + std::to_string(x.size()));
  }
  if (body.contains("logit_bias") && !body["logit_bias"].is_null()) {
    const json& lb = body["logit_bias"];
    if (!lb.is_object()) return wrong_type("logit_bias", "an object mapping token ids to biases", lb);
    if (lb.size() > kMaxLogitBias)
      return invalid_param("logit_bias", "'logit_bias' may hold at most " + std::to_string(kMaxLogitBias) + " entries");
    for (const auto& [key, bias] : lb.items()) {
      if (key.empty() || key.size() > 10 || key.find_first_not_of("0123456789") != std::string::npos)
        return invalid_param("logit_bias", "logit_bias key \"" + key + "\" is not a token id");
      if (!bias.is_number() || !std::isfinite(bias.get<double>()) || bias.get<double>() < -100 || bias.get<double>() > 100)
        return invalid_param("logit_bias", "logit_bias values must be numbers between -100 and 100");
      const long long id = std::stoll(key);
      if (id > std::numeric_limits<int32_t>::max()) return invalid_param("logit_bias", "token id " + key + " is too large");
      r.logit_bias.emplace_back(static_cast<int32_t>(id), bias.get<float>());
    }
  }
  if (body.contains("user") && !body["user"].is_null()) {
    if (!body["user"].is_string()) return wrong_type("user", "a string", body["user"]);
    if (body["user"].get_ref<const std::string&>().size() > kMaxUserBytes)
      return invalid_param("user", "'user' may be at most " + std::to_string(kMaxUserBytes) + " bytes");
    r.user = body["user"].get<std::string>();
  }
  return std::nullopt;
}

// Content: a string, null, or an array of parts of which the "text" ones are joined.
std::optional<ApiError> flatten_content(json& content, size_t index) {
  const std::string param = "messages[" + std::to_string(index) + "].content";
  if (content.is_string() || content.is_null()) return std::nullopt;
  if (!content.is_array()) return wrong_type(param, "a string or an array of content parts", content);
  std::string text;
  for (const json& part : content) {
    if (!part.is_object() || !part.contains("type") || !part["type"].is_string())
      return invalid_param(param, "each content part must be an object with a 'type'");
    if (part["type"] != "text")
      return invalid_param(param, "content part type '" + part["type"].get<std::string>() + "' is not supported (text only)");
    if (!part.contains("text") || !part["text"].is_string())
      return invalid_param(param, "a text content part needs a string 'text'");
    text += part["text"].get<std::string>();
  }
  content = text;
  return std::nullopt;
}

std::optional<ApiError> read_messages(const json& body, OpenAiRequest& r) {
  if (!body.contains("messages")) return invalid_param("messages", "'messages' is required");
  const json& m = body["messages"];
  if (!m.is_array()) return wrong_type("messages", "an array", m);
  if (m.empty()) return invalid_param("messages", "'messages' must not be empty");
  if (m.size() > kMaxMessages)
    return invalid_param("messages", "'messages' may hold at most " + std::to_string(kMaxMessages) + " messages, got " +
                                         std::to_string(m.size()));
  r.messages = nlohmann::ordered_json::array();
  for (size_t i = 0; i < m.size(); ++i) {
    if (!m[i].is_object()) return wrong_type("messages[" + std::to_string(i) + "]", "an object", m[i]);
    nlohmann::ordered_json msg = nlohmann::ordered_json::parse(m[i].dump());
    if (!msg.contains("role") || !msg["role"].is_string())
      return invalid_param("messages[" + std::to_string(i) + "].role", "each message needs a string 'role'");
    const std::string role = msg["role"];
    if (role != "system" && role != "user" && role != "assistant" && role != "tool" && role != "developer")
      return invalid_param("messages[" + std::to_string(i) + "].role", "unknown role '" + role + "'");
    if (!msg.contains("content")) msg["content"] = nullptr;
    json content = msg["content"];
    if (auto e = flatten_content(content, i)) return e;
    msg["content"] = nlohmann::ordered_json::parse(content.dump());
    if (msg.contains("tool_calls") && !msg["tool_calls"].is_null()) {
      if (!msg["tool_calls"].is_array())
        return wrong_type("messages[" + std::to_string(i) + "].tool_calls", "an array", m[i]["tool_calls"]);
      // Templates (Qwen, Hermes) read arguments as a mapping; OpenAI sends a JSON string.
      for (auto& call : msg["tool_calls"]) {
        if (call.is_object() && call.contains("function") && call["function"].is_object() &&
            call["function"].contains("arguments") && call["function"]["arguments"].is_string()) {
          auto parsed = nlohmann::ordered_json::parse(call["function"]["arguments"].get<std::string>(), nullptr, false);
          if (!parsed.is_discarded()) call["function"]["arguments"] = parsed;
        }
      }
    }
    r.messages.push_back(std::move(msg));
  }
  return std::nullopt;
}

std::optional<ApiError> read_tools(const json& body, OpenAiRequest& r) {
  if (body.contains("tools") && !body["tools"].is_null()) {
    const json& t = body["tools"];
    if (!t.is_array()) return wrong_type("tools", "an array", t);
    if (t.size() > kMaxTools)
      return invalid_param("tools", "'tools' may hold at most " + std::to_string(kMaxTools) + " tools, got " +
                                        std::to_string(t.size()));
    for (const json& tool : t) {
      // No json::value("type", ""): a non-string "type" made it throw (found by fuzz_request).
      if (!tool.is_object() || !tool.contains("type") || tool["type"] != "function" || !tool.contains("function") ||
          !tool["function"].is_object() || !tool["function"].contains("name") || !tool["function"]["name"].is_string())
        return invalid_param("tools", "each tool must be {\"type\": \"function\", \"function\": {\"name\": ...}}");
    }
    const std::string text = t.dump();
    if (text.size() > kMaxToolsBytes)
      return invalid_param("tools", "'tools' may be at most " + std::to_string(kMaxToolsBytes) + " bytes of JSON");
    if (!t.empty()) r.tools = nlohmann::ordered_json::parse(text);
  }
  if (body.contains("tool_choice") && !body["tool_choice"].is_null()) {
    const json& c = body["tool_choice"];
    if (c.is_string()) {
      const std::string s = c;
      if (s != "none" && s != "auto" && s != "required")
        return invalid_param("tool_choice", "'tool_choice' must be \"none\", \"auto\", \"required\" or a function");
    } else if (!c.is_object()) {
      return wrong_type("tool_choice", "a string or an object", c);
    }
    r.tool_choice = nlohmann::ordered_json::parse(c.dump());
  }
  return std::nullopt;
}

std::optional<ApiError> read_prompt(const json& body, OpenAiRequest& r) {
  if (!body.contains("prompt")) return invalid_param("prompt", "'prompt' is required");
  const json& p = body["prompt"];
  auto ids_of = [](const json& a, PromptInput& in) {
    for (const json& x : a) {
      if (!x.is_number_integer()) return false;
      const int64_t v = x.get<int64_t>();
      if (v < 0 || v > std::numeric_limits<int32_t>::max()) return false;
      in.ids.push_back(static_cast<int32_t>(v));
    }
    in.is_ids = true;
    return true;
  };
  const std::string expected = "a string, an array of strings, an array of token ids or an array of such arrays";
  if (p.is_string()) {
    r.prompts.push_back({p.get<std::string>(), {}, false});
  } else if (p.is_array() && !p.empty() && p[0].is_number()) {
    PromptInput in;
    if (!ids_of(p, in)) return wrong_type("prompt", expected, p);
    r.prompts.push_back(std::move(in));
  } else if (p.is_array() && !p.empty()) {
    for (const json& x : p) {
      PromptInput in;
      if (x.is_string()) {
        in.text = x.get<std::string>();
      } else if (!x.is_array() || !ids_of(x, in)) {
        return wrong_type("prompt", expected, p);
      }
      r.prompts.push_back(std::move(in));
    }
  } else {
    return p.is_array() ? invalid_param("prompt", "'prompt' must not be empty") : wrong_type("prompt", expected, p);
  }
  if (r.prompts.size() > kMaxPrompts)
    return invalid_param("prompt", "'prompt' may hold at most " + std::to_string(kMaxPrompts) + " prompts");
  if (r.prompts.size() * static_cast<size_t>(r.n) > kMaxChoices)
    return invalid_param("n", "n x the number of prompts may be at most " + std::to_string(kMaxChoices) + ", got " +
                                  std::to_string(r.prompts.size() * static_cast<size_t>(r.n)));
  return std::nullopt;
}

// Deepest nesting of arrays/objects in `text`, counting brackets outside strings; stops counting
// past `limit`.
int json_depth(std::string_view text, int limit) {
  int depth = 0, deepest = 0;
  bool in_string = false;
  for (size_t i = 0; i < text.size() && deepest <= limit; ++i) {
    const char c = text[i];
    if (in_string) {
      if (c == '\\') ++i;
      else if (c == '"') in_string = false;
    } else if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      deepest = std::max(deepest, ++depth);
    } else if (c == ']' || c == '}') {
      --depth;
    }
  }
  return deepest;
}

}  // namespace

std::variant<json, ApiError> parse_request_body(std::string_view body) {
  if (json_depth(body, kMaxJsonDepth) > kMaxJsonDepth)
    return invalid_param("", "the request body nests arrays/objects deeper than " + std::to_string(kMaxJsonDepth) +
                                 " levels");
  json parsed = json::parse(body.begin(), body.end(), nullptr, false);
  if (parsed.is_discarded()) return invalid_param("", "the request body is not valid JSON");
  return parsed;
}

std::variant<OpenAiRequest, ApiError> parse_chat_request(const json& body) {
  OpenAiRequest r;
  r.chat = true;
  if (auto e = read_common(body, r)) return *e;
  if (auto e = read_messages(body, r)) return *e;
  if (auto e = read_tools(body, r)) return *e;
  if (auto e = read_bool(body, "logprobs", r.logprobs)) return *e;
  std::optional<int64_t> top;
  if (auto e = read_int(body, "top_logprobs", 0, 20, top)) return *e;
  if (top) {
    if (!r.logprobs) return invalid_param("top_logprobs", "'top_logprobs' needs 'logprobs': true");
    r.top_logprobs = static_cast<int>(*top);
  }
  return r;
}

std::variant<OpenAiRequest, ApiError> parse_completion_request(const json& body) {
  OpenAiRequest r;
  if (auto e = read_common(body, r)) return *e;
  if (auto e = read_prompt(body, r)) return *e;
  if (auto e = read_bool(body, "echo", r.echo)) return *e;
  if (r.echo) return invalid_param("echo", "'echo': true is not supported");
  std::optional<int64_t> lp;
  if (auto e = read_int(body, "logprobs", 0, 5, lp)) return *e;
  if (lp) {
    r.logprobs = true;
    r.top_logprobs = static_cast<int>(*lp);
  }
  if (!r.max_tokens) r.max_tokens = 16;  // OpenAI's completions default
  return r;
}

}  // namespace kaiyuan::server
