// Syntax tree of a parsed template: expressions (Expr) and statements (Stmt). Each node keeps its
// template line for error messages.
#pragma once

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "chat/jinja/value.h"

namespace kaiyuan::jinja {

struct Expr;
struct Stmt;
using ExprPtr = std::unique_ptr<Expr>;
using StmtPtr = std::unique_ptr<Stmt>;
using Body = std::vector<StmtPtr>;
using KeywordExprs = std::vector<std::pair<std::string, ExprPtr>>;

enum class ExprKind {
  kLiteral,   // literal
  kName,      // name
  kList,      // items
  kTuple,     // items
  kDict,      // items: key0, value0, key1, value1, ...
  kGetAttr,   // a.name
  kGetItem,   // a[b]
  kSlice,     // a[items[0]:items[1]:items[2]] (null items are omitted parts)
  kCall,      // a(items..., kwargs...)
  kFilter,    // a | name(items..., kwargs...); a is null inside {% filter %} chains
  kTest,      // a is [not] name(items...)
  kUnary,     // name a   (name: "not", "-", "+")
  kBinary,    // a name b (name: "or", "and", "==", "in", "not in", "+", "~", ...)
  kCondition, // b if a else c (c may be null)
};

struct Expr {
  ExprKind kind = ExprKind::kLiteral;
  int line = 0;
  std::string name;
  Value literal;
  std::vector<ExprPtr> items;
  KeywordExprs kwargs;
  ExprPtr a, b, c;
  bool negated = false;
};

enum class StmtKind {
  kText,       // text
  kPrint,      // {{ expr }}
  kIf,         // branches (cond, body)..., else_body
  kFor,        // for targets in expr [if cond] body [else else_body]
  kSet,        // set targets = expr | set expr.attr = value (target_object + name)
  kSetBlock,   // set targets %}body{% endset (filters applied to the body)
  kMacro,      // macro name(params) body
  kCallBlock,  // call[(params)] expr %}body{% endcall
  kFilterBlock,// filter filters %}body{% endfilter
  kBreak,
  kContinue,
};

struct Stmt {
  StmtKind kind = StmtKind::kText;
  int line = 0;
  std::string text;                              // kText: the text; kMacro: name; kSet attr target: attribute
  ExprPtr expr;                                  // kPrint/kSet value, kFor iterable, kCallBlock call
  ExprPtr cond;                                  // kFor filter condition
  ExprPtr target_object;                         // kSet `ns.attr = ...`: the namespace expression
  std::vector<std::string> targets;              // kFor/kSet/kSetBlock names (several: tuple unpacking)
  std::vector<std::pair<ExprPtr, Body>> branches;// kIf
  Body body, else_body;
  std::vector<std::pair<std::string, ExprPtr>> params;  // kMacro/kCallBlock parameters, default or null
  std::vector<ExprPtr> filters;                  // kFilterBlock/kSetBlock: kFilter nodes with a == null
};

}  // namespace kaiyuan::jinja
