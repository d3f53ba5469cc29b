// `kaiyuan template` run as a user would, against the transformers.js chat goldens.
#include <gtest/gtest.h>

#include <fstream>
#include <string>

#include <nlohmann/json.hpp>

#include "support/test_support.h"

namespace kaiyuan {
namespace {

using nlohmann::ordered_json;

std::string quoted(const std::string& s) { return "'" + s + "'"; }

std::string request_json(const ordered_json& c) {
  ordered_json request;
  request["messages"] = c["messages"];
  request["tools"] = c["tools"];
  request["add_generation_prompt"] = c["add_generation_prompt"];
  request["extra_template_kwargs"] = c["extra_template_kwargs"];
  return request.dump();
}

TEST(TemplateCli, FolderAndTemplateFileMatchGoldens) {
  for (const char* family : {"qwen3", "llama3_1"}) {
    const std::string dir = test::fixture_path(std::string("tokenizers/") + family);
    const ordered_json golden = ordered_json::parse(test::read_file(dir + "/golden_chat.json"));
    for (const ordered_json& c : golden["cases"]) {
      const std::string which = c["template"].get<std::string>();
      std::string command = quoted(test::kaiyuan_binary()) + " template " + quoted(dir);
      if (which != "tokenizer_config.json:chat_template") command += " --template " + quoted(dir + "/" + which);
      const std::string label = which + " / " + c["conversation_id"].get<std::string>();
      if (!c["error"].is_null()) {
        const auto r = test::run_command(command + " 2>&1", request_json(c));
        EXPECT_NE(r.exit_code, 0) << label;
        EXPECT_NE(r.out.find(c["error"].get<std::string>()), std::string::npos) << label << ": " << r.out;
        continue;
      }
      const auto r = test::run_command(command, request_json(c));
      EXPECT_EQ(r.exit_code, 0) << label;
      EXPECT_EQ(r.out, c["rendered"].get<std::string>()) << label;
    }
  }
}

TEST(TemplateCli, TemplateErrorExitsNonZeroWithLine) {
  const std::string dir = test::temp_dir();
  const std::string tmpl = dir + "/broken.jinja";
  std::ofstream(tmpl) << "ok\n{% for m in messages %}\n{{ m.content | no_such_filter }}{% endfor %}";
  const auto r = test::run_command(quoted(test::kaiyuan_binary()) + " template " +
                                       quoted(test::fixture_path("tokenizers/qwen3")) + " --template " + quoted(tmpl) +
                                       " 2>&1",
                                   R"({"messages":[{"role":"user","content":"hi"}]})");
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.out.find("template line 3"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("no_such_filter"), std::string::npos) << r.out;
}

}  // namespace
}  // namespace kaiyuan
