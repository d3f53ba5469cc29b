#include "server/json_value_scanner.h"

#include <cstring>

namespace kaiyuan::server {

bool JsonValueScanner::push(char c) {
  if (complete_) return false;
  if (first_ == 0) {
    first_ = c;
    if (c == '{' || c == '[') depth_ = 1;
    else if (c == '"') in_string_ = true;
    return true;
  }
  if (in_string_) {
    if (escape_) {
      escape_ = false;
    } else if (c == '\\') {
      escape_ = true;
    } else if (c == '"') {
      in_string_ = false;
      complete_ = depth_ == 0;  // a string value, not a string inside a container
    }
    return true;
  }
  if (depth_ == 0) {  // a scalar: it goes on while the bytes may belong to a number or literal
    if (c != 0 && std::strchr("0123456789+-.eEabcdfilnrstu", c) != nullptr) return true;
    complete_ = true;
    return false;
  }
  if (c == '"') {
    in_string_ = true;
  } else if (c == '{' || c == '[') {
    ++depth_;
  } else if (c == '}' || c == ']') {
    complete_ = --depth_ == 0;
  }
  return true;
}

}  // namespace kaiyuan::server
