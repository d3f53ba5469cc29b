#include "server/chat_prompt.h"

#include "chat/chat_template.h"

namespace kaiyuan::server {

Result<std::string> render_chat_prompt(const ChatPromptTemplate& tmpl, const nlohmann::ordered_json& messages,
                                       const nlohmann::ordered_json& tools, const nlohmann::ordered_json& tool_choice) {
  if (tmpl.source.empty())
    return Error("this model has no chat template: use /v1/completions or start the server with --chat-template FILE");
  chat::ChatTemplateInputs in;
  in.messages = messages;
  const bool hide_tools = tool_choice.is_string() && tool_choice.get<std::string>() == "none";
  if (!tools.is_null() && !hide_tools) in.tools = tools;
  in.add_generation_prompt = true;
  in.special_tokens = tmpl.special_tokens;
  auto text = chat::render_chat_template(tmpl.source, in);
  if (!text) return text.status().with_context("chat template");
  return text;
}

bool prompt_opens_reasoning(const std::string& prompt) {
  const size_t end = prompt.find_last_not_of("\r\n");
  if (end == std::string::npos) return false;
  const std::string tag = "<think>";
  return end + 1 >= tag.size() && prompt.compare(end + 1 - tag.size(), tag.size(), tag) == 0;
}

}  // namespace kaiyuan::server
