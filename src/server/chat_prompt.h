// Turns chat messages (+ tools) into the prompt text a model expects, with its chat template.
#pragma once

#include <map>
#include <string>

#include <nlohmann/json.hpp>

#include "core/status.h"

namespace kaiyuan::server {

struct ChatPromptTemplate {
  std::string source;  // Jinja; empty: the model has none (chat requests are refused)
  std::map<std::string, std::string> special_tokens;
};

// Renders with add_generation_prompt = true. `tools` null when absent; tool_choice "none" hides them.
Result<std::string> render_chat_prompt(const ChatPromptTemplate& tmpl, const nlohmann::ordered_json& messages,
                                       const nlohmann::ordered_json& tools, const nlohmann::ordered_json& tool_choice);

// Whether the rendered prompt leaves the model inside a reasoning block (ends with "<think>" and
// optional newlines, as Qwen3 and DeepSeek-R1 templates do).
bool prompt_opens_reasoning(const std::string& prompt);

}  // namespace kaiyuan::server
