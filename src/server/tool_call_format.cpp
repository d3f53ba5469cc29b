#include "server/tool_call_format.h"

#include <random>

namespace kaiyuan::server {

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

}  // namespace kaiyuan::server
