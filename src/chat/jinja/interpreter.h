// Tree-walking interpreter for parsed templates. Semantics follow jinja2 as configured by
// transformers; where transformers.js (which produced our goldens) raises an error that jinja2
// would not (e.g. `none | trim`), we raise too, with transformers.js's wording.
// Resource limits (steps, macro depth, output size) stop hostile templates.
#pragma once

#include <memory>
#include <string>
#include <unordered_map>

#include "chat/jinja/ast.h"
#include "chat/jinja/value.h"

namespace kaiyuan::jinja {

struct Limits {
  int64_t max_steps = 10'000'000;          // node evaluations + loop iterations
  int max_call_depth = 100;                // nested macro calls
  size_t max_string_bytes = 64u << 20;     // output and any built string
  size_t max_list_items = 1'000'000;       // range() and built lists
};

// Variables visible at one nesting level; lookups walk to the parent.
struct Scope {
  std::shared_ptr<Scope> parent;
  std::unordered_map<std::string, Value> vars;
  const Value* lookup(const std::string& name) const;
};

class Interpreter {
 public:
  explicit Interpreter(Limits limits) : limits_(limits) {}

  // Renders `body` with `globals` as the outermost scope. Throws JinjaError.
  std::string render(const Body& body, const std::shared_ptr<Scope>& globals);

  // Helpers shared with filters, tests, methods and globals.
  Value call(const Value& callee, CallArgs& args);
  Value get_attr(const Value& object, const std::string& name);  // object.name
  Value get_item(const Value& object, const Value& key);          // object[key]
  void tick();                                                    // one step of the budget
  void check_string_size(size_t bytes) const;
  void check_list_size(size_t items) const;
  const Limits& limits() const { return limits_; }
  int current_line() const { return line_; }

 private:
  enum class Flow { kNormal, kBreak, kContinue };

  Flow exec(const Body& body, const std::shared_ptr<Scope>& scope, std::string& out);
  Flow exec_stmt(const Stmt& s, const std::shared_ptr<Scope>& scope, std::string& out);
  void exec_for(const Stmt& s, const std::shared_ptr<Scope>& scope, std::string& out);
  void exec_set(const Stmt& s, const std::shared_ptr<Scope>& scope, Value value);
  Value make_macro(const Stmt& s, const std::shared_ptr<Scope>& scope, const std::string& name);
  Value eval(const Expr& e, const std::shared_ptr<Scope>& scope);
  Value eval_binary(const Expr& e, const std::shared_ptr<Scope>& scope);
  Value eval_filter(const Expr& e, const Value& operand, const std::shared_ptr<Scope>& scope);
  Value eval_slice(const Expr& e, const std::shared_ptr<Scope>& scope);
  CallArgs eval_args(const Expr& e, const std::shared_ptr<Scope>& scope);
  void append(std::string& out, const std::string& text) const;
  std::string call_value_to_string(const Value& callee, CallArgs& args);

  Limits limits_;
  int64_t steps_ = 0;
  int call_depth_ = 0;
  int line_ = 0;
};

// Binary operators other than and/or (operators.cpp).
Value apply_binary(Interpreter& in, const std::string& op, const Value& a, const Value& b);
// Filters (filters.cpp), tests (tests.cpp), str/dict methods (methods.cpp), globals (globals.cpp).
Value apply_filter(Interpreter& in, const std::string& name, const Value& operand, CallArgs& args);
bool apply_test(Interpreter& in, const std::string& name, const Value& operand, CallArgs& args);
bool has_test(const std::string& name);
Value get_method(Interpreter& in, const Value& object, const std::string& name);  // undefined if none
void install_globals(Scope& scope);
// tojson as transformers defines it: json.dumps(x, ensure_ascii=False, indent=indent) (json_dump.cpp).
std::string to_json(const Value& v, int indent);

}  // namespace kaiyuan::jinja
