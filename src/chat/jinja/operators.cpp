// Binary and unary arithmetic, comparison, membership and concatenation with Python semantics.
// None operands raise "Cannot perform operation on null values" and Undefined operands raise too,
// as transformers.js does (it produced the goldens); `x in undefined` is false there and here.
#include <cmath>

#include "chat/jinja/error.h"
#include "chat/jinja/interpreter.h"

namespace kaiyuan::jinja {
namespace {

bool is_numeric(const Value& v) { return v.is_int() || v.is_float() || v.is_bool(); }
bool is_integral(const Value& v) { return v.is_int() || v.is_bool(); }

[[noreturn]] void unsupported(const std::string& op, const Value& a, const Value& b, int line) {
  raise("Unknown operator \"" + op + "\" between " + a.type_name() + " and " + b.type_name(), line);
}

double python_fmod(double a, double b) {
  double r = std::fmod(a, b);
  if (r != 0 && ((r < 0) != (b < 0))) r += b;
  return r;
}

Value arithmetic(Interpreter& in, const std::string& op, const Value& a, const Value& b) {
  const int line = in.current_line();
  if (is_integral(a) && is_integral(b)) {
    const int64_t x = a.as_int(), y = b.as_int();
    int64_t r = 0;
    if (op == "+") {
      if (__builtin_add_overflow(x, y, &r)) raise("integer overflow", line);
      return Value::integer(r);
    }
    if (op == "-") {
      if (__builtin_sub_overflow(x, y, &r)) raise("integer overflow", line);
      return Value::integer(r);
    }
    if (op == "*") {
      if (__builtin_mul_overflow(x, y, &r)) raise("integer overflow", line);
      return Value::integer(r);
    }
    if (op == "/") {
      if (y == 0) raise("division by zero", line);
      return Value::floating(static_cast<double>(x) / static_cast<double>(y));
    }
    if (op == "//" || op == "%") {
      if (y == 0) raise("integer division or modulo by zero", line);
      if (x == INT64_MIN && y == -1) raise("integer overflow", line);
      int64_t q = x / y, m = x % y;
      if (m != 0 && ((m < 0) != (y < 0))) {  // Python floors toward negative infinity
        --q;
        m += y;
      }
      return Value::integer(op == "//" ? q : m);
    }
    if (op == "**") {
      if (y < 0) return Value::floating(std::pow(static_cast<double>(x), static_cast<double>(y)));
      int64_t result = 1;
      for (int64_t k = 0; k < y; ++k) {
        if (__builtin_mul_overflow(result, x, &result)) raise("integer overflow", line);
        if (result == 0 || result == 1) break;
      }
      return Value::integer(result);
    }
  } else {
    const double x = a.as_number(), y = b.as_number();
    if (op == "+") return Value::floating(x + y);
    if (op == "-") return Value::floating(x - y);
    if (op == "*") return Value::floating(x * y);
    if (op == "/") {
      if (y == 0) raise("float division by zero", line);
      return Value::floating(x / y);
    }
    if (op == "//") {
      if (y == 0) raise("float floor division by zero", line);
      return Value::floating(std::floor(x / y));
    }
    if (op == "%") {
      if (y == 0) raise("float modulo", line);
      return Value::floating(python_fmod(x, y));
    }
    if (op == "**") return Value::floating(std::pow(x, y));
  }
  unsupported(op, a, b, line);
}

Value repeat(Interpreter& in, const Value& seq, int64_t times) {
  if (times < 0) times = 0;
  if (seq.is_string()) {
    in.check_string_size(seq.as_string().size() * static_cast<size_t>(times));
    std::string out;
    for (int64_t i = 0; i < times; ++i) out += seq.as_string();
    return Value::string(std::move(out));
  }
  in.check_list_size(seq.as_list().size() * static_cast<size_t>(times));
  ValueList out;
  for (int64_t i = 0; i < times; ++i) out.insert(out.end(), seq.as_list().begin(), seq.as_list().end());
  return Value::list(std::move(out));
}

int compare_values(const Value& a, const Value& b, const std::string& op, int line) {
  if (is_numeric(a) && is_numeric(b)) {
    if (is_integral(a) && is_integral(b)) return a.as_int() < b.as_int() ? -1 : a.as_int() > b.as_int() ? 1 : 0;
    const double x = a.as_number(), y = b.as_number();
    return x < y ? -1 : x > y ? 1 : 0;
  }
  if (a.is_string() && b.is_string()) {
    const int c = a.as_string().compare(b.as_string());  // UTF-8 byte order == code point order
    return c < 0 ? -1 : c > 0 ? 1 : 0;
  }
  unsupported(op, a, b, line);
}

bool contains(const Value& needle, const Value& haystack, int line) {
  if (haystack.is_list()) {
    for (const Value& v : haystack.as_list())
      if (values_equal(v, needle)) return true;
    return false;
  }
  if (haystack.is_string()) {
    if (!needle.is_string()) unsupported("in", needle, haystack, line);
    return haystack.as_string().find(needle.as_string()) != std::string::npos;
  }
  if (haystack.is_dict()) {
    if (!needle.is_string()) return false;
    return haystack.as_dict().find(needle.as_string()) != nullptr;
  }
  unsupported("in", needle, haystack, line);
}

}  // namespace

Value apply_binary(Interpreter& in, const std::string& op, const Value& a, const Value& b) {
  const int line = in.current_line();
  if (op == "==") return Value::boolean(values_equal(a, b));
  if (op == "!=") return Value::boolean(!values_equal(a, b));
  if (op == "neg" || op == "pos") {
    if (a.is_int() || a.is_bool()) {
      if (op == "pos") return Value::integer(a.as_int());
      if (a.as_int() == INT64_MIN) raise("integer overflow", line);
      return Value::integer(-a.as_int());
    }
    if (a.is_float()) return Value::floating(op == "neg" ? -a.as_number() : a.as_number());
    raise(std::string("bad operand type for unary ") + (op == "neg" ? "-" : "+") + ": " + a.type_name(), line);
  }
  if (a.is_undefined() || b.is_undefined()) {
    if (b.is_undefined() && (op == "in" || op == "not in")) return Value::boolean(op == "not in");
    raise("Cannot perform operation " + op + " on undefined values", line);
  }
  if (a.is_none() || b.is_none()) {
    if ((op == "in" || op == "not in") && b.is_list()) return Value::boolean(contains(a, b, line) == (op == "in"));
    raise("Cannot perform operation on null values", line);
  }
  if (op == "in") return Value::boolean(contains(a, b, line));
  if (op == "not in") return Value::boolean(!contains(a, b, line));
  if (op == "~") {
    std::string s = a.to_output() + b.to_output();
    in.check_string_size(s.size());
    return Value::string(std::move(s));
  }
  if (op == "<") return Value::boolean(compare_values(a, b, op, line) < 0);
  if (op == ">") return Value::boolean(compare_values(a, b, op, line) > 0);
  if (op == "<=") return Value::boolean(compare_values(a, b, op, line) <= 0);
  if (op == ">=") return Value::boolean(compare_values(a, b, op, line) >= 0);
  if (op == "+") {
    if (a.is_string() && b.is_string()) {
      in.check_string_size(a.as_string().size() + b.as_string().size());
      return Value::string(a.as_string() + b.as_string());
    }
    if (a.is_list() && b.is_list()) {
      in.check_list_size(a.as_list().size() + b.as_list().size());
      ValueList out = a.as_list();
      out.insert(out.end(), b.as_list().begin(), b.as_list().end());
      return Value::list(std::move(out));
    }
  }
  if (op == "*") {
    if ((a.is_string() || a.is_list()) && is_integral(b)) return repeat(in, a, b.as_int());
    if ((b.is_string() || b.is_list()) && is_integral(a)) return repeat(in, b, a.as_int());
  }
  if (is_numeric(a) && is_numeric(b)) return arithmetic(in, op, a, b);
  unsupported(op, a, b, line);
}

}  // namespace kaiyuan::jinja
