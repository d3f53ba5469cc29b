// Statement execution and expression evaluation. Scoping follows jinja2: `if` shares its scope,
// each for-loop iteration and each macro call gets a child scope (so `set` inside a loop does not
// leak; templates use namespace() for that).
#include "chat/jinja/interpreter.h"

#include <optional>

#include "chat/jinja/error.h"
#include "chat/jinja/utf8.h"

namespace kaiyuan::jinja {

const Value* Scope::lookup(const std::string& name) const {
  for (const Scope* s = this; s; s = s->parent.get()) {
    auto it = s->vars.find(name);
    if (it != s->vars.end()) return &it->second;
  }
  return nullptr;
}

std::string Interpreter::render(const Body& body, const std::shared_ptr<Scope>& globals) {
  auto top = std::make_shared<Scope>();
  top->parent = globals;
  std::string out;
  exec(body, top, out);
  return out;
}

void Interpreter::tick() {
  if (++steps_ > limits_.max_steps)
    raise("template exceeded its step budget (" + std::to_string(limits_.max_steps) + " steps)", line_);
}

void Interpreter::check_string_size(size_t bytes) const {
  if (bytes > limits_.max_string_bytes)
    raise("template output exceeds " + std::to_string(limits_.max_string_bytes) + " bytes", line_);
}

void Interpreter::check_list_size(size_t items) const {
  if (items > limits_.max_list_items)
    raise("list of " + std::to_string(items) + " items exceeds the limit of " + std::to_string(limits_.max_list_items),
          line_);
}

void Interpreter::append(std::string& out, const std::string& text) const {
  check_string_size(out.size() + text.size());
  out += text;
}

// ---- statements ----------------------------------------------------------------------------------

Interpreter::Flow Interpreter::exec(const Body& body, const std::shared_ptr<Scope>& scope, std::string& out) {
  for (const StmtPtr& s : body) {
    const Flow f = exec_stmt(*s, scope, out);
    if (f != Flow::kNormal) return f;
  }
  return Flow::kNormal;
}

Interpreter::Flow Interpreter::exec_stmt(const Stmt& s, const std::shared_ptr<Scope>& scope, std::string& out) {
  tick();
  line_ = s.line;
  switch (s.kind) {
    case StmtKind::kText:
      append(out, s.text);
      break;
    case StmtKind::kPrint:
      append(out, eval(*s.expr, scope).to_output());
      break;
    case StmtKind::kIf:
      for (const auto& [cond, body] : s.branches) {
        line_ = s.line;
        if (eval(*cond, scope).truthy()) return exec(body, scope, out);
      }
      return exec(s.else_body, scope, out);
    case StmtKind::kFor:
      exec_for(s, scope, out);
      break;
    case StmtKind::kSet:
      exec_set(s, scope, eval(*s.expr, scope));
      break;
    case StmtKind::kSetBlock: {
      std::string captured;
      exec(s.body, scope, captured);
      Value v = Value::string(std::move(captured));
      for (const ExprPtr& f : s.filters) v = eval_filter(*f, v, scope);
      exec_set(s, scope, std::move(v));
      break;
    }
    case StmtKind::kMacro:
      scope->vars[s.text] = make_macro(s, scope, s.text);
      break;
    case StmtKind::kCallBlock: {
      const Expr& call = *s.expr;
      Value callee = eval(*call.a, scope);
      CallArgs args = eval_args(call, scope);
      args.keyword.emplace_back("caller", make_macro(s, scope, "caller"));
      line_ = s.line;
      append(out, call_value_to_string(callee, args));
      break;
    }
    case StmtKind::kFilterBlock: {
      std::string captured;
      exec(s.body, scope, captured);
      Value v = Value::string(std::move(captured));
      for (const ExprPtr& f : s.filters) v = eval_filter(*f, v, scope);
      append(out, v.to_output());
      break;
    }
    case StmtKind::kBreak:
      return Flow::kBreak;
    case StmtKind::kContinue:
      return Flow::kContinue;
  }
  return Flow::kNormal;
}

std::string Interpreter::call_value_to_string(const Value& callee, CallArgs& args) {
  return call(callee, args).to_output();
}

static ValueList iteration_items(const Value& v, int line) {
  if (v.is_list()) return v.as_list();
  if (v.is_dict()) {
    ValueList keys;
    for (const auto& [k, unused] : v.as_dict().items()) keys.push_back(Value::string(k));
    return keys;
  }
  if (v.is_string()) {
    ValueList chars;
    for (std::string& c : utf8_chars(v.as_string())) chars.push_back(Value::string(std::move(c)));
    return chars;
  }
  raise(std::string("Expected iterable or object type in for loop: got ") + v.type_name(), line);
}

static void bind_targets(Scope& scope, const std::vector<std::string>& targets, const Value& item, int line) {
  if (targets.size() == 1) {
    scope.vars[targets[0]] = item;
    return;
  }
  if (!item.is_list()) raise(std::string("Cannot unpack non-iterable type: ") + item.type_name(), line);
  const ValueList& parts = item.as_list();
  if (parts.size() != targets.size())
    raise(std::string("Too ") + (parts.size() < targets.size() ? "few" : "many") + " items to unpack", line);
  for (size_t i = 0; i < targets.size(); ++i) scope.vars[targets[i]] = parts[i];
}

void Interpreter::exec_for(const Stmt& s, const std::shared_ptr<Scope>& scope, std::string& out) {
  const ValueList all = iteration_items(eval(*s.expr, scope), s.line);
  ValueList items;
  if (s.cond) {
    for (const Value& item : all) {
      tick();
      auto probe = std::make_shared<Scope>();
      probe->parent = scope;
      bind_targets(*probe, s.targets, item, s.line);
      if (eval(*s.cond, probe).truthy()) items.push_back(item);
    }
  } else {
    items = all;
  }
  const int64_t n = static_cast<int64_t>(items.size());
  // One loop object per for statement, updated in place each iteration (as jinja2's LoopContext).
  auto position = std::make_shared<int64_t>(0);
  Value loop = Value::dict();
  loop.as_dict().set("cycle", Value::callable("cycle", [position](Interpreter&, CallArgs& args) -> Value {
    if (args.positional.empty()) raise("no items for cycling given");
    return args.positional[static_cast<size_t>(*position) % args.positional.size()];
  }));
  for (int64_t i = 0; i < n; ++i) {
    tick();
    *position = i;
    ValueDict& d = loop.as_dict();
    d.set("index", Value::integer(i + 1));
    d.set("index0", Value::integer(i));
    d.set("revindex", Value::integer(n - i));
    d.set("revindex0", Value::integer(n - i - 1));
    d.set("first", Value::boolean(i == 0));
    d.set("last", Value::boolean(i == n - 1));
    d.set("length", Value::integer(n));
    d.set("previtem", i > 0 ? items[static_cast<size_t>(i) - 1] : Value());
    d.set("nextitem", i + 1 < n ? items[static_cast<size_t>(i) + 1] : Value());
    auto iter_scope = std::make_shared<Scope>();
    iter_scope->parent = scope;
    iter_scope->vars["loop"] = loop;
    bind_targets(*iter_scope, s.targets, items[static_cast<size_t>(i)], s.line);
    if (exec(s.body, iter_scope, out) == Flow::kBreak) break;
  }
  if (n == 0) exec(s.else_body, scope, out);
}

void Interpreter::exec_set(const Stmt& s, const std::shared_ptr<Scope>& scope, Value value) {
  if (s.target_object) {
    Value obj = eval(*s.target_object, scope);
    if (!obj.is_dict()) raise("Cannot assign to member of non-object (" + std::string(obj.type_name()) + ")", s.line);
    obj.as_dict().set(s.text, std::move(value));
    return;
  }
  bind_targets(*scope, s.targets, value, s.line);
}

// A macro (or the `caller` of a call block) as a callable. It holds its defining scope weakly:
// the scope owns the callable, so a strong reference would be a cycle.
Value Interpreter::make_macro(const Stmt& s, const std::shared_ptr<Scope>& scope, const std::string& name) {
  std::weak_ptr<Scope> weak_scope = scope;
  const Stmt* def = &s;
  return Value::callable(name, [def, weak_scope, name](Interpreter& in, CallArgs& args) -> Value {
    std::shared_ptr<Scope> parent = weak_scope.lock();
    if (!parent) raise("macro '" + name + "' called after its scope ended");
    if (in.call_depth_ >= in.limits_.max_call_depth)
      raise("maximum macro recursion depth (" + std::to_string(in.limits_.max_call_depth) + ") exceeded");
    auto local = std::make_shared<Scope>();
    local->parent = parent;
    const auto& params = def->params;
    if (args.positional.size() > params.size())
      raise("macro '" + name + "' takes not more than " + std::to_string(params.size()) + " argument(s)");
    for (size_t i = 0; i < params.size(); ++i) {
      const std::string& pname = params[i].first;
      if (i < args.positional.size()) {
        local->vars[pname] = args.positional[i];
      } else if (const Value* kw = args.get_kw(pname)) {
        local->vars[pname] = *kw;
      } else if (params[i].second) {
        local->vars[pname] = in.eval(*params[i].second, local);
      } else {
        local->vars[pname] = Value();  // jinja2 leaves missing macro arguments undefined
      }
    }
    for (const auto& [key, value] : args.keyword) {
      if (key == "caller") {
        local->vars["caller"] = value;
        continue;
      }
      bool known = false;
      for (const auto& p : params) known = known || p.first == key;
      if (!known) raise("macro '" + name + "' takes no keyword argument '" + key + "'");
    }
    ++in.call_depth_;
    std::string out;
    const int saved_line = in.line_;
    try {
      in.exec(def->body, local, out);
    } catch (...) {
      --in.call_depth_;
      throw;
    }
    --in.call_depth_;
    in.line_ = saved_line;
    return Value::string(std::move(out));
  });
}

// ---- expressions ---------------------------------------------------------------------------------

CallArgs Interpreter::eval_args(const Expr& e, const std::shared_ptr<Scope>& scope) {
  CallArgs args;
  for (const ExprPtr& p : e.items) args.positional.push_back(eval(*p, scope));
  for (const auto& [k, v] : e.kwargs) args.keyword.emplace_back(k, eval(*v, scope));
  return args;
}

Value Interpreter::call(const Value& callee, CallArgs& args) {
  if (!callee.is_callable()) raise(std::string("Cannot call something that is not a function: got ") + callee.type_name(), line_);
  return callee.as_callable().fn(*this, args);
}

Value Interpreter::eval_filter(const Expr& e, const Value& operand, const std::shared_ptr<Scope>& scope) {
  CallArgs args = eval_args(e, scope);
  line_ = e.line;
  return apply_filter(*this, e.name, operand, args);
}

Value Interpreter::get_attr(const Value& object, const std::string& name) {
  // jinja2 getattr: the Python attribute (a str/dict method) first, then the item.
  Value method = get_method(*this, object, name);
  if (!method.is_undefined()) return method;
  if (object.is_dict()) {
    if (const Value* v = object.as_dict().find(name)) return *v;
  }
  return Value();
}

Value Interpreter::get_item(const Value& object, const Value& key) {
  if (object.is_dict()) {
    if (key.is_string()) {
      if (const Value* v = object.as_dict().find(key.as_string())) return *v;
      return get_method(*this, object, key.as_string());
    }
    return Value();
  }
  if (object.is_list() || object.is_string()) {
    if (key.is_int() || key.is_bool()) {
      int64_t i = key.as_int();
      if (object.is_list()) {
        const ValueList& list = object.as_list();
        const int64_t n = static_cast<int64_t>(list.size());
        if (i < 0) i += n;
        if (i < 0 || i >= n) return Value();
        return list[static_cast<size_t>(i)];
      }
      std::vector<std::string> chars = utf8_chars(object.as_string());
      const int64_t n = static_cast<int64_t>(chars.size());
      if (i < 0) i += n;
      if (i < 0 || i >= n) return Value();
      return Value::string(chars[static_cast<size_t>(i)]);
    }
    if (key.is_string()) return get_method(*this, object, key.as_string());
    raise(std::string("Cannot access property with non-string/non-number: got ") + key.type_name(), line_);
  }
  return Value();
}

// Python slice semantics for lists and strings (by code point).
Value Interpreter::eval_slice(const Expr& e, const std::shared_ptr<Scope>& scope) {
  Value object = eval(*e.a, scope);
  auto part = [&](size_t idx) -> std::optional<int64_t> {
    if (!e.items[idx]) return std::nullopt;
    Value v = eval(*e.items[idx], scope);
    if (v.is_none() || v.is_undefined()) return std::nullopt;
    if (!v.is_int()) raise("Slice indices must be integers or none", e.line);
    return v.as_int();
  };
  const auto start = part(0), stop = part(1), step_opt = part(2);
  const int64_t step = step_opt.value_or(1);
  if (step == 0) raise("slice step cannot be zero", e.line);
  ValueList list;
  std::vector<std::string> chars;
  int64_t n = 0;
  if (object.is_list()) {
    n = static_cast<int64_t>(object.as_list().size());
  } else if (object.is_string()) {
    chars = utf8_chars(object.as_string());
    n = static_cast<int64_t>(chars.size());
  } else {
    raise(std::string("Slice object must be an array or string, got ") + object.type_name(), e.line);
  }
  auto clamp = [&](std::optional<int64_t> v, int64_t dflt, int64_t lo, int64_t hi) {
    if (!v) return dflt;
    int64_t x = *v;
    if (x < 0) x += n;
    return x < lo ? lo : (x > hi ? hi : x);
  };
  int64_t b, en;
  if (step > 0) {
    b = clamp(start, 0, 0, n);
    en = clamp(stop, n, 0, n);
  } else {
    b = clamp(start, n - 1, -1, n - 1);
    en = clamp(stop, -1, -1, n - 1);
  }
  std::vector<int64_t> idx;
  for (int64_t i = b; step > 0 ? i < en : i > en; i += step) idx.push_back(i);
  if (object.is_list()) {
    for (int64_t i : idx) list.push_back(object.as_list()[static_cast<size_t>(i)]);
    return Value::list(std::move(list));
  }
  std::string s;
  for (int64_t i : idx) s += chars[static_cast<size_t>(i)];
  return Value::string(std::move(s));
}

Value Interpreter::eval(const Expr& e, const std::shared_ptr<Scope>& scope) {
  tick();
  line_ = e.line;
  switch (e.kind) {
    case ExprKind::kLiteral:
      return e.literal;
    case ExprKind::kName: {
      const Value* v = scope->lookup(e.name);
      return v ? *v : Value();
    }
    case ExprKind::kList:
    case ExprKind::kTuple: {
      ValueList items;
      for (const ExprPtr& p : e.items) items.push_back(eval(*p, scope));
      return e.kind == ExprKind::kTuple ? Value::tuple(std::move(items)) : Value::list(std::move(items));
    }
    case ExprKind::kDict: {
      ValueDict d;
      for (size_t i = 0; i + 1 < e.items.size(); i += 2) {
        Value k = eval(*e.items[i], scope);
        if (!k.is_string()) raise(std::string("Object keys must be strings: got ") + k.type_name(), e.line);
        d.set(k.as_string(), eval(*e.items[i + 1], scope));
      }
      return Value::dict(std::move(d));
    }
    case ExprKind::kGetAttr: {
      Value obj = eval(*e.a, scope);
      line_ = e.line;
      return get_attr(obj, e.name);
    }
    case ExprKind::kGetItem: {
      Value obj = eval(*e.a, scope);
      Value key = eval(*e.b, scope);
      line_ = e.line;
      return get_item(obj, key);
    }
    case ExprKind::kSlice:
      return eval_slice(e, scope);
    case ExprKind::kCall: {
      Value callee = eval(*e.a, scope);
      CallArgs args = eval_args(e, scope);
      line_ = e.line;
      return call(callee, args);
    }
    case ExprKind::kFilter: {
      Value operand = eval(*e.a, scope);
      return eval_filter(e, operand, scope);
    }
    case ExprKind::kTest: {
      Value operand = eval(*e.a, scope);
      CallArgs args = eval_args(e, scope);
      line_ = e.line;
      const bool r = apply_test(*this, e.name, operand, args);
      return Value::boolean(e.negated ? !r : r);
    }
    case ExprKind::kUnary: {
      Value v = eval(*e.a, scope);
      line_ = e.line;
      if (e.name == "not") return Value::boolean(!v.truthy());
      return apply_binary(*this, e.name == "-" ? "neg" : "pos", v, Value());
    }
    case ExprKind::kBinary:
      return eval_binary(e, scope);
    case ExprKind::kCondition:
      if (eval(*e.a, scope).truthy()) return eval(*e.b, scope);
      return e.c ? eval(*e.c, scope) : Value();
  }
  return Value();
}

Value Interpreter::eval_binary(const Expr& e, const std::shared_ptr<Scope>& scope) {
  Value left = eval(*e.a, scope);
  if (e.name == "and") return left.truthy() ? eval(*e.b, scope) : left;
  if (e.name == "or") return left.truthy() ? left : eval(*e.b, scope);
  Value right = eval(*e.b, scope);
  line_ = e.line;
  return apply_binary(*this, e.name, left, right);
}

}  // namespace kaiyuan::jinja
