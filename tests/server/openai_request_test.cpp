// Request parsing/validation against OpenAI's documented parameter types and ranges.
#include "server/openai_request.h"

#include <gtest/gtest.h>

#include <limits>

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

// Every field whose size a client picks has a bound with a 400 naming it, negative and huge values
// included (llama.cpp CVE-2026-21869 was an out-of-bounds write from a negative request field).
TEST(OpenAiRequest, ResourceLimitsNameTheParameter) {
  const json huge = json(std::numeric_limits<int64_t>::max());
  const json too_big_unsigned = json(std::numeric_limits<uint64_t>::max());
  const std::string long_stop(1025, 's');
  json many_messages = json::array();
  for (int i = 0; i < 2049; ++i) many_messages.push_back({{"role", "user"}, {"content", "x"}});
  json tool = {{"type", "function"}, {"function", {{"name", "f"}}}};
  json many_tools = json::array();
  for (int i = 0; i < 129; ++i) many_tools.push_back(tool);
  json big_tool = {{"type", "function"}, {"function", {{"name", "f"}, {"description", std::string(1u << 20, 'd')}}}};
  json big_bias = json::object();
  for (int i = 0; i < 1025; ++i) big_bias[std::to_string(i)] = 1;
  const std::vector<std::pair<json, std::string>> cases = {
      {{{"n", -1}}, "n"},
      {{{"n", 129}}, "n"},
      {{{"n", huge}}, "n"},
      {{{"n", too_big_unsigned}}, "n"},
      {{{"max_tokens", -2147483648LL}}, "max_tokens"},
      {{{"max_tokens", 2147483648LL}}, "max_tokens"},
      {{{"max_completion_tokens", -5}}, "max_completion_tokens"},
      {{{"max_tokens", too_big_unsigned}}, "max_tokens"},
      {{{"logprobs", true}, {"top_logprobs", -1}}, "top_logprobs"},
      {{{"logprobs", true}, {"top_logprobs", huge}}, "top_logprobs"},
      {{{"logprobs", 1}}, "logprobs"},
      {{{"top_k", -2}}, "top_k"},
      {{{"top_k", huge}}, "top_k"},
      {{{"stop", long_stop}}, "stop"},
      {{{"stop", {"a", long_stop}}}, "stop"},
      {{{"messages", many_messages}}, "messages"},
      {{{"tools", many_tools}}, "tools"},
      {{{"tools", {big_tool}}}, "tools"},
      {{{"logit_bias", big_bias}}, "logit_bias"},
      {{{"logit_bias", {{"-5", 1}}}}, "logit_bias"},
      {{{"logit_bias", {{"99999999999", 1}}}}, "logit_bias"},
      {{{"user", std::string(257, 'u')}}, "user"},
  };
  for (const auto& [fields, param] : cases) {
    json body = {{"model", "m"}, {"messages", kMessages}};
    body.update(fields);
    ApiError e = chat_error(body);
    EXPECT_EQ(e.status, 400) << fields.dump().substr(0, 200);
    EXPECT_EQ(e.param, param) << fields.dump().substr(0, 200) << " -> " << e.message;
  }
  // Just inside every bound is accepted.
  json at_bounds = {{"model", "m"}, {"messages", kMessages}, {"n", 128}, {"max_tokens", 2147483647},
                    {"stop", {std::string(1024, 's'), "b", "c", "d"}}, {"logprobs", true}, {"top_logprobs", 20}};
  many_messages.erase(many_messages.begin());
  at_bounds["messages"] = many_messages;
  many_tools.erase(many_tools.begin());
  at_bounds["tools"] = many_tools;
  OpenAiRequest r = ok_chat(at_bounds);
  EXPECT_EQ(r.n, 128);
  EXPECT_EQ(r.messages.size(), 2048u);
}

TEST(OpenAiRequest, CompletionLimits) {
  auto error_of = [](const json& fields) {
    json body = {{"model", "m"}, {"prompt", "x"}};
    body.update(fields);
    auto r = parse_completion_request(body);
    EXPECT_TRUE(std::holds_alternative<ApiError>(r)) << fields.dump().substr(0, 200);
    return std::holds_alternative<ApiError>(r) ? std::get<ApiError>(r) : ApiError{};
  };
  EXPECT_EQ(error_of({{"logprobs", -1}}).param, "logprobs");
  EXPECT_EQ(error_of({{"logprobs", 6}}).param, "logprobs");
  EXPECT_EQ(error_of({{"max_tokens", -1}}).param, "max_tokens");
  EXPECT_EQ(error_of({{"prompt", {-1, 5}}}).param, "prompt");
  EXPECT_EQ(error_of({{"prompt", {1, 4294967296LL}}}).param, "prompt");
  EXPECT_EQ(error_of({{"prompt", json::array({json::array({-7})})}}).param, "prompt");
  json many = json::array();
  for (int i = 0; i < 2049; ++i) many.push_back("p");
  EXPECT_EQ(error_of({{"prompt", many}}).param, "prompt");
  // Every (prompt, n) pair is one engine submission: their product is bounded, not each alone.
  EXPECT_EQ(error_of({{"prompt", {"a", "b"}}, {"n", 65}}).param, "n");
  EXPECT_TRUE(std::holds_alternative<OpenAiRequest>(
      parse_completion_request({{"model", "m"}, {"prompt", {"a", "b"}}, {"n", 64}})));
}

TEST(OpenAiRequest, BodyParsingRefusesDeepNestingAndBadJson) {
  auto depth = [](int levels) { return std::string(levels, '[') + std::string(levels, ']'); };
  EXPECT_TRUE(std::holds_alternative<json>(parse_request_body(depth(kMaxJsonDepth))));
  for (const std::string& bad : {depth(kMaxJsonDepth + 1), depth(1000000), std::string("{\"a\": [") + depth(200) + "]}",
                                 std::string("{"), std::string("{\"a\": \"\xff\"}"), std::string("")}) {
    auto r = parse_request_body(bad);
    ASSERT_TRUE(std::holds_alternative<ApiError>(r)) << bad.substr(0, 40);
    EXPECT_EQ(std::get<ApiError>(r).status, 400);
  }
  // Brackets inside strings (escaped quotes included) are text, not nesting.
  const std::string in_string = "{\"a\": \"\\\"" + std::string(1000, '[') + "\"}";
  auto ok = parse_request_body(in_string);
  ASSERT_TRUE(std::holds_alternative<json>(ok));
  EXPECT_EQ(std::get<json>(ok)["a"].get<std::string>().size(), 1001u);
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
