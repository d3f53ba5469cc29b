// Jinja lexer: template text -> tokens, applying the whitespace rules of transformers' Jinja
// environment (trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=False; `-` and `+`
// modifiers on tags), as jinja2's lexer.py does.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/status.h"

namespace kaiyuan::jinja {

enum class TokenType {
  kText,        // literal template text (whitespace control already applied)
  kVarBegin,    // {{
  kVarEnd,      // }}
  kBlockBegin,  // {%
  kBlockEnd,    // %}
  kName,
  kString,      // text holds the decoded string
  kInt,
  kFloat,
  kOperator,    // text holds the operator: "+", "//", "==", "(", ...
  kEof,
};

struct Token {
  TokenType type = TokenType::kEof;
  std::string text;
  int64_t int_value = 0;
  double float_value = 0;
  int line = 1;
};

Result<std::vector<Token>> tokenize(const std::string& source);

}  // namespace kaiyuan::jinja
