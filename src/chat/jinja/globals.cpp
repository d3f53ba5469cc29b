// Global functions available to every template: jinja2's range/dict/namespace and the two that
// transformers adds, raise_exception(message) and strftime_now(format).
#include <ctime>

#include "chat/jinja/error.h"
#include "chat/jinja/interpreter.h"

namespace kaiyuan::jinja {
namespace {

Value range_fn(Interpreter& in, CallArgs& args) {
  if (!args.keyword.empty()) raise("range() takes no keyword arguments");
  if (args.positional.empty() || args.positional.size() > 3) raise("range expected 1 to 3 arguments");
  for (const Value& v : args.positional)
    if (!v.is_int()) raise(std::string("range() arguments must be integers, got ") + v.type_name());
  int64_t start = 0, stop = 0, step = 1;
  if (args.positional.size() == 1) {
    stop = args.positional[0].as_int();
  } else {
    start = args.positional[0].as_int();
    stop = args.positional[1].as_int();
    if (args.positional.size() == 3) step = args.positional[2].as_int();
  }
  if (step == 0) raise("range() arg 3 must not be zero");
  const long double span = step > 0 ? static_cast<long double>(stop) - start : static_cast<long double>(start) - stop;
  const long double count = span <= 0 ? 0 : (span + (step > 0 ? step : -step) - 1) / (step > 0 ? step : -step);
  in.check_list_size(static_cast<size_t>(count > 1e18L ? 1e18L : count));
  ValueList out;
  for (int64_t i = start; step > 0 ? i < stop : i > stop; i += step) {
    out.push_back(Value::integer(i));
    if ((step > 0 && i > INT64_MAX - step) || (step < 0 && i < INT64_MIN - step)) break;
  }
  return Value::list(std::move(out));
}

// namespace(**kwargs) or namespace(dict): a mutable dict that `set ns.x = ...` may assign into.
Value namespace_fn(Interpreter&, CallArgs& args) {
  ValueDict d;
  for (const Value& p : args.positional) {
    if (!p.is_dict()) raise("namespace() positional argument must be a mapping");
    for (const auto& [k, v] : p.as_dict().items()) d.set(k, v);
  }
  for (const auto& [k, v] : args.keyword) d.set(k, v);
  return Value::dict(std::move(d));
}

Value raise_exception_fn(Interpreter&, CallArgs& args) {
  std::string message = args.positional.empty() ? "raise_exception called" : args.positional[0].to_output();
  raise(message);
}

Value strftime_now_fn(Interpreter&, CallArgs& args) {
  if (args.positional.empty() || !args.positional[0].is_string()) raise("strftime_now() expects a format string");
  const std::time_t now = std::time(nullptr);
  std::tm local{};
  localtime_r(&now, &local);
  char buf[256];
  const size_t n = std::strftime(buf, sizeof(buf), args.positional[0].as_string().c_str(), &local);
  return Value::string(std::string(buf, n));
}

}  // namespace

void install_globals(Scope& scope) {
  scope.vars["range"] = Value::callable("range", range_fn);
  scope.vars["namespace"] = Value::callable("namespace", namespace_fn);
  scope.vars["dict"] = Value::callable("dict", namespace_fn);
  scope.vars["raise_exception"] = Value::callable("raise_exception", raise_exception_fn);
  scope.vars["strftime_now"] = Value::callable("strftime_now", strftime_now_fn);
}

}  // namespace kaiyuan::jinja
