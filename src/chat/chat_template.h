// Chat templates: render a model's Jinja chat template the way Hugging Face transformers'
// apply_chat_template(..., tokenize=False) does, and find the template a model ships with
// (tokenizer_config.json "chat_template" or the GGUF key tokenizer.chat_template).
#pragma once

#include <map>
#include <string>

#include <nlohmann/json.hpp>

#include "core/status.h"

namespace kaiyuan::chat {

struct ChatTemplateInputs {
  nlohmann::ordered_json messages = nlohmann::ordered_json::array();
  nlohmann::ordered_json tools;  // null when absent (templates see `tools` = none)
  bool add_generation_prompt = false;
  // Extra template variables (e.g. enable_thinking, date_string); they override everything else.
  nlohmann::ordered_json extra = nlohmann::ordered_json::object();
  // bos_token, eos_token, ... as in the tokenizer's special_tokens_map; unset names stay undefined.
  std::map<std::string, std::string> special_tokens;
};

// Renders `template_source` with transformers' variables: messages, tools, add_generation_prompt,
// the special tokens, then `extra`.
Result<std::string> render_chat_template(const std::string& template_source, const ChatTemplateInputs& inputs);

// The model's own template and special tokens.
struct ModelChatTemplate {
  std::string source;
  std::map<std::string, std::string> special_tokens;
};

// Picks the template from a tokenizer_config.json "chat_template" value: a string, or a list of
// {name, template} where "tool_use" is chosen when tools are given (and exists), else "default".
Result<std::string> select_chat_template(const nlohmann::ordered_json& chat_template, bool has_tools);

// Special tokens (bos_token, eos_token, unk_token, pad_token, ...) from a tokenizer_config.json;
// each may be a string or an AddedToken object {"content": ...}.
std::map<std::string, std::string> special_tokens_from_config(const nlohmann::ordered_json& config);

// Reads <folder>/tokenizer_config.json.
Result<ModelChatTemplate> load_chat_template_from_folder(const std::string& folder, bool has_tools);

// For a GGUF file the caller reads tokenizer.chat_template and passes the string here; the special
// tokens then come from `special_tokens` (the caller knows them from the GGUF vocabulary).
ModelChatTemplate chat_template_from_gguf_string(std::string source, std::map<std::string, std::string> special_tokens);

}  // namespace kaiyuan::chat
