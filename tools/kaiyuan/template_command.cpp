// `kaiyuan template PATH [--template FILE.jinja]`: renders a chat template exactly as
// transformers' apply_chat_template(..., tokenize=False) does. Reads one JSON object
// {"messages": [...], "tools": ..., "add_generation_prompt": bool, "extra_template_kwargs": {...}}
// from stdin and prints the prompt, nothing added. PATH: a model folder (tokenizer_config.json) or
// a GGUF file (tokenizer.chat_template); bos_token/eos_token come from the same place.
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <iterator>
#include <memory>
#include <sstream>
#include <string>

#include <nlohmann/json.hpp>

#include "chat/chat_template.h"
#include "command.h"
#include "format/gguf.h"

namespace kaiyuan::cli {
namespace {

struct TemplateArgs {
  std::string path;
  std::string template_file;
};

Result<std::string> read_text_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Error(path + ": cannot open");
  std::stringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

// The GGUF vocabulary's text for the token id stored under `key`, if any.
void add_gguf_special_token(const GgufFile& gguf, const char* key, const char* name,
                            std::map<std::string, std::string>& tokens) {
  const std::optional<int64_t> id = gguf.get_int_or(key);
  const GgufValue* vocab = gguf.get("tokenizer.ggml.tokens");
  if (!id || !vocab || vocab->type != GgufType::ARRAY || *id < 0 || static_cast<uint64_t>(*id) >= vocab->size())
    return;
  if (auto s = vocab->string_at(static_cast<size_t>(*id))) tokens[name] = std::string(*s);
}

Result<chat::ModelChatTemplate> load_model_template(const std::string& path, bool has_tools, bool need_source) {
  if (std::filesystem::is_directory(path)) {
    if (need_source) return chat::load_chat_template_from_folder(path, has_tools);
    chat::ModelChatTemplate out;
    Result<std::string> config_text = read_text_file(path + "/tokenizer_config.json");
    if (config_text.is_ok()) {
      const auto config = nlohmann::ordered_json::parse(*config_text, nullptr, /*allow_exceptions=*/false);
      out.special_tokens = chat::special_tokens_from_config(config);
    }
    return out;
  }
  KY_ASSIGN_OR_RETURN(auto gguf, GgufFile::open(path));
  std::map<std::string, std::string> tokens;
  add_gguf_special_token(*gguf, "tokenizer.ggml.bos_token_id", "bos_token", tokens);
  add_gguf_special_token(*gguf, "tokenizer.ggml.eos_token_id", "eos_token", tokens);
  std::string source;
  if (need_source) {
    KY_ASSIGN_OR_RETURN(source, gguf->get_string("tokenizer.chat_template"));
  }
  return chat::chat_template_from_gguf_string(std::move(source), std::move(tokens));
}

int render(const TemplateArgs& args) {
  std::ios::sync_with_stdio(false);
  const std::string input(std::istreambuf_iterator<char>(std::cin), std::istreambuf_iterator<char>{});
  const auto request = nlohmann::ordered_json::parse(input, nullptr, /*allow_exceptions=*/false);
  if (request.is_discarded() || !request.is_object()) return fail("stdin: expected one JSON object with \"messages\"");
  chat::ChatTemplateInputs inputs;
  if (!request.contains("messages") || !request["messages"].is_array())
    return fail("stdin: \"messages\" must be a JSON array");
  inputs.messages = request["messages"];
  if (request.contains("tools")) inputs.tools = request["tools"];
  if (request.contains("add_generation_prompt")) {
    if (!request["add_generation_prompt"].is_boolean()) return fail("stdin: \"add_generation_prompt\" must be a boolean");
    inputs.add_generation_prompt = request["add_generation_prompt"].get<bool>();
  }
  if (request.contains("extra_template_kwargs") && !request["extra_template_kwargs"].is_null()) {
    if (!request["extra_template_kwargs"].is_object()) return fail("stdin: \"extra_template_kwargs\" must be an object");
    inputs.extra = request["extra_template_kwargs"];
  }
  const bool has_tools = !inputs.tools.is_null();
  auto model = load_model_template(args.path, has_tools, args.template_file.empty());
  if (!model.is_ok()) return fail(model.status().message());
  std::string source = model->source;
  if (!args.template_file.empty()) {
    auto file = read_text_file(args.template_file);
    if (!file.is_ok()) return fail(file.status().message());
    source = std::move(file).value();
  }
  inputs.special_tokens = model->special_tokens;
  auto rendered = chat::render_chat_template(source, inputs);
  if (!rendered.is_ok()) return fail(rendered.status().message());
  std::fwrite(rendered->data(), 1, rendered->size(), stdout);
  std::fflush(stdout);
  return 0;
}

const bool kRegistered = add_command(
    "template", "Render the model's chat template for the JSON conversation on stdin", [](CLI::App& sub) -> RunFn {
      auto args = std::make_shared<TemplateArgs>();
      sub.add_option("path", args->path, "Model folder (tokenizer_config.json) or GGUF file")->required();
      sub.add_option("--template", args->template_file, "Use this .jinja file instead of the model's template");
      return [args] { return render(*args); };
    });

}  // namespace
}  // namespace kaiyuan::cli
