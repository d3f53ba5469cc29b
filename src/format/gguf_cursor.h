// GgufCursor: a bounds-checked little-endian reader over an untrusted byte image. Every read says
// what it was reading, so a truncated file yields "truncated at offset 12 reading n_kv (need 8 bytes,
// 4 left)" rather than an out-of-bounds access.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

#include "core/status.h"

namespace kaiyuan {

class GgufCursor {
 public:
  GgufCursor(const uint8_t* data, size_t size) : data_(data), size_(size) {}

  size_t pos() const { return pos_; }
  size_t size() const { return size_; }
  size_t remaining() const { return size_ - pos_; }

  // Reads a little-endian integer or float of type T (GGUF is little-endian only, gguf.md "File Structure").
  template <class T>
  Result<T> read(std::string_view what) {
    if (remaining() < sizeof(T)) return truncated(what, sizeof(T));
    T value;
    std::memcpy(&value, data_ + pos_, sizeof(T));
    pos_ += sizeof(T);
    return value;
  }

  // A GGUF string: u64 byte length, then that many bytes (no terminator). The length is checked
  // against the bytes left before anything is allocated.
  Result<std::string> read_string(std::string_view what) {
    if (remaining() < sizeof(uint64_t)) return truncated(what, sizeof(uint64_t));
    uint64_t length;
    std::memcpy(&length, data_ + pos_, sizeof(length));
    if (length > remaining() - sizeof(uint64_t))
      return Error("string length " + std::to_string(length) + " at offset " + std::to_string(pos_) +
                   " reading " + std::string(what) + " exceeds the " +
                   std::to_string(remaining() - sizeof(uint64_t)) + " bytes left in the file");
    pos_ += sizeof(uint64_t);
    std::string s(reinterpret_cast<const char*>(data_ + pos_), static_cast<size_t>(length));
    pos_ += static_cast<size_t>(length);
    return s;
  }

 private:
  Status truncated(std::string_view what, size_t need) const {
    return Error("truncated at offset " + std::to_string(pos_) + " reading " + std::string(what) + " (need " +
                 std::to_string(need) + " bytes, " + std::to_string(remaining()) + " left)");
  }

  const uint8_t* data_;
  size_t size_;
  size_t pos_ = 0;
};

}  // namespace kaiyuan
