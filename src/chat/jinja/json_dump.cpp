// tojson as transformers defines it (chat_template_utils.py):
// json.dumps(x, ensure_ascii=False, indent=indent) — separators ", " / ": " without indent and
// "," / ": " with it; non-ASCII kept; control characters as \uXXXX (lowercase hex).
#include <cstdio>

#include "chat/jinja/error.h"
#include "chat/jinja/interpreter.h"

namespace kaiyuan::jinja {
namespace {

void dump_string(const std::string& s, std::string& out) {
  out += '"';
  for (unsigned char c : s) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      case '\b': out += "\\b"; break;
      case '\f': out += "\\f"; break;
      default:
        if (c < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof(buf), "\\u%04x", c);
          out += buf;
        } else {
          out += static_cast<char>(c);
        }
    }
  }
  out += '"';
}

void dump(const Value& v, int indent, int depth, std::string& out) {
  if (depth > 256) raise("tojson: value nested too deeply");
  const std::string newline_pad = indent > 0 ? "\n" + std::string(static_cast<size_t>(indent * (depth + 1)), ' ') : "";
  const std::string close_pad = indent > 0 ? "\n" + std::string(static_cast<size_t>(indent * depth), ' ') : "";
  const char* item_sep = indent > 0 ? "," : ", ";
  switch (v.kind()) {
    case Value::Kind::kUndefined:
    case Value::Kind::kNone:
      out += "null";
      return;
    case Value::Kind::kBool:
      out += v.as_bool() ? "true" : "false";
      return;
    case Value::Kind::kInt:
      out += std::to_string(v.as_int());
      return;
    case Value::Kind::kFloat: {
      const std::string f = format_python_float(v.as_number());
      out += f == "nan" ? "NaN" : f == "inf" ? "Infinity" : f == "-inf" ? "-Infinity" : f;
      return;
    }
    case Value::Kind::kString:
      dump_string(v.as_string(), out);
      return;
    case Value::Kind::kList: {
      const ValueList& items = v.as_list();
      if (items.empty()) {
        out += "[]";
        return;
      }
      out += '[';
      for (size_t i = 0; i < items.size(); ++i) {
        if (i) out += item_sep;
        out += newline_pad;
        dump(items[i], indent, depth + 1, out);
      }
      out += close_pad + "]";
      return;
    }
    case Value::Kind::kDict: {
      const auto& items = v.as_dict().items();
      if (items.empty()) {
        out += "{}";
        return;
      }
      out += '{';
      bool first = true;
      for (const auto& [k, e] : items) {
        if (!first) out += item_sep;
        first = false;
        out += newline_pad;
        dump_string(k, out);
        out += ": ";
        dump(e, indent, depth + 1, out);
      }
      out += close_pad + "}";
      return;
    }
    case Value::Kind::kCallable:
      raise("Cannot convert to JSON: FunctionValue");
  }
}

}  // namespace

std::string to_json(const Value& v, int indent) {
  std::string out;
  dump(v, indent, 0, out);
  return out;
}

}  // namespace kaiyuan::jinja
