// A compiled Jinja template: parse once, render many times with different variables.
// Errors (syntax, runtime, resource limits) come back as a Status naming the template line.
#pragma once

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "chat/jinja/ast.h"
#include "chat/jinja/interpreter.h"
#include "chat/jinja/value.h"
#include "core/status.h"

namespace kaiyuan::jinja {

class Template {
 public:
  static Result<Template> parse(const std::string& source);

  // Renders with `variables` (later entries win) on top of the globals (range, namespace, ...).
  Result<std::string> render(const std::vector<std::pair<std::string, Value>>& variables,
                             const Limits& limits = Limits()) const;

 private:
  std::shared_ptr<const Body> body_;
};

}  // namespace kaiyuan::jinja
