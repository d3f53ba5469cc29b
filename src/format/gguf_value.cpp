// GgufValue conversions and type names (the value model of gguf.h).
#include <limits>

#include "format/gguf.h"

namespace kaiyuan {

std::string_view gguf_type_name(GgufType t) {
  switch (t) {
    case GgufType::U8: return "u8";
    case GgufType::I8: return "i8";
    case GgufType::U16: return "u16";
    case GgufType::I16: return "i16";
    case GgufType::U32: return "u32";
    case GgufType::I32: return "i32";
    case GgufType::F32: return "f32";
    case GgufType::BOOL: return "bool";
    case GgufType::STRING: return "string";
    case GgufType::ARRAY: return "array";
    case GgufType::U64: return "u64";
    case GgufType::I64: return "i64";
    case GgufType::F64: return "f64";
  }
  return "unknown";
}

namespace {

bool is_unsigned_type(GgufType t) {
  return t == GgufType::U8 || t == GgufType::U16 || t == GgufType::U32 || t == GgufType::U64;
}
bool is_signed_type(GgufType t) {
  return t == GgufType::I8 || t == GgufType::I16 || t == GgufType::I32 || t == GgufType::I64;
}

}  // namespace

bool GgufValue::is_integer() const { return is_unsigned_type(type) || is_signed_type(type); }

std::optional<int64_t> GgufValue::as_int() const {
  if (is_signed_type(type)) return i;
  if (is_unsigned_type(type)) {
    if (u > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) return std::nullopt;
    return static_cast<int64_t>(u);
  }
  return std::nullopt;
}

std::optional<double> GgufValue::as_float() const {
  if (type == GgufType::F32 || type == GgufType::F64) return f;
  if (is_signed_type(type)) return static_cast<double>(i);
  if (is_unsigned_type(type)) return static_cast<double>(u);
  return std::nullopt;
}

std::optional<bool> GgufValue::as_bool() const {
  if (type == GgufType::BOOL) return u != 0;
  return std::nullopt;
}

const std::string* GgufValue::as_string() const { return type == GgufType::STRING ? &str : nullptr; }

}  // namespace kaiyuan
