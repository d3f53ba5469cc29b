// Request parsing/validation against OpenAI's documented parameter types and ranges.
#include "server/openai_request.h"

#include <gtest/gtest.h>

namespace kaiyuan::server {
namespace {

using nlohmann::json;

OpenAiRequest ok_chat(const json& body) {
  auto r = parse_chat_request(body);
  if (auto* e = std::get_if<ApiError>(&r)) ADD_FAILURE() << e->message;
  return std::holds_alternative<OpenAiRequest>(r) ? std::get<OpenAiRequest>(r) : OpenAiRequest{};
}

ApiError chat_error(const json& body) {
  auto r = parse_chat_request(body);
  EXPECT_TRUE(std::holds_alternative<ApiError>(r)) << body.dump();
  return std::holds_alternative<ApiError>(r) ? std::get<ApiError>(r) : ApiError{};
}

const json kMessages = json::array({{{"role", "user"}, {"content", "hi"}}});

TEST(OpenAiRequest, ChatDefaultsFollowOpenAi) {
  OpenAiRequest r = ok_chat({{"model", "m"}, {"messages", kMessages}, {"some_future_field", {1, 2}}});
  EXPECT_TRUE(r.chat);
  EXPECT_EQ(r.model, "m");
  EXPECT_FLOAT_EQ(r.sampling.temperature, 1.0f);
  EXPECT_FLOAT_EQ(r.sampling.top_p, 1.0f);
  EXPECT_EQ(r.sampling.top_k, 0);
  EXPECT_EQ(r.n, 1);
  EXPECT_FALSE(r.max_tokens.has_value());
  EXPECT_FALSE(r.stream);
  EXPECT_TRUE(r.tools.is_null());
}

TEST(OpenAiRequest, ChatReadsEveryParameter) {
  OpenAiRequest r = ok_chat({{"model", "m"},
                             {"messages", json::array({{{"role", "user"},
                                                        {"content", json::array({{{"type", "text"}, {"text", "a"}},
                                                                                 {{"type", "text"}, {"text", "b"}}})}}})},
                             {"max_completion_tokens", 7},
                             {"temperature", 0},
                             {"top_p", 0.5},
                             {"n", 3},
                             {"stop", "x"},
                             {"seed", 42},
                             {"presence_penalty", 0.5},
                             {"frequency_penalty", -0.5},
                             {"logprobs", true},
                             {"top_logprobs", 3},
                             {"stream", true},
                             {"stream_options", {{"include_usage", true}}},
                             {"logit_bias", {{"300", 100}, {"7", -5.5}}},
                             {"user", "u"}});
  EXPECT_EQ(r.messages[0]["content"], "ab");
  EXPECT_EQ(*r.max_tokens, 7);
  EXPECT_FLOAT_EQ(r.sampling.temperature, 0.0f);
  EXPECT_FLOAT_EQ(r.sampling.top_p, 0.5f);
  EXPECT_EQ(r.n, 3);
  EXPECT_EQ(r.stop, std::vector<std::string>{"x"});
  EXPECT_EQ(*r.seed, 42u);
  EXPECT_FLOAT_EQ(r.sampling.presence_penalty, 0.5f);
  EXPECT_FLOAT_EQ(r.sampling.frequency_penalty, -0.5f);
  EXPECT_TRUE(r.logprobs);
  EXPECT_EQ(r.top_logprobs, 3);
  EXPECT_TRUE(r.stream);
  EXPECT_TRUE(r.include_usage);
  ASSERT_EQ(r.logit_bias.size(), 2u);
  EXPECT_EQ(r.user, "u");
}

TEST(OpenAiRequest, WrongTypesNameTheParameter) {
  const std::vector<std::pair<json, std::string>> cases = {
      {{{"model", 5}, {"messages", kMessages}}, "model"},
      {{{"model", "m"}, {"messages", "hi"}}, "messages"},
      {{{"model", "m"}, {"messages", json::array()}}, "messages"},
      {{{"model", "m"}, {"messages", kMessages}, {"temperature", "hot"}}, "temperature"},
      {{{"model", "m"}, {"messages", kMessages}, {"temperature", 2.5}}, "temperature"},
      {{{"model", "m"}, {"messages", kMessages}, {"max_tokens", 1.5}}, "max_tokens"},
      {{{"model", "m"}, {"messages", kMessages}, {"max_tokens", -1}}, "max_tokens"},
      {{{"model", "m"}, {"messages", kMessages}, {"n", 0}}, "n"},
      {{{"model", "m"}, {"messages", kMessages}, {"stream", "yes"}}, "stream"},
      {{{"model", "m"}, {"messages", kMessages}, {"stop", 3}}, "stop"},
      {{{"model", "m"}, {"messages", kMessages}, {"stop", {"a", "b", "c", "d", "e"}}}, "stop"},
      {{{"model", "m"}, {"messages", kMessages}, {"logit_bias", {{"abc", 1}}}}, "logit_bias"},
      {{{"model", "m"}, {"messages", kMessages}, {"logit_bias", {{"5", 101}}}}, "logit_bias"},
      {{{"model", "m"}, {"messages", kMessages}, {"top_logprobs", 2}}, "top_logprobs"},
      {{{"model", "m"}, {"messages", kMessages}, {"logprobs", true}, {"top_logprobs", 21}}, "top_logprobs"},
      {{{"model", "m"}, {"messages", json::array({{{"role", "wizard"}, {"content", "x"}}})}}, "messages[0].role"},
      {{{"model", "m"}, {"messages", json::array({{{"role", "user"}, {"content", 5}}})}}, "messages[0].content"},
      {{{"model", "m"}, {"messages", kMessages}, {"tools", {{"type", "function"}}}}, "tools"},
      {{{"model", "m"}, {"messages", kMessages}, {"tool_choice", "sometimes"}}, "tool_choice"},
  };
  for (const auto& [body, param] : cases) {
    ApiError e = chat_error(body);
    EXPECT_EQ(e.status, 400) << body.dump();
    EXPECT_EQ(e.param, param) << body.dump() << " -> " << e.message;
    EXPECT_EQ(e.to_json()["error"]["type"], "invalid_request_error");
  }
  EXPECT_EQ(chat_error(json::array()).status, 400);
  EXPECT_EQ(chat_error({{"messages", kMessages}}).param, "model");
}

TEST(OpenAiRequest, CompletionPrompts) {
  auto parse = [](const json& prompt) {
    auto r = parse_completion_request({{"model", "m"}, {"prompt", prompt}});
    return r;
  };
  auto one = std::get<OpenAiRequest>(parse("Once"));
  ASSERT_EQ(one.prompts.size(), 1u);
  EXPECT_EQ(one.prompts[0].text, "Once");
  EXPECT_EQ(*one.max_tokens, 16);  // OpenAI's completions default
  auto ids = std::get<OpenAiRequest>(parse({1, 403}));
  ASSERT_EQ(ids.prompts.size(), 1u);
  EXPECT_TRUE(ids.prompts[0].is_ids);
  EXPECT_EQ(ids.prompts[0].ids, (std::vector<int32_t>{1, 403}));
  auto many = std::get<OpenAiRequest>(parse({"a", "b"}));
  EXPECT_EQ(many.prompts.size(), 2u);
  auto id_lists = std::get<OpenAiRequest>(parse(json::array({{1, 2}, {3}})));
  EXPECT_EQ(id_lists.prompts.size(), 2u);
  for (const json& bad : {json(5), json::array(), json({1, "a"}), json({-1}), json({{"x", 1}})})
    EXPECT_EQ(std::get<ApiError>(parse(bad)).param, "prompt") << bad.dump();
  auto lp = std::get<OpenAiRequest>(parse_completion_request({{"model", "m"}, {"prompt", "x"}, {"logprobs", 3}}));
  EXPECT_TRUE(lp.logprobs);
  EXPECT_EQ(lp.top_logprobs, 3);
  EXPECT_EQ(std::get<ApiError>(parse_completion_request({{"model", "m"}, {"prompt", "x"}, {"logprobs", 6}})).param,
            "logprobs");
}

TEST(OpenAiRequest, AssistantToolCallArgumentsBecomeObjectsForTemplates) {
  json msgs = json::array({{{"role", "user"}, {"content", "weather?"}},
                           {{"role", "assistant"},
                            {"content", nullptr},
                            {"tool_calls",
                             {{{"id", "call_1"},
                               {"type", "function"},
                               {"function", {{"name", "get_weather"}, {"arguments", "{\"city\":\"Paris\"}"}}}}}}},
                           {{"role", "tool"}, {"tool_call_id", "call_1"}, {"content", "sunny"}}});
  OpenAiRequest r = ok_chat({{"model", "m"}, {"messages", msgs}});
  EXPECT_EQ(r.messages[1]["tool_calls"][0]["function"]["arguments"]["city"], "Paris");
  EXPECT_TRUE(r.messages[1]["content"].is_null());
}

TEST(ApiError, Shape) {
  const json j = invalid_param("temperature", "bad").to_json();
  EXPECT_EQ(j, json::parse(R"({"error":{"message":"bad","type":"invalid_request_error","param":"temperature","code":null}})"));
  const json u = unauthorized().to_json();
  EXPECT_EQ(unauthorized().status, 401);
  EXPECT_EQ(u["error"]["code"], "invalid_api_key");
  EXPECT_TRUE(u["error"]["param"].is_null());
}

}  // namespace
}  // namespace kaiyuan::server
