// The runtime value of the Jinja interpreter: Python-like (None, bool, int, float, str, list,
// insertion-ordered dict, callable) plus jinja2's Undefined. Lists and dicts are shared by
// reference, as in Python, so `ns.x = ...` mutates the namespace every alias sees.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

namespace kaiyuan::jinja {

class Value;
class Interpreter;

using ValueList = std::vector<Value>;

// Insertion-ordered string-keyed map (Python dicts keep insertion order; tojson prints it).
class ValueDict {
 public:
  const Value* find(const std::string& key) const;
  Value* find(const std::string& key);
  void set(const std::string& key, Value value);
  const std::vector<std::pair<std::string, Value>>& items() const { return items_; }
  size_t size() const;  // defined below Value: clang needs Value complete for vector<pair<.., Value>>::size

 private:
  std::vector<std::pair<std::string, Value>> items_;
};

// Arguments of a call: positional then keyword, in source order.
struct CallArgs {
  ValueList positional;
  std::vector<std::pair<std::string, Value>> keyword;
  const Value* get_kw(const std::string& name) const;
};

using NativeFn = std::function<Value(Interpreter&, CallArgs&)>;
struct Callable {
  std::string name;
  NativeFn fn;
};

class Value {
 public:
  enum class Kind { kUndefined, kNone, kBool, kInt, kFloat, kString, kList, kDict, kCallable };

  Value() = default;  // undefined
  static Value none() { Value v; v.kind_ = Kind::kNone; return v; }
  static Value boolean(bool b) { Value v; v.kind_ = Kind::kBool; v.i_ = b ? 1 : 0; return v; }
  static Value integer(int64_t i) { Value v; v.kind_ = Kind::kInt; v.i_ = i; return v; }
  static Value floating(double f) { Value v; v.kind_ = Kind::kFloat; v.f_ = f; return v; }
  static Value string(std::string s);
  static Value list(ValueList items = {});
  // A list that prints as a Python tuple: "(a, b)" (dict items, dictsort pairs, tuple literals).
  static Value tuple(ValueList items);
  static Value dict(ValueDict d = {});
  static Value callable(std::string name, NativeFn fn);
  static Value from_json(const nlohmann::ordered_json& j);

  Kind kind() const { return kind_; }
  bool is_undefined() const { return kind_ == Kind::kUndefined; }
  bool is_none() const { return kind_ == Kind::kNone; }
  bool is_bool() const { return kind_ == Kind::kBool; }
  bool is_int() const { return kind_ == Kind::kInt; }
  bool is_float() const { return kind_ == Kind::kFloat; }
  bool is_number() const { return kind_ == Kind::kInt || kind_ == Kind::kFloat; }
  bool is_string() const { return kind_ == Kind::kString; }
  bool is_list() const { return kind_ == Kind::kList; }
  bool is_dict() const { return kind_ == Kind::kDict; }
  bool is_callable() const { return kind_ == Kind::kCallable; }

  bool as_bool() const { return i_ != 0; }
  int64_t as_int() const { return i_; }
  double as_number() const { return kind_ == Kind::kFloat ? f_ : static_cast<double>(i_); }
  const std::string& as_string() const { return *str_; }
  ValueList& as_list() const { return *list_; }
  ValueDict& as_dict() const { return *dict_; }
  const Callable& as_callable() const { return *fn_; }

  // Python truthiness: empty strings/containers, 0, None and Undefined are false.
  bool truthy() const;
  // What `{{ value }}` prints. None and Undefined print nothing (transformers.js, which made the
  // goldens, skips them; jinja2 prints "None" for None); other values print like Python's str().
  std::string to_output() const;
  // Python's repr(), used for values inside printed lists and dicts.
  std::string repr() const;
  // The type name used in error messages; matches transformers.js ("NullValue", "StringValue").
  const char* type_name() const;

 private:
  Kind kind_ = Kind::kUndefined;
  int64_t i_ = 0;
  double f_ = 0;
  std::shared_ptr<const std::string> str_;
  bool is_tuple_ = false;
  std::shared_ptr<ValueList> list_;
  std::shared_ptr<ValueDict> dict_;
  std::shared_ptr<const Callable> fn_;
};

// Python `==`: deep equality; 1 == 1.0 and True == 1, as in Python.
bool values_equal(const Value& a, const Value& b);

// Python's repr() of a float ("1.0", "0.30000000000000004", "1e+20").
std::string format_python_float(double f);

inline size_t ValueDict::size() const { return items_.size(); }

}  // namespace kaiyuan::jinja
