// GgufValue conversions and type names (the value model of gguf.h).
#include <bit>
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

size_t GgufValue::size() const {
  if (type != GgufType::ARRAY) return 0;
  return elem_type == GgufType::ARRAY ? nested_.size() : items_.size();
}

GgufValue GgufValue::at(size_t k) const {
  if (elem_type == GgufType::ARRAY) return nested_.at(k);
  const uint64_t bits = items_.at(k);
  GgufValue e;
  e.type = elem_type;
  if (elem_type == GgufType::STRING) {
    e.str = std::string(*string_at(k));
  } else if (is_signed_type(elem_type)) {
    e.i = static_cast<int64_t>(bits);
  } else if (elem_type == GgufType::F32 || elem_type == GgufType::F64) {
    e.f = std::bit_cast<double>(bits);
  } else {
    e.u = bits;
  }
  return e;
}

std::optional<int64_t> GgufValue::int_at(size_t k) const {
  if (k >= size() || elem_type == GgufType::STRING || elem_type == GgufType::ARRAY) return std::nullopt;
  return at(k).as_int();
}

std::optional<double> GgufValue::float_at(size_t k) const {
  if (k >= size() || elem_type == GgufType::STRING || elem_type == GgufType::ARRAY) return std::nullopt;
  return at(k).as_float();
}

std::optional<std::string_view> GgufValue::string_at(size_t k) const {
  if (elem_type != GgufType::STRING || k >= size()) return std::nullopt;
  const uint64_t begin = k == 0 ? 0 : items_[k - 1];
  return std::string_view(chars_).substr(begin, items_[k] - begin);
}

const GgufValue* GgufValue::array_at(size_t k) const {
  return elem_type == GgufType::ARRAY && k < size() ? &nested_[k] : nullptr;
}

bool GgufValue::push_back(GgufValue e) {
  if (type != GgufType::ARRAY || e.type != elem_type) return false;
  switch (elem_type) {
    case GgufType::ARRAY: nested_.push_back(std::move(e)); break;
    case GgufType::STRING:
      chars_ += e.str;
      items_.push_back(chars_.size());
      break;
    case GgufType::F32:
    case GgufType::F64: items_.push_back(std::bit_cast<uint64_t>(e.f)); break;
    default: items_.push_back(is_signed_type(elem_type) ? static_cast<uint64_t>(e.i) : e.u); break;
  }
  return true;
}

void GgufValue::reserve(size_t n) {
  if (elem_type == GgufType::ARRAY)
    nested_.reserve(n);
  else
    items_.reserve(n);
}

}  // namespace kaiyuan
