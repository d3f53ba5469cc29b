// Python methods callable from templates: str (startswith, split, strip, ...) and dict (get,
// items, keys, values). Lists expose no methods: transformers renders in jinja2's
// ImmutableSandboxedEnvironment, where list.append and friends are refused.
#include "chat/jinja/error.h"
#include "chat/jinja/interpreter.h"
#include "chat/jinja/string_ops.h"
#include "chat/jinja/utf8.h"

namespace kaiyuan::jinja {
namespace {

// Positional argument i, or keyword `name`, or null.
const Value* param(const CallArgs& args, size_t i, const char* name) {
  if (i < args.positional.size()) return &args.positional[i];
  return args.get_kw(name);
}

const std::string* optional_string(const CallArgs& args, size_t i, const char* name, const std::string& method) {
  const Value* v = param(args, i, name);
  if (!v || v->is_none()) return nullptr;
  if (!v->is_string()) raise(method + "() argument must be a string or None, got " + v->type_name());
  return &v->as_string();
}

const std::string& required_string(const CallArgs& args, size_t i, const char* name, const std::string& method) {
  const std::string* s = optional_string(args, i, name, method);
  if (!s) raise(method + "() missing required string argument '" + name + "'");
  return *s;
}

long long optional_int(const CallArgs& args, size_t i, const char* name, long long dflt, const std::string& method) {
  const Value* v = param(args, i, name);
  if (!v || v->is_none()) return dflt;
  if (!v->is_int()) raise(method + "() argument '" + name + "' must be an integer");
  return v->as_int();
}

bool affix_match(const std::string& s, const Value& pattern, bool prefix, const std::string& method) {
  auto one = [&](const Value& p) {
    if (!p.is_string()) raise(method + "() argument must be a string or tuple of strings");
    const std::string& x = p.as_string();
    if (x.size() > s.size()) return false;
    return prefix ? s.compare(0, x.size(), x) == 0 : s.compare(s.size() - x.size(), x.size(), x) == 0;
  };
  if (pattern.is_list()) {
    for (const Value& p : pattern.as_list())
      if (one(p)) return true;
    return false;
  }
  return one(pattern);
}

ValueList strings_to_values(const std::vector<std::string>& parts) {
  ValueList out;
  out.reserve(parts.size());
  for (const std::string& p : parts) out.push_back(Value::string(p));
  return out;
}

bool all_chars(const std::string& s, bool (*pred)(uint32_t)) {
  if (s.empty()) return false;
  for (size_t i = 0; i < s.size();)
    if (!pred(utf8_next(s, i))) return false;
  return true;
}

Value string_method(const std::string& s, const std::string& name, CallArgs& args) {
  if (name == "startswith" || name == "endswith") {
    const Value* p = param(args, 0, "prefix");
    if (!p) raise(name + "() requires at least one argument");
    return Value::boolean(affix_match(s, *p, name == "startswith", name));
  }
  if (name == "split" || name == "rsplit") {
    const std::string* sep = optional_string(args, 0, "sep", name);
    const long long maxsplit = optional_int(args, 1, "maxsplit", -1, name);
    return Value::list(strings_to_values(python_split(s, sep, maxsplit, name == "rsplit")));
  }
  if (name == "strip") return Value::string(python_strip(s, optional_string(args, 0, "chars", name), true, true));
  if (name == "lstrip") return Value::string(python_strip(s, optional_string(args, 0, "chars", name), true, false));
  if (name == "rstrip") return Value::string(python_strip(s, optional_string(args, 0, "chars", name), false, true));
  if (name == "replace") {
    const std::string& from = required_string(args, 0, "old", name);
    const std::string& to = required_string(args, 1, "new", name);
    return Value::string(python_replace(s, from, to, optional_int(args, 2, "count", -1, name)));
  }
  if (name == "upper") return Value::string(ascii_upper(s));
  if (name == "lower") return Value::string(ascii_lower(s));
  if (name == "title") return Value::string(python_title(s));
  if (name == "capitalize") return Value::string(python_capitalize(s));
  if (name == "find" || name == "rfind" || name == "count") {
    const std::string& sub = required_string(args, 0, "sub", name);
    if (name == "count") {
      if (sub.empty()) return Value::integer(static_cast<int64_t>(utf8_length(s)) + 1);
      int64_t n = 0;
      for (size_t pos = s.find(sub); pos != std::string::npos; pos = s.find(sub, pos + sub.size())) ++n;
      return Value::integer(n);
    }
    const size_t hit = name == "find" ? s.find(sub) : s.rfind(sub);
    if (hit == std::string::npos) return Value::integer(-1);
    return Value::integer(static_cast<int64_t>(utf8_length(s.substr(0, hit))));
  }
  if (name == "join") {
    const Value* items = param(args, 0, "iterable");
    if (!items || !items->is_list()) raise("join() argument must be a list");
    std::string out;
    bool first = true;
    for (const Value& v : items->as_list()) {
      if (!v.is_string()) raise(std::string("join() expects a list of strings, got ") + v.type_name());
      if (!first) out += s;
      first = false;
      out += v.as_string();
    }
    return Value::string(std::move(out));
  }
  if (name == "splitlines") {
    std::vector<std::string> lines;
    size_t pos = 0;
    while (pos < s.size()) {
      const size_t nl = s.find('\n', pos);
      if (nl == std::string::npos) {
        lines.push_back(s.substr(pos));
        break;
      }
      lines.push_back(s.substr(pos, nl - pos));
      pos = nl + 1;
    }
    return Value::list(strings_to_values(lines));
  }
  if (name == "isdigit") return Value::boolean(all_chars(s, [](uint32_t c) { return c >= '0' && c <= '9'; }));
  if (name == "isspace") return Value::boolean(all_chars(s, is_python_space));
  if (name == "isalpha")
    return Value::boolean(all_chars(s, [](uint32_t c) { return (c | 0x20) >= 'a' && (c | 0x20) <= 'z'; }));
  if (name == "isalnum")
    return Value::boolean(all_chars(s, [](uint32_t c) { return ((c | 0x20) >= 'a' && (c | 0x20) <= 'z') || (c >= '0' && c <= '9'); }));
  raise("str has no method '" + name + "'");
}

Value dict_method(const Value& d, const std::string& name, CallArgs& args) {
  const ValueDict& dict = d.as_dict();
  if (name == "get") {
    const Value* key = param(args, 0, "key");
    if (!key) raise("get() requires a key");
    if (key->is_string())
      if (const Value* v = dict.find(key->as_string())) return *v;
    const Value* dflt = param(args, 1, "default");
    return dflt ? *dflt : Value::none();
  }
  ValueList out;
  for (const auto& [k, v] : dict.items()) {
    if (name == "items") out.push_back(Value::tuple({Value::string(k), v}));
    else if (name == "keys") out.push_back(Value::string(k));
    else out.push_back(v);
  }
  return Value::list(std::move(out));
}

bool is_string_method(const std::string& n) {
  static const char* const kNames[] = {"startswith", "endswith", "split",  "rsplit", "strip",      "lstrip",
                                       "rstrip",     "replace",  "upper",  "lower",  "title",      "capitalize",
                                       "find",       "rfind",    "count",  "join",   "splitlines", "isdigit",
                                       "isspace",    "isalpha",  "isalnum"};
  for (const char* k : kNames)
    if (n == k) return true;
  return false;
}

}  // namespace

Value get_method(Interpreter&, const Value& object, const std::string& name) {
  if (object.is_string() && is_string_method(name)) {
    Value self = object;
    return Value::callable("str." + name, [self, name](Interpreter&, CallArgs& args) {
      return string_method(self.as_string(), name, args);
    });
  }
  if (object.is_dict() && (name == "get" || name == "items" || name == "keys" || name == "values")) {
    Value self = object;
    return Value::callable("dict." + name, [self, name](Interpreter&, CallArgs& args) {
      return dict_method(self, name, args);
    });
  }
  return Value();
}

}  // namespace kaiyuan::jinja
