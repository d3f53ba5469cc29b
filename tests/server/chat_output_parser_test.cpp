// Tool-call and reasoning parsing: whole text and the same text fed one character at a time give
// the same result (so streaming and non-streaming answers agree).
#include "server/chat_output_parser.h"

#include <gtest/gtest.h>

namespace kaiyuan::server {
namespace {

struct Collected {
  std::string content, reasoning;
  std::vector<ParsedToolCall> calls;
};

void add(Collected& c, const ChatDelta& d) {
  c.content += d.content;
  c.reasoning += d.reasoning;
  for (const auto& t : d.tool_calls) c.calls.push_back(t);
}

Collected whole(const std::string& text, bool tools, bool in_reasoning = false) {
  ChatOutputParser p(tools, in_reasoning);
  Collected c;
  add(c, p.push(text));
  add(c, p.finish());
  return c;
}

Collected by_char(const std::string& text, bool tools, bool in_reasoning = false) {
  ChatOutputParser p(tools, in_reasoning);
  Collected c;
  for (char ch : text) add(c, p.push(std::string(1, ch)));
  add(c, p.finish());
  return c;
}

void expect_same(const Collected& a, const Collected& b) {
  EXPECT_EQ(a.content, b.content);
  EXPECT_EQ(a.reasoning, b.reasoning);
  ASSERT_EQ(a.calls.size(), b.calls.size());
  for (size_t i = 0; i < a.calls.size(); ++i) {
    EXPECT_EQ(a.calls[i].name, b.calls[i].name);
    EXPECT_EQ(a.calls[i].arguments, b.calls[i].arguments);
    EXPECT_EQ(a.calls[i].index, b.calls[i].index);
  }
}

TEST(ChatOutputParser, HermesToolCalls) {
  const std::string text =
      "Let me check.\n<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Paris\"}}\n</tool_call>\n"
      "<tool_call>\n{\"name\": \"get_time\", \"arguments\": {}}\n</tool_call>";
  for (const Collected& c : {whole(text, true), by_char(text, true)}) {
    EXPECT_EQ(c.content, "Let me check.\n\n");
    ASSERT_EQ(c.calls.size(), 2u);
    EXPECT_EQ(c.calls[0].name, "get_weather");
    EXPECT_EQ(c.calls[0].arguments, "{\"city\":\"Paris\"}");
    EXPECT_EQ(c.calls[0].index, 0);
    EXPECT_EQ(c.calls[1].name, "get_time");
    EXPECT_EQ(c.calls[1].arguments, "{}");
    EXPECT_EQ(c.calls[1].index, 1);
    EXPECT_EQ(c.calls[0].id.rfind("call_", 0), 0u);
    EXPECT_NE(c.calls[0].id, c.calls[1].id);
  }
}

TEST(ChatOutputParser, MalformedCallsStayText) {
  for (const std::string text : {"<tool_call>{\"name\": \"f\", \"arguments\": {</tool_call> ok",
                                 "<tool_call>{\"arguments\": {}}</tool_call>",
                                 "<tool_call>{\"name\": \"f\"",  // never closed
                                 "a <tool_call"}) {
    const Collected c = whole(text, true);
    EXPECT_EQ(c.content, text);
    EXPECT_TRUE(c.calls.empty());
    expect_same(c, by_char(text, true));
  }
}

TEST(ChatOutputParser, TagsAreTextWithoutTools) {
  const std::string text = "<tool_call>{\"name\": \"f\", \"arguments\": {}}</tool_call>";
  const Collected c = by_char(text, false);
  EXPECT_EQ(c.content, text);
  EXPECT_TRUE(c.calls.empty());
}

TEST(ChatOutputParser, ThinkBecomesReasoning) {
  const std::string text = "<think>\nThe user greets.\n</think>\n\nHello!";
  for (const Collected& c : {whole(text, false), by_char(text, false)}) {
    EXPECT_EQ(c.reasoning, "\nThe user greets.\n");
    EXPECT_EQ(c.content, "Hello!");
  }
  // The prompt opened the block (DeepSeek-R1 style): output starts inside it.
  const Collected r = by_char("pondering</think>answer", false, true);
  EXPECT_EQ(r.reasoning, "pondering");
  EXPECT_EQ(r.content, "answer");
  // <think> after content is plain text.
  const Collected late = by_char("Hi <think>x</think>", false);
  EXPECT_EQ(late.content, "Hi <think>x</think>");
  EXPECT_TRUE(late.reasoning.empty());
}

TEST(ChatOutputParser, ReasoningThenToolCall) {
  const std::string text = "<think>need weather</think>\n<tool_call>{\"name\":\"w\",\"arguments\":{\"a\":1}}</tool_call>";
  const Collected c = by_char(text, true);
  EXPECT_EQ(c.reasoning, "need weather");
  ASSERT_EQ(c.calls.size(), 1u);
  EXPECT_EQ(c.calls[0].arguments, "{\"a\":1}");
  expect_same(c, whole(text, true));
}

TEST(ChatOutputParser, ArgumentsGivenAsString) {
  ParsedToolCall call;
  ASSERT_TRUE(parse_tool_call_json(R"({"name":"f","arguments":"{\"x\":1}"})", call));
  EXPECT_EQ(call.arguments, "{\"x\":1}");
  EXPECT_FALSE(parse_tool_call_json(R"({"name":"f","arguments":[1]})", call));
  EXPECT_FALSE(parse_tool_call_json(R"([1])", call));
}

}  // namespace
}  // namespace kaiyuan::server
