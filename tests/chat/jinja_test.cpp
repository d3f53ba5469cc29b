// The interpreter against Python jinja2 (expected strings in jinja2_expectations.h), plus error
// reporting and resource limits for hostile templates.
#include <gtest/gtest.h>

#include "chat/jinja/template.h"
#include "jinja2_expectations.h"

namespace kaiyuan::jinja {
namespace {

Result<std::string> render(const std::string& source, const std::vector<std::pair<std::string, Value>>& vars = {},
                           const Limits& limits = Limits()) {
  KY_ASSIGN_OR_RETURN(Template t, Template::parse(source));
  return t.render(vars, limits);
}

std::vector<std::pair<std::string, Value>> jinja2_context() {
  ValueDict d;
  d.set("b", Value::integer(1));
  d.set("a", Value::list({Value::integer(1), Value::integer(2)}));
  return {{"xs", Value::list({Value::integer(3), Value::integer(1), Value::integer(2)})},
          {"d", Value::dict(std::move(d))},
          {"s", Value::string("  Hello World  ")}};
}

TEST(Jinja, MatchesJinja2) {
  for (const JinjaCase& c : kJinja2Cases) {
    Result<std::string> out = render(c.source, jinja2_context());
    ASSERT_TRUE(out.is_ok()) << c.source << "\n" << out.status().message();
    EXPECT_EQ(*out, c.expected) << c.source;
  }
}

// Where jinja2 prints "None", transformers.js (which produced the chat goldens) prints nothing.
TEST(Jinja, NonePrintsEmptyLikeTransformersJs) {
  Result<std::string> out = render("[{{ none }}][{{ missing }}]");
  ASSERT_TRUE(out.is_ok());
  EXPECT_EQ(*out, "[][]");
}

void expect_error(const std::string& source, const std::string& fragment, const Limits& limits = Limits()) {
  Result<std::string> out = render(source, {}, limits);
  ASSERT_FALSE(out.is_ok()) << source.substr(0, 200) << " rendered: " << out->substr(0, 200);
  EXPECT_NE(out.status().message().find(fragment), std::string::npos) << out.status().message();
}

TEST(Jinja, ErrorsNameTheLine) {
  expect_error("line1\n{% if true %}\nnever closed", "'if' block opened at line 2 is never closed");
  expect_error("{% for x in y %}\n{% if x %}\n{% endfor %}", "template line 3");
  expect_error("a\n\n{{ 'x' | no_such_filter }}", "template line 3: Unknown filter: no_such_filter");
  expect_error("{{ x is no_such_test }}", "Unknown test: no_such_test");
  expect_error("{% include 'other.jinja' %}", "unsupported statement 'include'");
  expect_error("{{ 'unterminated }}", "unterminated string literal");
  expect_error("{{ 1 +", "missing '}}'");
  expect_error("{# never closed", "unterminated comment");
  expect_error("{{ raise_exception('custom failure') }}", "custom failure");
  expect_error("{{ none | trim }}", "Cannot apply filter \"trim\" to type: NullValue");
  expect_error("{{ 'a' in none }}", "Cannot perform operation on null values");
  expect_error("{{ missing.method() }}", "Cannot call something that is not a function: got UndefinedValue");
  expect_error("{{ 1 // 0 }}", "division or modulo by zero");
  expect_error("{{ 'a' + 1 }}", "Unknown operator");
}

TEST(JinjaLimits, InfiniteMacroRecursion) {
  expect_error("{% macro f(n) %}{{ f(n + 1) }}{% endmacro %}{{ f(0) }}", "recursion depth");
}

TEST(JinjaLimits, HugeRange) { expect_error("{% for i in range(100000000) %}{% endfor %}", "exceeds the limit"); }

TEST(JinjaLimits, StepBudget) {
  Limits small;
  small.max_steps = 10000;
  expect_error("{% for i in range(100000) %}{{ i }}{% endfor %}", "step budget", small);
  // Nested loops multiply: 10^9 iterations stop at the budget (a small one keeps the test fast).
  small.max_steps = 50000;
  expect_error("{% for i in range(1000) %}{% for j in range(1000) %}{% for k in range(1000) %}{% endfor %}{% endfor %}{% endfor %}",
               "step budget", small);
}

TEST(JinjaLimits, HugeString) { expect_error("{{ 'x' * 1000000000 }}", "exceeds"); }

TEST(JinjaLimits, DeepNesting) {
  expect_error("{{ " + std::string(5000, '(') + "1" + std::string(5000, ')') + " }}", "nesting too deep");
  expect_error("{{ " + std::string(5000, '[') + std::string(5000, ']') + " }}", "nesting too deep");
  std::string ifs;
  for (int i = 0; i < 1000; ++i) ifs += "{% if true %}";
  expect_error(ifs, "nesting too deep");
}

TEST(Jinja, NamespaceAndLoopsFromChatTemplates) {
  const std::string source =
      "{%- set ns = namespace(last=-1) -%}"
      "{%- for m in messages[::-1] -%}{%- if ns.last == -1 and m.role == 'user' -%}"
      "{%- set ns.last = (messages|length - 1) - loop.index0 -%}{%- endif -%}{%- endfor -%}"
      "{{ ns.last }}";
  ValueList messages;
  for (const char* role : {"user", "assistant", "user", "assistant"}) {
    ValueDict m;
    m.set("role", Value::string(role));
    messages.push_back(Value::dict(std::move(m)));
  }
  Result<std::string> out = render(source, {{"messages", Value::list(std::move(messages))}});
  ASSERT_TRUE(out.is_ok()) << out.status().message();
  EXPECT_EQ(*out, "2");
}

}  // namespace
}  // namespace kaiyuan::jinja
