// The one exception type of the Jinja interpreter. It never leaves the library: Template's
// public functions catch it and return a Status naming the template line.
#pragma once

#include <stdexcept>
#include <string>

namespace kaiyuan::jinja {

class JinjaError : public std::runtime_error {
 public:
  explicit JinjaError(const std::string& message, int line = 0) : std::runtime_error(message), line_(line) {}
  int line() const { return line_; }

 private:
  int line_;
};

[[noreturn]] inline void raise(const std::string& message, int line = 0) { throw JinjaError(message, line); }

}  // namespace kaiyuan::jinja
