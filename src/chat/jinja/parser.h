// Parser: tokens -> statement tree. Expression precedence follows jinja2 parser.py (lowest first):
// `x if c else y`, or, and, not, comparisons/in/not in, + -, ~, * / // %, **, unary - +,
// then postfix .attr [item] (call) and the | filter / is test chain.
#pragma once

#include <vector>

#include "chat/jinja/ast.h"
#include "chat/jinja/lexer.h"
#include "core/status.h"

namespace kaiyuan::jinja {

Result<Body> parse(const std::vector<Token>& tokens);

}  // namespace kaiyuan::jinja
