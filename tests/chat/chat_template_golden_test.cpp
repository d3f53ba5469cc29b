// Every case of fixtures/tokenizers/*/golden_chat.json (rendered by transformers.js
// apply_chat_template): the rendering must match byte for byte, and cases that raised must fail
// with a message containing the reference error.
#include <gtest/gtest.h>

#include "chat/chat_template.h"
#include "support/test_support.h"

namespace kaiyuan::chat {
namespace {

using nlohmann::ordered_json;

ordered_json read_ordered(const std::string& path) { return ordered_json::parse(test::read_file(path)); }

class GoldenChat : public ::testing::TestWithParam<std::string> {};

TEST_P(GoldenChat, MatchesTransformersRendering) {
  const std::string family_dir = test::fixture_path("tokenizers/" + GetParam());
  const ordered_json golden = read_ordered(family_dir + "/golden_chat.json");
  const ordered_json config = read_ordered(family_dir + "/tokenizer_config.json");
  ASSERT_FALSE(golden["cases"].empty());
  int checked = 0;
  for (const ordered_json& c : golden["cases"]) {
    const std::string which = c["template"].get<std::string>();
    const bool has_tools = !c["tools"].is_null();
    std::string source;
    if (which == "tokenizer_config.json:chat_template") {
      Result<ModelChatTemplate> model = load_chat_template_from_folder(family_dir, has_tools);
      ASSERT_TRUE(model.is_ok()) << model.status().message();
      source = model->source;
    } else {
      source = test::read_file(family_dir + "/" + which);
    }
    ChatTemplateInputs inputs;
    inputs.messages = c["messages"];
    inputs.tools = c["tools"];
    inputs.add_generation_prompt = c["add_generation_prompt"].get<bool>();
    inputs.extra = c["extra_template_kwargs"];
    inputs.special_tokens = special_tokens_from_config(config);
    const std::string label = which + " / " + c["conversation_id"].get<std::string>();
    Result<std::string> rendered = render_chat_template(source, inputs);
    if (c.contains("error") && !c["error"].is_null()) {
      ASSERT_FALSE(rendered.is_ok()) << label << " rendered but should fail with: " << c["error"];
      EXPECT_NE(rendered.status().message().find(c["error"].get<std::string>()), std::string::npos)
          << label << ": got error " << rendered.status().message();
    } else {
      ASSERT_TRUE(rendered.is_ok()) << label << ": " << rendered.status().message();
      EXPECT_EQ(*rendered, c["rendered"].get<std::string>()) << label;
    }
    ++checked;
  }
  EXPECT_EQ(checked, static_cast<int>(golden["cases"].size()));
}

INSTANTIATE_TEST_SUITE_P(Families, GoldenChat, ::testing::Values("qwen3", "deepseek_v3", "llama3", "llama3_1"));

}  // namespace
}  // namespace kaiyuan::chat
