// Chat-template rendering with transformers' variables, and loading a model's template.
#include "chat/chat_template.h"

#include <fstream>
#include <sstream>

#include "chat/jinja/template.h"

namespace kaiyuan::chat {

using jinja::Value;

Result<std::string> render_chat_template(const std::string& template_source, const ChatTemplateInputs& inputs) {
  KY_ASSIGN_OR_RETURN(jinja::Template tmpl, jinja::Template::parse(template_source));
  if (!inputs.messages.is_array()) return Error("chat template: messages must be a JSON array");
  if (!inputs.extra.is_object() && !inputs.extra.is_null())
    return Error("chat template: extra template variables must be a JSON object");
  // Order as in transformers' render_jinja_template: messages, tools, add_generation_prompt,
  // special tokens, then caller kwargs (which win).
  std::vector<std::pair<std::string, Value>> vars;
  vars.emplace_back("messages", Value::from_json(inputs.messages));
  vars.emplace_back("tools", Value::from_json(inputs.tools));
  vars.emplace_back("add_generation_prompt", Value::boolean(inputs.add_generation_prompt));
  for (const auto& [name, token] : inputs.special_tokens) vars.emplace_back(name, Value::string(token));
  if (inputs.extra.is_object())
    for (const auto& [name, value] : inputs.extra.items()) vars.emplace_back(name, Value::from_json(value));
  return tmpl.render(vars);
}

Result<std::string> select_chat_template(const nlohmann::ordered_json& chat_template, bool has_tools) {
  if (chat_template.is_string()) return chat_template.get<std::string>();
  if (!chat_template.is_array()) return Error("chat_template must be a string or a list of {name, template}");
  const nlohmann::ordered_json* by_default = nullptr;
  const nlohmann::ordered_json* by_tools = nullptr;
  for (const auto& entry : chat_template) {
    if (!entry.is_object() || !entry.contains("name") || !entry.contains("template") || !entry["name"].is_string() ||
        !entry["template"].is_string())
      return Error("chat_template list entries must be {\"name\": string, \"template\": string}");
    const std::string name = entry["name"].get<std::string>();
    if (name == "default") by_default = &entry["template"];
    if (name == "tool_use") by_tools = &entry["template"];
  }
  if (has_tools && by_tools) return by_tools->get<std::string>();
  if (by_default) return by_default->get<std::string>();
  return Error("chat_template list has no \"default\" template");
}

std::map<std::string, std::string> special_tokens_from_config(const nlohmann::ordered_json& config) {
  std::map<std::string, std::string> tokens;
  if (!config.is_object()) return tokens;
  // transformers' SPECIAL_TOKENS_ATTRIBUTES (tokenization_utils_base.py).
  for (const char* key : {"bos_token", "eos_token", "unk_token", "sep_token", "pad_token", "cls_token", "mask_token"}) {
    auto it = config.find(key);
    if (it == config.end()) continue;
    if (it->is_string()) tokens[key] = it->get<std::string>();
    else if (it->is_object() && it->contains("content") && (*it)["content"].is_string())
      tokens[key] = (*it)["content"].get<std::string>();
  }
  return tokens;
}

Result<ModelChatTemplate> load_chat_template_from_folder(const std::string& folder, bool has_tools) {
  const std::string path = folder + "/tokenizer_config.json";
  std::ifstream in(path, std::ios::binary);
  if (!in) return Error(path + ": cannot open");
  std::stringstream buffer;
  buffer << in.rdbuf();
  nlohmann::ordered_json config = nlohmann::ordered_json::parse(buffer.str(), nullptr, /*allow_exceptions=*/false);
  if (config.is_discarded() || !config.is_object()) return Error(path + ": not a JSON object");
  auto it = config.find("chat_template");
  if (it == config.end() || it->is_null()) return Error(path + ": has no chat_template");
  Result<std::string> source = select_chat_template(*it, has_tools);
  if (!source.is_ok()) return source.status().with_context(path);
  ModelChatTemplate out;
  out.source = std::move(source).value();
  out.special_tokens = special_tokens_from_config(config);
  return out;
}

ModelChatTemplate chat_template_from_gguf_string(std::string source, std::map<std::string, std::string> special_tokens) {
  return ModelChatTemplate{std::move(source), std::move(special_tokens)};
}

}  // namespace kaiyuan::chat
