// Tool-call and reasoning parsing: whole text and the same text fed one character at a time give
// the same result (so streaming and non-streaming answers agree), and every call's streamed pieces
// add up to the call (the piece-by-piece protocol itself: tool_call_streaming_test.cpp). Each format is also checked by a
// round trip through the model's real chat template: the assistant tool-call message it renders,
// fed back to the parser, gives the same calls.
#include "server/chat_output_parser.h"

#include <gtest/gtest.h>

#include "chat/chat_template.h"
#include "test_support.h"

namespace kaiyuan::server {
namespace {

struct Collected {
  std::string content, reasoning;
  std::vector<ParsedToolCall> calls;
  std::vector<ToolCallDelta> streamed;  // per index: id and name from the first piece, arguments summed
};

void add(Collected& c, const ChatDelta& d) {
  c.content += d.content;
  c.reasoning += d.reasoning;
  for (const auto& t : d.tool_calls) c.calls.push_back(t);
  for (const auto& t : d.tool_call_deltas) {
    if (t.index == static_cast<int>(c.streamed.size())) c.streamed.push_back({t.index, t.id, t.name, ""});
    ASSERT_LT(t.index, static_cast<int>(c.streamed.size())) << "indices are given in order";
    c.streamed[t.index].arguments += t.arguments;
  }
}

// What a streaming client assembles for each valid call is that call.
void expect_streamed_calls(const Collected& c) {
  for (const ParsedToolCall& call : c.calls) {
    ASSERT_LT(call.index, static_cast<int>(c.streamed.size()));
    const ToolCallDelta& s = c.streamed[call.index];
    EXPECT_EQ(s.id, call.id);
    EXPECT_EQ(s.name, call.name);
    EXPECT_EQ(s.arguments, call.arguments);
  }
}

Collected whole(const std::string& text, bool tools, bool in_reasoning = false,
                ToolCallFormat format = ToolCallFormat::kHermes) {
  ChatOutputParser p(tools, in_reasoning, format);
  Collected c;
  add(c, p.push(text));
  add(c, p.finish());
  expect_streamed_calls(c);
  return c;
}

Collected by_char(const std::string& text, bool tools, bool in_reasoning = false,
                  ToolCallFormat format = ToolCallFormat::kHermes) {
  ChatOutputParser p(tools, in_reasoning, format);
  Collected c;
  for (char ch : text) add(c, p.push(std::string(1, ch)));
  add(c, p.finish());
  expect_streamed_calls(c);
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
    EXPECT_EQ(c.calls[0].arguments, "{\"city\": \"Paris\"}");  // the model's text, as written
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
  const Collected c = by_char(R"(<tool_call>{"name":"f","arguments":"{\"x\": 1}"}</tool_call>)", true);
  ASSERT_EQ(c.calls.size(), 1u);
  EXPECT_EQ(c.calls[0].arguments, "{\"x\": 1}");  // decoded: OpenAI's arguments are that string
  for (const std::string text : {R"(<tool_call>{"name":"f","arguments":[1]}</tool_call>)",
                                 R"(<tool_call>{"name":"f","arguments":"[1]"}</tool_call>)",
                                 R"(<tool_call>[1]</tool_call>)",
                                 R"(<tool_call>{"name":"f","arguments":{},"arguments":{}}</tool_call>)",
                                 R"(<tool_call>{"name":"f","arguments":{"a":tru}}</tool_call>)"}) {
    EXPECT_TRUE(by_char(text, true).calls.empty()) << text;
    EXPECT_EQ(whole(text, true).content, text);
  }
}


// ---- Round trips through the real chat templates -------------------------------------------------

using nlohmann::ordered_json;

struct TemplateCase {
  std::string file;  // under tokenizers/
  ToolCallFormat format;
  std::string bos;
  bool arguments_as_text;  // OpenAI's string form (templates that concatenate it need it)
  int n_calls;             // Llama templates accept exactly one
};

// What a chat template renders for an assistant message with `calls`, minus the end-of-turn token
// the engine stops on (it never reaches the parser): the full conversation minus the prompt.
std::string rendered_assistant_turn(const TemplateCase& tc, const ordered_json& calls) {
  const std::string source = test::read_file(test::fixture_path("tokenizers/" + tc.file));
  chat::ChatTemplateInputs in;
  in.special_tokens["bos_token"] = tc.bos;
  in.messages.push_back({{"role", "user"}, {"content", "What is the weather in Paris?"}});
  in.add_generation_prompt = true;
  auto prompt = chat::render_chat_template(source, in);
  EXPECT_TRUE(prompt) << prompt.status().message();
  in.messages.push_back({{"role", "assistant"}, {"content", nullptr}, {"tool_calls", calls}});
  in.add_generation_prompt = false;
  auto full = chat::render_chat_template(source, in);
  EXPECT_TRUE(full) << full.status().message();
  if (!prompt || !full) return "";
  // The generation prompt may open a block (R1: "<think>\n") that a tool-call turn does not repeat.
  size_t common = 0;
  while (common < prompt->size() && common < full->size() && (*prompt)[common] == (*full)[common]) ++common;
  // Diverging inside a tag ("<think>" vs "<｜tool▁calls▁begin｜>"): the turn starts at that tag.
  if (common < prompt->size() && common > 0) {
    const size_t open = full->rfind('<', common - 1), close = full->rfind('>', common - 1);
    if (open != std::string::npos && (close == std::string::npos || close < open)) common = open;
  }
  std::string turn = full->substr(common);
  for (const std::string eot : {"<｜end▁of▁sentence｜>", "<|eot_id|>", "<|eom_id|>", "<|im_end|>\n", "<|im_end|>"})
    if (turn.size() >= eot.size() && turn.compare(turn.size() - eot.size(), eot.size(), eot) == 0)
      turn.erase(turn.size() - eot.size());
  return turn;
}

class TemplateRoundTrip : public ::testing::TestWithParam<TemplateCase> {};

TEST_P(TemplateRoundTrip, RenderedCallsParseBack) {
  const TemplateCase& tc = GetParam();
  const std::string source = test::read_file(test::fixture_path("tokenizers/" + tc.file));
  EXPECT_EQ(tool_call_format_for_template(source), tc.format);

  const ordered_json args[2] = {{{"city", "Paris"}, {"unit", "celsius"}}, {{"zone", "Europe/Paris"}}};
  const std::string names[2] = {"get_weather", "get_time"};
  ordered_json calls = ordered_json::array();
  for (int i = 0; i < tc.n_calls; ++i)
    calls.push_back({{"id", "call_" + std::to_string(i)},
                     {"type", "function"},
                     {"function", {{"name", names[i]}, {"arguments", tc.arguments_as_text ? ordered_json(args[i].dump()) : args[i]}}}});
  const std::string turn = rendered_assistant_turn(tc, calls);
  ASSERT_FALSE(turn.empty());
  SCOPED_TRACE(turn);
  for (const Collected& c : {whole(turn, true, false, tc.format), by_char(turn, true, false, tc.format)}) {
    EXPECT_EQ(c.content.find_first_not_of(" \n"), std::string::npos) << c.content;  // Hermes: newlines between tags
    ASSERT_EQ(c.calls.size(), static_cast<size_t>(tc.n_calls));
    for (int i = 0; i < tc.n_calls; ++i) {
      EXPECT_EQ(c.calls[i].index, i);
      EXPECT_EQ(c.calls[i].name, names[i]);
      EXPECT_EQ(nlohmann::json::parse(c.calls[i].arguments), nlohmann::json::parse(args[i].dump()));
      // The arguments are the text as written: an object as is, a JSON string (`"{\"city\": ...}"`) decoded.
      const std::string& written = c.calls[i].arguments;
      EXPECT_TRUE(turn.find(written) != std::string::npos || turn.find(nlohmann::json(written).dump()) != std::string::npos)
          << written;
    }
  }
  // Without tools offered the same text is plain content.
  EXPECT_EQ(by_char(turn, false, false, tc.format).content, turn);
}

const char kDeepSeekBos[] = "<｜begin▁of▁sentence｜>";
const char kLlamaBos[] = "<|begin_of_text|>";

INSTANTIATE_TEST_SUITE_P(
    RealTemplates, TemplateRoundTrip,
    ::testing::Values(
        TemplateCase{"deepseek_v3/chat_templates/tokenizer_config.jinja", ToolCallFormat::kDeepSeek, kDeepSeekBos, true, 1},
        TemplateCase{"deepseek_v3/chat_templates/tokenizer_config.jinja", ToolCallFormat::kDeepSeek, kDeepSeekBos, true, 2},
        TemplateCase{"deepseek_v3/chat_templates/deepseek-ai-DeepSeek-R1-Distill-Qwen-32B.jinja", ToolCallFormat::kDeepSeek, kDeepSeekBos, true, 2},
        TemplateCase{"deepseek_v3/chat_templates/deepseek-ai-DeepSeek-R1-Distill-Llama-8B.jinja", ToolCallFormat::kDeepSeek, kDeepSeekBos, true, 1},
        TemplateCase{"deepseek_v3/chat_templates/deepseek-ai-DeepSeek-V3.1.jinja", ToolCallFormat::kDeepSeek, kDeepSeekBos, false, 2},
        TemplateCase{"deepseek_v3/chat_templates/deepseek-ai-DeepSeek-V3.1.jinja", ToolCallFormat::kDeepSeek, kDeepSeekBos, true, 1},
        TemplateCase{"llama3_1/chat_templates/meta-llama-Llama-3.1-8B-Instruct.jinja", ToolCallFormat::kLlamaJson, kLlamaBos, false, 1},
        TemplateCase{"llama3_1/chat_templates/meta-llama-Llama-3.2-3B-Instruct.jinja", ToolCallFormat::kLlamaJson, kLlamaBos, false, 1},
        TemplateCase{"llama3_1/chat_templates/meta-llama-Llama-3.3-70B-Instruct.jinja", ToolCallFormat::kLlamaJson, kLlamaBos, false, 1},
        TemplateCase{"qwen3/chat_templates/Qwen-Qwen2.5-7B-Instruct.jinja", ToolCallFormat::kHermes, "", false, 2}));

TEST(ChatOutputParser, DeepSeekMalformedCallsStayText) {
  const std::string b = kDeepSeekCallsBegin, cb = kDeepSeekCallBegin, ce = kDeepSeekCallEnd, e = kDeepSeekCallsEnd,
                    sep = kDeepSeekSep;
  for (const std::string& text : {b + cb + "function" + sep + "f\n```json\n{\"a\": \n```" + ce + e,  // bad JSON
                                 b + cb + "f" + sep + "[1]" + ce + e,                                 // not an object
                                 b + cb + "f" + sep + "{}",                                           // never closed
                                 b + "hello",                                                         // no call
                                 "text " + b}) {
    const Collected c = whole(text, true, false, ToolCallFormat::kDeepSeek);
    EXPECT_EQ(c.content, text);
    EXPECT_TRUE(c.calls.empty());
    expect_same(c, by_char(text, true, false, ToolCallFormat::kDeepSeek));
  }
  // A good call then a bad one: the good one is kept, the bad one is text.
  const std::string mixed = "Sure." + b + cb + "f" + sep + "{\"x\":1}" + ce + cb + "g" + sep + "{" + ce + e;
  const Collected c = by_char(mixed, true, false, ToolCallFormat::kDeepSeek);
  ASSERT_EQ(c.calls.size(), 1u);
  EXPECT_EQ(c.calls[0].name, "f");
  EXPECT_EQ(c.content, "Sure." + cb + "g" + sep + "{" + ce + e);
  expect_same(c, whole(mixed, true, false, ToolCallFormat::kDeepSeek));
}

TEST(ChatOutputParser, DeepSeekReasoningThenCall) {
  const std::string text = std::string("need weather</think>\n\n") + kDeepSeekCallsBegin + kDeepSeekCallBegin + "w" +
                           kDeepSeekSep + "{\"a\":1}" + kDeepSeekCallEnd + kDeepSeekCallsEnd;
  const Collected c = by_char(text, true, true, ToolCallFormat::kDeepSeek);
  EXPECT_EQ(c.reasoning, "need weather");
  EXPECT_EQ(c.content, "");
  ASSERT_EQ(c.calls.size(), 1u);
  EXPECT_EQ(c.calls[0].arguments, "{\"a\":1}");
}

TEST(ChatOutputParser, LlamaJsonOnlyAsWholeMessage) {
  const auto llama = ToolCallFormat::kLlamaJson;
  const std::string call = R"({"name": "get_weather", "parameters": {"city": "Paris"}})";
  for (const std::string& text : {call, std::string(kLlamaPythonTag) + call, "\n " + call}) {
    const Collected c = by_char(text, true, false, llama);
    ASSERT_EQ(c.calls.size(), 1u) << text;
    EXPECT_EQ(c.calls[0].arguments, "{\"city\": \"Paris\"}");
    EXPECT_EQ(c.content, "");
    expect_same(c, whole(text, true, false, llama));
  }
  // Not the whole message, not a call object, or malformed: text, unchanged.
  for (const std::string& text : {"Calling " + call, call + " and more", std::string(R"({"name": "Bob"})"),
                                 std::string(R"({"name": "f", "parameters": {)"), std::string("<|py"), std::string("{}")}) {
    const Collected c = by_char(text, true, false, llama);
    EXPECT_TRUE(c.calls.empty()) << text;
    EXPECT_EQ(c.content, text);
    expect_same(c, whole(text, true, false, llama));
  }
}

TEST(ChatOutputParser, FormatDetection) {
  EXPECT_EQ(tool_call_format_for_template(""), ToolCallFormat::kHermes);
  EXPECT_EQ(tool_call_format_for_template("{{ '<tool_call>' }}"), ToolCallFormat::kHermes);
  EXPECT_EQ(tool_call_format_for_template("{{ '<|python_tag|>' }}"), ToolCallFormat::kLlamaJson);
  EXPECT_EQ(tool_call_format_for_template("{{ '<｜tool▁calls▁begin｜>' }}"), ToolCallFormat::kDeepSeek);
}

}  // namespace
}  // namespace kaiyuan::server
