// Inputs found by fuzz/fuzz_request (docs/FUZZING.md), parsed from text as the server parses a
// request body: nlohmann::json stores every non-negative integer read from text as unsigned, a
// path that json literals built in C++ ({"n", 0}) never take.
#include <gtest/gtest.h>

#include "server/openai_request.h"

namespace kaiyuan::server {
namespace {

using nlohmann::json;

TEST(FuzzRegressions, ZeroChoicesIsRejectedWhenParsedFromText) {
  const json chat = json::parse(R"({"model": "m", "messages": [{"role": "user", "content": "hi"}], "n": 0})");
  auto r = parse_chat_request(chat);
  ASSERT_TRUE(std::holds_alternative<ApiError>(r));
  EXPECT_NE(std::get<ApiError>(r).message.find("'n' must be between 1"), std::string::npos) << std::get<ApiError>(r).message;

  const json completion = json::parse(R"({"model": "m", "prompt": "hi", "n": 0})");
  EXPECT_TRUE(std::holds_alternative<ApiError>(parse_completion_request(completion)));
}

TEST(FuzzRegressions, UnsignedValuesInsideTheRangeStillParse) {
  const json chat = json::parse(R"({"model": "m", "messages": [{"role": "user", "content": "hi"}], "n": 3, "max_tokens": 0})");
  auto r = parse_chat_request(chat);
  ASSERT_TRUE(std::holds_alternative<OpenAiRequest>(r));
  EXPECT_EQ(std::get<OpenAiRequest>(r).n, 3);
  EXPECT_EQ(std::get<OpenAiRequest>(r).max_tokens, 0);
}

// fuzz_request (device campaign): a tool whose "type" is not a string made json::value throw
// type_error out of parse_chat_request; the server must answer 400 naming 'tools'.
TEST(FuzzRegressions, NonStringToolTypeIsAnErrorNotAnException) {
  for (const char* type : {R"({"x": 1})", "3", "null", "[\"function\"]"}) {
    const json chat = json::parse(std::string(R"({"model": "m", "messages": [{"role": "user", "content": "hi"}],
        "tools": [{"type": )") + type + R"(, "function": {"name": "f"}}]})");
    std::variant<OpenAiRequest, ApiError> r = ApiError{};
    EXPECT_NO_THROW(r = parse_chat_request(chat)) << type;
    ASSERT_TRUE(std::holds_alternative<ApiError>(r)) << type;
    EXPECT_EQ(std::get<ApiError>(r).param, "tools") << type;
  }
  const json ok = json::parse(R"({"model": "m", "messages": [{"role": "user", "content": "hi"}],
      "tools": [{"type": "function", "function": {"name": "f"}}]})");
  EXPECT_TRUE(std::holds_alternative<OpenAiRequest>(parse_chat_request(ok)));
}

}  // namespace
}  // namespace kaiyuan::server
