// Finds where one JSON value ends in text that arrives a piece at a time, by tracking only nesting
// depth and strings (enough to know that `{"a": "}"}` ends at its last byte). It does not validate:
// once the extent is known, a real JSON parser judges the value (tool_call_stream.cpp).
#pragma once

namespace kaiyuan::server {

class JsonValueScanner {
 public:
  // Feeds the value's next byte (the first one fed is the value's first byte, not whitespace).
  // False when `c` is not part of the value: the value had already ended, or `c` ends a scalar
  // (number, true, false, null have no closing byte; the delimiter after them is not theirs).
  bool push(char c);
  bool complete() const { return complete_; }
  char first() const { return first_; }  // '{' object, '[' array, '"' string, else a scalar; 0 before any byte

 private:
  char first_ = 0;
  int depth_ = 0;  // open objects and arrays
  bool in_string_ = false;
  bool escape_ = false;  // the previous string byte was a backslash
  bool complete_ = false;
};

}  // namespace kaiyuan::server
