// Status / Result<T>: how every fallible operation reports a problem to its caller.
// User input (model files, requests, arguments) never aborts the process: it produces a Status
// whose message names the problem and, where possible, what to do about it.
#pragma once

#include <cstdio>
#include <cstdlib>
#include <optional>
#include <string>
#include <utility>
#include <variant>

namespace kaiyuan {

class Status {
 public:
  Status() = default;  // ok
  static Status ok() { return Status(); }
  static Status error(std::string message) {
    Status s;
    s.message_ = std::move(message);
    s.failed_ = true;
    return s;
  }
  bool is_ok() const { return !failed_; }
  explicit operator bool() const { return !failed_; }
  const std::string& message() const { return message_; }
  // Prefixes context, e.g. the file or tensor name: "model.gguf: " + "tensor count 9e18 too large".
  Status with_context(const std::string& context) const {
    if (!failed_) return *this;
    return error(context + ": " + message_);
  }

 private:
  std::string message_;
  bool failed_ = false;
};

template <class T>
class [[nodiscard]] Result {
 public:
  Result(T value) : value_(std::move(value)) {}  // NOLINT: implicit on purpose
  Result(Status status) : value_(std::move(status)) {
    if (std::get<Status>(value_).is_ok()) {
      std::fprintf(stderr, "Result constructed from an ok Status\n");
      std::abort();
    }
  }
  bool is_ok() const { return std::holds_alternative<T>(value_); }
  explicit operator bool() const { return is_ok(); }
  const Status& status() const {
    static const Status kOk;
    return is_ok() ? kOk : std::get<Status>(value_);
  }
  T& value() & { return std::get<T>(value_); }
  const T& value() const& { return std::get<T>(value_); }
  T&& value() && { return std::get<T>(std::move(value_)); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }

 private:
  std::variant<T, Status> value_;
};

inline Status Error(std::string message) { return Status::error(std::move(message)); }

}  // namespace kaiyuan

#define KY_CONCAT_INNER(a, b) a##b
#define KY_CONCAT(a, b) KY_CONCAT_INNER(a, b)

// Returns the Status from the enclosing function when `expr` (a Status) failed.
#define KY_RETURN_IF_ERROR(expr)                       \
  do {                                                 \
    ::kaiyuan::Status ky_status_ = (expr);             \
    if (!ky_status_.is_ok()) return ky_status_;        \
  } while (0)

// `KY_ASSIGN_OR_RETURN(auto x, f());` binds the value or returns the error.
#define KY_ASSIGN_OR_RETURN(lhs, expr) KY_ASSIGN_OR_RETURN_IMPL(KY_CONCAT(ky_result_, __LINE__), lhs, expr)
#define KY_ASSIGN_OR_RETURN_IMPL(tmp, lhs, expr) \
  auto tmp = (expr);                             \
  if (!tmp.is_ok()) return tmp.status();         \
  lhs = std::move(tmp).value()

// Broken internal invariants (never user input): abort with file:line.
#define KY_CHECK(cond)                                                                 \
  do {                                                                                 \
    if (!(cond)) {                                                                     \
      std::fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond);    \
      std::abort();                                                                    \
    }                                                                                  \
  } while (0)
