// Template: lexer + parser at construction, interpreter per render; the JinjaError exception
// used inside the interpreter stops here and becomes a Status.
#include "chat/jinja/template.h"

#include "chat/jinja/error.h"
#include "chat/jinja/lexer.h"
#include "chat/jinja/parser.h"

namespace kaiyuan::jinja {

Result<Template> Template::parse(const std::string& source) {
  KY_ASSIGN_OR_RETURN(std::vector<Token> tokens, tokenize(source));
  KY_ASSIGN_OR_RETURN(Body body, jinja::parse(tokens));
  Template t;
  t.body_ = std::make_shared<const Body>(std::move(body));
  return t;
}

Result<std::string> Template::render(const std::vector<std::pair<std::string, Value>>& variables,
                                     const Limits& limits) const {
  auto globals = std::make_shared<Scope>();
  install_globals(*globals);
  for (const auto& [name, value] : variables) globals->vars[name] = value;
  Interpreter interpreter(limits);
  try {
    return interpreter.render(*body_, globals);
  } catch (const JinjaError& e) {
    const int line = e.line() ? e.line() : interpreter.current_line();
    return Error("template line " + std::to_string(line) + ": " + e.what());
  } catch (const std::bad_alloc&) {
    return Error("template line " + std::to_string(interpreter.current_line()) + ": out of memory");
  }
}

}  // namespace kaiyuan::jinja
