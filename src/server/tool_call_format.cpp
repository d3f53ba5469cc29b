#include "server/tool_call_format.h"

#include <random>

#include <nlohmann/json.hpp>

namespace kaiyuan::server {
namespace {

constexpr const char* kSpace = " \t\r\n";

std::string trim(const std::string& s) {
  const size_t b = s.find_first_not_of(kSpace);
  if (b == std::string::npos) return "";
  return s.substr(b, s.find_last_not_of(kSpace) - b + 1);
}

// Arguments as OpenAI's function.arguments: an object is re-serialised compactly; a JSON string
// (templates that write `arguments | tojson` of OpenAI's string form) must itself hold an object.
bool arguments_text(const nlohmann::json& args, std::string& out) {
  if (args.is_object()) {
    out = args.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    return true;
  }
  if (!args.is_string()) return false;
  const auto inner = nlohmann::json::parse(args.get<std::string>(), nullptr, false);
  if (inner.is_discarded() || !inner.is_object()) return false;
  out = args.get<std::string>();
  return true;
}

bool valid_name(const std::string& name) {
  return !name.empty() && name.find_first_of(kSpace) == std::string::npos;
}

}  // namespace

ToolCallFormat tool_call_format_for_template(const std::string& template_source) {
  if (template_source.find("tool▁calls▁begin") != std::string::npos) return ToolCallFormat::kDeepSeek;
  if (template_source.find("<tool_call>") != std::string::npos) return ToolCallFormat::kHermes;
  // Llama 3.1 / 3.3 name the python tag; Llama 3.2 only renders the {"name", "parameters"} object
  // inside its header-delimited turns.
  if (template_source.find(kLlamaPythonTag) != std::string::npos ||
      (template_source.find("\"parameters\": ") != std::string::npos &&
       template_source.find("<|start_header_id|>") != std::string::npos))
    return ToolCallFormat::kLlamaJson;
  return ToolCallFormat::kHermes;
}

std::string new_tool_call_id() {
  static const char kAlphabet[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
  thread_local std::mt19937_64 rng{std::random_device{}()};
  std::string id = "call_";
  for (int i = 0; i < 24; ++i) id += kAlphabet[rng() % (sizeof(kAlphabet) - 1)];
  return id;
}

bool parse_tool_call_json(const std::string& body, ParsedToolCall& call) {
  const auto j = nlohmann::json::parse(body, nullptr, false);
  if (j.is_discarded() || !j.is_object() || !j.contains("name") || !j["name"].is_string()) return false;
  call.name = j["name"].get<std::string>();
  if (call.name.empty()) return false;
  const char* key = j.contains("arguments") ? "arguments" : j.contains("parameters") ? "parameters" : nullptr;
  const nlohmann::json args = key ? j[key] : nlohmann::json::object();
  if (args.is_string()) {
    call.arguments = args.get<std::string>();  // already JSON text (some models emit it so)
  } else if (args.is_object()) {
    call.arguments = args.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  } else {
    return false;
  }
  return true;
}

bool parse_deepseek_tool_call(const std::string& body, ParsedToolCall& call) {
  const std::string sep = kDeepSeekSep;
  const size_t at = body.find(sep);
  if (at == std::string::npos) return false;
  const std::string head = trim(body.substr(0, at));
  const std::string tail = body.substr(at + sep.size());
  std::string name, args_text;
  const size_t fence = tail.find("```json");
  if (head == "function" && fence != std::string::npos) {
    // V3 / R1: TYPE<sep>NAME\n```json\nARGS\n``` (tokenizer_config.json chat template).
    name = trim(tail.substr(0, fence));
    const size_t args_begin = fence + 7;
    const size_t close = tail.rfind("```");
    if (close == std::string::npos || close < args_begin || !trim(tail.substr(close + 3)).empty()) return false;
    args_text = tail.substr(args_begin, close - args_begin);
  } else {
    // V3.1: NAME<sep>ARGS (DeepSeek-V3.1 chat template).
    name = head;
    args_text = tail;
  }
  if (!valid_name(name)) return false;
  const auto args = nlohmann::json::parse(args_text, nullptr, false);
  if (args.is_discarded() || !arguments_text(args, call.arguments)) return false;
  call.name = name;
  return true;
}

}  // namespace kaiyuan::server
