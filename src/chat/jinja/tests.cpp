// Jinja tests (`x is defined`, `x is not none`, ...): jinja2's built-in tests (tests.py).
#include <cmath>

#include "chat/jinja/error.h"
#include "chat/jinja/interpreter.h"
#include "chat/jinja/utf8.h"

namespace kaiyuan::jinja {
namespace {

const Value& arg(CallArgs& args, const std::string& test, size_t i) {
  if (i >= args.positional.size()) raise("test '" + test + "' needs an argument");
  return args.positional[i];
}

bool is_lower_or_upper(const std::string& s, bool lower) {
  bool cased = false;
  for (unsigned char c : s) {
    if (lower ? (c >= 'A' && c <= 'Z') : (c >= 'a' && c <= 'z')) return false;
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')) cased = true;
  }
  return cased;
}

const char* const kTests[] = {"defined", "undefined", "none", "boolean", "true", "false", "integer", "float",
                              "number", "string", "mapping", "iterable", "sequence", "callable", "odd", "even",
                              "divisibleby", "equalto", "eq", "==", "ne", "!=", "lt", "<", "le", "<=", "gt", ">",
                              "ge", ">=", "in", "lower", "upper", "sameas", "escaped"};

}  // namespace

bool has_test(const std::string& name) {
  for (const char* t : kTests)
    if (name == t) return true;
  return false;
}

bool apply_test(Interpreter& in, const std::string& name, const Value& v, CallArgs& args) {
  if (name == "defined") return !v.is_undefined();
  if (name == "undefined") return v.is_undefined();
  if (name == "none") return v.is_none();
  if (name == "boolean") return v.is_bool();
  if (name == "true") return v.is_bool() && v.as_bool();
  if (name == "false") return v.is_bool() && !v.as_bool();
  if (name == "integer") return v.is_int();
  if (name == "float") return v.is_float();
  if (name == "number") return v.is_int() || v.is_float() || v.is_bool();
  if (name == "string") return v.is_string();
  if (name == "mapping") return v.is_dict();
  if (name == "iterable" || name == "sequence") return v.is_list() || v.is_dict() || v.is_string();
  if (name == "callable") return v.is_callable();
  if (name == "odd" || name == "even") {
    if (!v.is_int()) raise(std::string("cannot ") + name + " on " + v.type_name());
    const bool odd = (v.as_int() % 2) != 0;
    return name == "odd" ? odd : !odd;
  }
  if (name == "divisibleby") {
    const Value& d = arg(args, name, 0);
    if (!v.is_int() || !d.is_int() || d.as_int() == 0) raise("divisibleby needs non-zero integers");
    return v.as_int() % d.as_int() == 0;
  }
  if (name == "equalto" || name == "eq" || name == "==") return values_equal(v, arg(args, name, 0));
  if (name == "ne" || name == "!=") return !values_equal(v, arg(args, name, 0));
  if (name == "lt" || name == "<") return apply_binary(in, "<", v, arg(args, name, 0)).as_bool();
  if (name == "le" || name == "<=") return apply_binary(in, "<=", v, arg(args, name, 0)).as_bool();
  if (name == "gt" || name == ">") return apply_binary(in, ">", v, arg(args, name, 0)).as_bool();
  if (name == "ge" || name == ">=") return apply_binary(in, ">=", v, arg(args, name, 0)).as_bool();
  if (name == "in") return apply_binary(in, "in", v, arg(args, name, 0)).as_bool();
  if (name == "lower") return v.is_string() && is_lower_or_upper(v.as_string(), true);
  if (name == "upper") return v.is_string() && is_lower_or_upper(v.as_string(), false);
  if (name == "sameas") {
    const Value& o = arg(args, name, 0);
    if (v.kind() != o.kind()) return false;
    if (v.is_none() || v.is_undefined()) return true;
    if (v.is_bool() || v.is_int()) return v.as_int() == o.as_int();
    if (v.is_list()) return &v.as_list() == &o.as_list();
    if (v.is_dict()) return &v.as_dict() == &o.as_dict();
    return false;
  }
  if (name == "escaped") return false;
  raise("Unknown test: " + name);
}

}  // namespace kaiyuan::jinja
