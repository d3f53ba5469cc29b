// Built-in filters (`x | name(args)`): jinja2's filters.py for the ones chat templates use, plus
// transformers' tojson. A filter applied to a type it does not handle raises with
// transformers.js's wording ('Cannot apply filter "trim" to type: NullValue'), which the goldens
// contain; an unknown filter name is an error, never a silent pass-through.
#include <algorithm>
#include <cmath>
#include <cstdlib>

#include "chat/jinja/error.h"
#include "chat/jinja/interpreter.h"
#include "chat/jinja/string_ops.h"
#include "chat/jinja/utf8.h"

namespace kaiyuan::jinja {
namespace {

[[noreturn]] void cannot(const std::string& filter, const Value& v) {
  raise("Cannot apply filter \"" + filter + "\" to type: " + v.type_name());
}

const Value* param(const CallArgs& args, size_t i, const char* name) {
  if (i < args.positional.size()) return &args.positional[i];
  return args.get_kw(name);
}

bool bool_param(const CallArgs& args, size_t i, const char* name, bool dflt) {
  const Value* v = param(args, i, name);
  return v ? v->truthy() : dflt;
}

// `attribute` may be dotted ("function.name") or an integer index, as in jinja2 make_attrgetter.
Value lookup_attribute(Interpreter& in, const Value& item, const Value& attribute) {
  if (attribute.is_int()) return in.get_item(item, attribute);
  if (!attribute.is_string()) raise("attribute must be a string");
  Value cur = item;
  const std::string& path = attribute.as_string();
  size_t pos = 0;
  while (true) {
    const size_t dot = path.find('.', pos);
    const std::string part = path.substr(pos, dot == std::string::npos ? std::string::npos : dot - pos);
    const bool numeric = !part.empty() && std::all_of(part.begin(), part.end(), [](char c) { return c >= '0' && c <= '9'; });
    cur = numeric ? in.get_item(cur, Value::integer(std::atoll(part.c_str()))) : in.get_item(cur, Value::string(part));
    if (dot == std::string::npos) return cur;
    pos = dot + 1;
  }
}

// Items of a list, dict (keys) or string (characters), for filters that accept any iterable.
ValueList iterable_items(const std::string& filter, const Value& v) {
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
  cannot(filter, v);
}

// Python ordering for sort/dictsort/min/max: numbers by value, strings case-insensitively unless asked.
bool less_than(Interpreter& in, const Value& a, const Value& b, bool case_sensitive) {
  if (a.is_string() && b.is_string() && !case_sensitive) return ascii_lower(a.as_string()) < ascii_lower(b.as_string());
  if (a.is_list() && b.is_list()) {
    const ValueList& x = a.as_list();
    const ValueList& y = b.as_list();
    for (size_t i = 0; i < x.size() && i < y.size(); ++i) {
      if (less_than(in, x[i], y[i], case_sensitive)) return true;
      if (less_than(in, y[i], x[i], case_sensitive)) return false;
    }
    return x.size() < y.size();
  }
  return apply_binary(in, "<", a, b).as_bool();
}

std::string html_escape(const std::string& s) {
  std::string out;
  for (char c : s) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&#34;"; break;
      case '\'': out += "&#39;"; break;
      default: out += c;
    }
  }
  return out;
}

// select/reject/selectattr/rejectattr: keep items whose (attribute's) test result equals `keep`.
Value select_items(Interpreter& in, const std::string& filter, const Value& v, CallArgs& args, bool by_attr, bool keep) {
  const ValueList items = iterable_items(filter, v);
  size_t next_arg = 0;
  Value attribute;
  if (by_attr) {
    if (args.positional.empty()) raise(filter + " needs an attribute name");
    attribute = args.positional[next_arg++];
  }
  std::string test;
  if (next_arg < args.positional.size()) {
    if (!args.positional[next_arg].is_string()) raise(filter + ": test name must be a string");
    test = args.positional[next_arg++].as_string();
  }
  CallArgs test_args;
  test_args.positional.assign(args.positional.begin() + static_cast<long>(next_arg), args.positional.end());
  ValueList out;
  for (const Value& item : items) {
    in.tick();
    const Value subject = by_attr ? lookup_attribute(in, item, attribute) : item;
    const bool passed = test.empty() ? subject.truthy() : apply_test(in, test, subject, test_args);
    if (passed == keep) out.push_back(item);
  }
  return Value::list(std::move(out));
}

Value map_items(Interpreter& in, const Value& v, CallArgs& args) {
  const ValueList items = iterable_items("map", v);
  ValueList out;
  if (const Value* attribute = args.get_kw("attribute")) {
    const Value* dflt = args.get_kw("default");
    for (const Value& item : items) {
      in.tick();
      Value r = lookup_attribute(in, item, *attribute);
      out.push_back(r.is_undefined() && dflt ? *dflt : r);
    }
    return Value::list(std::move(out));
  }
  if (args.positional.empty() || !args.positional[0].is_string()) raise("map() needs a filter name or attribute=");
  const std::string filter = args.positional[0].as_string();
  CallArgs rest;
  rest.positional.assign(args.positional.begin() + 1, args.positional.end());
  rest.keyword = args.keyword;
  for (const Value& item : items) {
    in.tick();
    CallArgs copy = rest;
    out.push_back(apply_filter(in, filter, item, copy));
  }
  return Value::list(std::move(out));
}

Value to_int(const std::string& filter, const Value& v, CallArgs& args) {
  const Value* dflt = param(args, 0, "default");
  const Value fallback = dflt ? *dflt : (filter == "int" ? Value::integer(0) : Value::floating(0.0));
  if (v.is_int() || v.is_bool()) return filter == "int" ? Value::integer(v.as_int()) : Value::floating(v.as_number());
  if (v.is_float()) return filter == "int" ? Value::integer(static_cast<int64_t>(std::trunc(v.as_number()))) : v;
  if (v.is_string()) {
    const std::string s = python_strip(v.as_string(), nullptr, true, true);
    if (s.empty()) return fallback;
    char* end = nullptr;
    const double d = std::strtod(s.c_str(), &end);
    if (end != s.c_str() + s.size() || std::isnan(d) || std::isinf(d)) return fallback;
    if (filter == "float") return Value::floating(d);
    if (std::fabs(d) >= 9.2e18) return fallback;
    return Value::integer(static_cast<int64_t>(std::trunc(d)));
  }
  cannot(filter, v);
}

Value indent_filter(const Value& v, CallArgs& args) {
  if (!v.is_string()) cannot("indent", v);
  const Value* width = param(args, 0, "width");
  std::string pad = "    ";
  if (width && width->is_int()) pad = std::string(static_cast<size_t>(std::clamp<int64_t>(width->as_int(), 0, 1024)), ' ');
  else if (width && width->is_string()) pad = width->as_string();
  const bool first = bool_param(args, 1, "first", false);
  const bool blank = bool_param(args, 2, "blank", false);
  const std::string& s = v.as_string();
  std::string out;
  size_t pos = 0;
  bool is_first = true;
  while (true) {
    const size_t nl = s.find('\n', pos);
    const std::string line = s.substr(pos, nl == std::string::npos ? std::string::npos : nl - pos);
    const bool indent_this = (!is_first || first) && (blank || !line.empty());
    if (indent_this) out += pad;
    out += line;
    if (nl == std::string::npos) break;
    out += '\n';
    pos = nl + 1;
    is_first = false;
  }
  return Value::string(std::move(out));
}

Value round_filter(const Value& v, CallArgs& args) {
  if (!v.is_number()) cannot("round", v);
  const Value* precision_v = param(args, 0, "precision");
  const Value* method_v = param(args, 1, "method");
  const int64_t precision = precision_v && precision_v->is_int() ? precision_v->as_int() : 0;
  const std::string method = method_v && method_v->is_string() ? method_v->as_string() : "common";
  const double scale = std::pow(10.0, static_cast<double>(precision));
  const double x = v.as_number() * scale;
  double r;
  if (method == "common") r = std::nearbyint(x);  // Python round(): ties to even
  else if (method == "ceil") r = std::ceil(x);
  else if (method == "floor") r = std::floor(x);
  else raise("method must be common, ceil or floor");
  return Value::floating(r / scale);
}

}  // namespace

Value apply_filter(Interpreter& in, const std::string& name, const Value& v, CallArgs& args) {
  in.tick();
  if (name == "tojson") {
    const Value* indent = param(args, 0, "indent");
    if (indent && !indent->is_int() && !indent->is_none()) raise("If set, indent must be a number");
    std::string out = to_json(v, indent && indent->is_int() ? static_cast<int>(std::clamp<int64_t>(indent->as_int(), 0, 64)) : 0);
    in.check_string_size(out.size());
    return Value::string(std::move(out));
  }
  if (name == "default" || name == "d") {
    const Value* dflt = param(args, 0, "default_value");
    const bool boolean = bool_param(args, 1, "boolean", false);
    if (v.is_undefined() || (boolean && !v.truthy())) return dflt ? *dflt : Value::string("");
    return v;
  }
  if (name == "safe") return v;
  if (name == "string") return v.is_string() ? v : Value::string(v.is_none() ? "None" : v.to_output());
  if (name == "trim") {
    if (!v.is_string()) cannot(name, v);
    const Value* chars = param(args, 0, "chars");
    return Value::string(python_strip(v.as_string(), chars && chars->is_string() ? &chars->as_string() : nullptr, true, true));
  }
  if (name == "length" || name == "count") {
    if (v.is_string()) return Value::integer(static_cast<int64_t>(utf8_length(v.as_string())));
    if (v.is_list()) return Value::integer(static_cast<int64_t>(v.as_list().size()));
    if (v.is_dict()) return Value::integer(static_cast<int64_t>(v.as_dict().size()));
    cannot(name, v);
  }
  if (name == "upper" || name == "lower" || name == "title" || name == "capitalize") {
    if (!v.is_string()) cannot(name, v);
    const std::string& s = v.as_string();
    return Value::string(name == "upper" ? ascii_upper(s) : name == "lower" ? ascii_lower(s) : name == "title" ? python_title(s) : python_capitalize(s));
  }
  if (name == "replace") {
    if (!v.is_string()) cannot(name, v);
    const Value* from = param(args, 0, "old");
    const Value* to = param(args, 1, "new");
    const Value* count = param(args, 2, "count");
    if (!from || !to || !from->is_string() || !to->is_string()) raise("replace() arguments must be strings");
    std::string out = python_replace(v.as_string(), from->as_string(), to->as_string(), count && count->is_int() ? count->as_int() : -1);
    in.check_string_size(out.size());
    return Value::string(std::move(out));
  }
  if (name == "items") {
    if (!v.is_dict()) cannot(name, v);
    ValueList out;
    for (const auto& [k, e] : v.as_dict().items()) out.push_back(Value::tuple({Value::string(k), e}));
    return Value::list(std::move(out));
  }
  if (name == "dictsort") {
    if (!v.is_dict()) cannot(name, v);
    const bool case_sensitive = bool_param(args, 0, "case_sensitive", false);
    const Value* by = param(args, 1, "by");
    const bool by_value = by && by->is_string() && by->as_string() == "value";
    const bool reverse = bool_param(args, 2, "reverse", false);
    ValueList out;
    for (const auto& [k, e] : v.as_dict().items()) out.push_back(Value::tuple({Value::string(k), e}));
    std::stable_sort(out.begin(), out.end(), [&](const Value& a, const Value& b) {
      const Value& x = a.as_list()[by_value ? 1 : 0];
      const Value& y = b.as_list()[by_value ? 1 : 0];
      return reverse ? less_than(in, y, x, case_sensitive) : less_than(in, x, y, case_sensitive);
    });
    return Value::list(std::move(out));
  }
  if (name == "join") {
    const ValueList items = iterable_items(name, v);
    const Value* sep = param(args, 0, "d");
    const Value* attribute = param(args, 1, "attribute");
    if (sep && !sep->is_string()) raise("separator must be a string");
    std::string out;
    for (size_t i = 0; i < items.size(); ++i) {
      if (i && sep) out += sep->as_string();
      out += (attribute ? lookup_attribute(in, items[i], *attribute) : items[i]).to_output();
      in.check_string_size(out.size());
    }
    return Value::string(std::move(out));
  }
  if (name == "first" || name == "last") {
    const ValueList items = iterable_items(name, v);
    if (items.empty()) return Value();
    return name == "first" ? items.front() : items.back();
  }
  if (name == "list") return Value::list(iterable_items(name, v));
  if (name == "reverse") {
    if (v.is_string()) {
      std::vector<std::string> chars = utf8_chars(v.as_string());
      std::string out;
      for (auto it = chars.rbegin(); it != chars.rend(); ++it) out += *it;
      return Value::string(std::move(out));
    }
    ValueList items = iterable_items(name, v);
    std::reverse(items.begin(), items.end());
    return Value::list(std::move(items));
  }
  if (name == "unique") {
    ValueList out;
    for (const Value& item : iterable_items(name, v)) {
      in.tick();
      bool seen = false;
      for (const Value& o : out) seen = seen || values_equal(o, item);
      if (!seen) out.push_back(item);
    }
    return Value::list(std::move(out));
  }
  if (name == "sort") {
    ValueList items = iterable_items(name, v);
    const bool reverse = bool_param(args, 0, "reverse", false);
    const bool case_sensitive = bool_param(args, 1, "case_sensitive", false);
    const Value* attribute = param(args, 2, "attribute");
    std::stable_sort(items.begin(), items.end(), [&](const Value& a, const Value& b) {
      const Value x = attribute ? lookup_attribute(in, a, *attribute) : a;
      const Value y = attribute ? lookup_attribute(in, b, *attribute) : b;
      return reverse ? less_than(in, y, x, case_sensitive) : less_than(in, x, y, case_sensitive);
    });
    return Value::list(std::move(items));
  }
  if (name == "min" || name == "max") {
    const ValueList items = iterable_items(name, v);
    if (items.empty()) return Value();
    const bool case_sensitive = bool_param(args, 0, "case_sensitive", false);
    Value best = items[0];
    for (const Value& item : items)
      if (name == "min" ? less_than(in, item, best, case_sensitive) : less_than(in, best, item, case_sensitive)) best = item;
    return best;
  }
  if (name == "sum") {
    const Value* attribute = param(args, 0, "attribute");
    const Value* start = param(args, 1, "start");
    Value total = start ? *start : Value::integer(0);
    for (const Value& item : iterable_items(name, v))
      total = apply_binary(in, "+", total, attribute ? lookup_attribute(in, item, *attribute) : item);
    return total;
  }
  if (name == "map") return map_items(in, v, args);
  if (name == "select") return select_items(in, name, v, args, false, true);
  if (name == "reject") return select_items(in, name, v, args, false, false);
  if (name == "selectattr") return select_items(in, name, v, args, true, true);
  if (name == "rejectattr") return select_items(in, name, v, args, true, false);
  if (name == "attr") {
    const Value* attribute = param(args, 0, "name");
    if (!attribute || !attribute->is_string()) raise("attr() needs an attribute name");
    return in.get_attr(v, attribute->as_string());
  }
  if (name == "int" || name == "float") return to_int(name, v, args);
  if (name == "abs") {
    if (v.is_int()) {
      if (v.as_int() == INT64_MIN) raise("integer overflow");
      return Value::integer(v.as_int() < 0 ? -v.as_int() : v.as_int());
    }
    if (v.is_float()) return Value::floating(std::fabs(v.as_number()));
    cannot(name, v);
  }
  if (name == "round") return round_filter(v, args);
  if (name == "indent") return indent_filter(v, args);
  if (name == "wordcount") {
    if (!v.is_string()) cannot(name, v);
    return Value::integer(static_cast<int64_t>(python_split(v.as_string(), nullptr, -1, false).size()));
  }
  if (name == "e" || name == "escape" || name == "forceescape") {
    if (v.is_undefined() || v.is_none()) return Value::string(v.is_none() ? "None" : "");
    return Value::string(html_escape(v.to_output()));
  }
  if (name == "bool") return Value::boolean(v.truthy());
  raise("Unknown filter: " + name);
}

}  // namespace kaiyuan::jinja
