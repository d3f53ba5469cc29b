// Recursive-descent parser for the Jinja subset used by chat templates (see parser.h for the
// precedence ladder). Errors name the template line and, for unclosed blocks, the opening tag.
#include "chat/jinja/parser.h"

#include <algorithm>

#include "chat/jinja/error.h"

namespace kaiyuan::jinja {
namespace {

// Deeper nesting than this is refused so a hostile template cannot overflow the stack.
constexpr int kMaxNesting = 128;

class Parser {
 public:
  explicit Parser(const std::vector<Token>& tokens) : t_(tokens) {}

  Body parse_template() {
    std::string found;
    Body body = parse_body({}, &found, "", 0);
    return body;
  }

 private:
  // ---- token helpers ---------------------------------------------------------------------------
  const Token& cur() const { return t_[std::min(i_, t_.size() - 1)]; }
  const Token& peek(size_t ahead = 1) const { return t_[std::min(i_ + ahead, t_.size() - 1)]; }
  void next() {
    if (i_ < t_.size() - 1) ++i_;
  }
  bool is_op(const char* op) const { return cur().type == TokenType::kOperator && cur().text == op; }
  bool is_name(const char* name) const { return cur().type == TokenType::kName && cur().text == name; }
  bool skip_op(const char* op) {
    if (!is_op(op)) return false;
    next();
    return true;
  }
  bool skip_name(const char* name) {
    if (!is_name(name)) return false;
    next();
    return true;
  }
  [[noreturn]] void fail(const std::string& message) const { raise(message, cur().line); }
  std::string describe(const Token& t) const {
    switch (t.type) {
      case TokenType::kEof: return "end of template";
      case TokenType::kBlockEnd: return "'%}'";
      case TokenType::kVarEnd: return "'}}'";
      case TokenType::kString: return "string literal";
      default: return "'" + t.text + "'";
    }
  }
  void expect_op(const char* op) {
    if (!skip_op(op)) fail(std::string("expected '") + op + "', got " + describe(cur()));
  }
  std::string expect_name() {
    if (cur().type != TokenType::kName) fail("expected a name, got " + describe(cur()));
    std::string name = cur().text;
    next();
    return name;
  }
  void expect_block_end() {
    if (cur().type != TokenType::kBlockEnd) fail("expected '%}', got " + describe(cur()));
    next();
  }

  struct DepthGuard {
    explicit DepthGuard(Parser& p) : p_(p) {
      if (++p_.depth_ > kMaxNesting) p_.fail("template nesting too deep (more than " + std::to_string(kMaxNesting) + " levels)");
    }
    ~DepthGuard() { --p_.depth_; }
    Parser& p_;
  };

  // Records the innermost open block for "still open" messages.
  struct OpenBlock {
    OpenBlock(Parser& p, const std::string& name, int line, bool active) : p_(p), active_(active) {
      if (active_) p_.open_blocks_.emplace_back(name, line);
    }
    ~OpenBlock() {
      if (active_) p_.open_blocks_.pop_back();
    }
    Parser& p_;
    bool active_;
  };

  // ---- statements ------------------------------------------------------------------------------
  // Parses until one of `end_names` opens a block tag; that name is consumed and stored in *found.
  Body parse_body(const std::vector<std::string>& end_names, std::string* found, const std::string& opener,
                  int opener_line) {
    DepthGuard guard(*this);
    OpenBlock open_block(*this, opener, opener_line, !end_names.empty());
    Body body;
    while (true) {
      const Token& tok = cur();
      switch (tok.type) {
        case TokenType::kEof:
          if (!end_names.empty())
            raise("unexpected end of template: '" + opener + "' block opened at line " + std::to_string(opener_line) +
                      " is never closed (expected '" + end_names.back() + "')",
                  tok.line);
          return body;
        case TokenType::kText: {
          auto s = make_stmt(StmtKind::kText);
          s->text = tok.text;
          next();
          body.push_back(std::move(s));
          break;
        }
        case TokenType::kVarBegin: {
          next();
          auto s = make_stmt(StmtKind::kPrint);
          s->expr = parse_tuple();
          if (cur().type != TokenType::kVarEnd) fail("expected '}}', got " + describe(cur()));
          next();
          body.push_back(std::move(s));
          break;
        }
        case TokenType::kBlockBegin: {
          next();
          if (cur().type == TokenType::kName &&
              std::find(end_names.begin(), end_names.end(), cur().text) != end_names.end()) {
            *found = cur().text;
            next();
            return body;
          }
          StmtPtr s = parse_statement();
          if (s) body.push_back(std::move(s));
          break;
        }
        default:
          fail("unexpected " + describe(tok));
      }
    }
  }

  StmtPtr make_stmt(StmtKind kind) const {
    auto s = std::make_unique<Stmt>();
    s->kind = kind;
    s->line = cur().line;
    return s;
  }

  StmtPtr parse_statement() {
    if (cur().type != TokenType::kName) fail("expected a statement name after '{%', got " + describe(cur()));
    const std::string name = cur().text;
    const int line = cur().line;
    next();
    StmtPtr s;
    if (name == "if") s = parse_if(line);
    else if (name == "for") s = parse_for(line);
    else if (name == "set") s = parse_set(line);
    else if (name == "macro") s = parse_macro(line);
    else if (name == "call") s = parse_call_block(line);
    else if (name == "filter") s = parse_filter_block(line);
    else if (name == "generation") s = parse_generation(line);
    else if (name == "break" || name == "continue") {
      if (loop_depth_ == 0) fail("'" + name + "' outside of a for loop");
      s = std::make_unique<Stmt>();
      s->kind = name == "break" ? StmtKind::kBreak : StmtKind::kContinue;
      expect_block_end();
    } else if (name.rfind("end", 0) == 0 || name == "elif" || name == "else") {
      if (open_blocks_.empty()) raise("unexpected '" + name + "': no block is open", line);
      raise("unexpected '" + name + "': the '" + open_blocks_.back().first + "' block opened at line " +
                std::to_string(open_blocks_.back().second) + " is still open",
            line);
    } else {
      raise("unknown or unsupported statement '" + name + "'", line);
    }
    s->line = line;
    return s;
  }

  StmtPtr parse_if(int line) {
    auto s = std::make_unique<Stmt>();
    s->kind = StmtKind::kIf;
    ExprPtr cond = parse_tuple();
    expect_block_end();
    while (true) {
      std::string found;
      Body body = parse_body({"elif", "else", "endif"}, &found, "if", line);
      s->branches.emplace_back(std::move(cond), std::move(body));
      if (found == "elif") {
        cond = parse_tuple();
        expect_block_end();
        continue;
      }
      expect_block_end();
      if (found == "else") {
        s->else_body = parse_body({"endif"}, &found, "if", line);
        expect_block_end();
      }
      return s;
    }
  }

  std::vector<std::string> parse_target_names() {
    std::vector<std::string> names;
    const bool paren = skip_op("(");
    names.push_back(expect_name());
    while (skip_op(",")) {
      if (paren && is_op(")")) break;
      names.push_back(expect_name());
    }
    if (paren) expect_op(")");
    return names;
  }

  StmtPtr parse_for(int line) {
    auto s = std::make_unique<Stmt>();
    s->kind = StmtKind::kFor;
    s->targets = parse_target_names();
    if (!skip_name("in")) fail("expected 'in' in for loop, got " + describe(cur()));
    s->expr = parse_or();
    if (skip_name("if")) s->cond = parse_tuple();
    if (is_name("recursive")) fail("recursive for loops are not supported");
    expect_block_end();
    std::string found;
    ++loop_depth_;
    s->body = parse_body({"else", "endfor"}, &found, "for", line);
    --loop_depth_;
    expect_block_end();
    if (found == "else") {
      s->else_body = parse_body({"endfor"}, &found, "for", line);
      expect_block_end();
    }
    return s;
  }

  StmtPtr parse_set(int line) {
    auto s = std::make_unique<Stmt>();
    s->kind = StmtKind::kSet;
    if (cur().type == TokenType::kName && peek().type == TokenType::kOperator && peek().text == ".") {
      auto obj = std::make_unique<Expr>();
      obj->kind = ExprKind::kName;
      obj->line = cur().line;
      obj->name = expect_name();
      expect_op(".");
      s->target_object = std::move(obj);
      s->text = expect_name();
    } else {
      s->targets = parse_target_names();
    }
    if (skip_op("=")) {
      s->expr = parse_tuple();
      expect_block_end();
      return s;
    }
    if (s->target_object) fail("block set cannot assign to an attribute");
    s->kind = StmtKind::kSetBlock;
    while (skip_op("|")) s->filters.push_back(parse_filter_call(nullptr));
    expect_block_end();
    std::string found;
    s->body = parse_body({"endset"}, &found, "set", line);
    expect_block_end();
    return s;
  }

  void parse_params(std::vector<std::pair<std::string, ExprPtr>>& params) {
    expect_op("(");
    while (!is_op(")")) {
      if (!params.empty()) expect_op(",");
      if (is_op(")")) break;
      std::string name = expect_name();
      ExprPtr def;
      if (skip_op("=")) def = parse_expression();
      params.emplace_back(std::move(name), std::move(def));
    }
    expect_op(")");
  }

  StmtPtr parse_macro(int line) {
    auto s = std::make_unique<Stmt>();
    s->kind = StmtKind::kMacro;
    s->text = expect_name();
    parse_params(s->params);
    expect_block_end();
    std::string found;
    const int saved_loop_depth = loop_depth_;
    loop_depth_ = 0;
    s->body = parse_body({"endmacro"}, &found, "macro", line);
    loop_depth_ = saved_loop_depth;
    if (cur().type == TokenType::kName) next();  // `{% endmacro name %}`
    expect_block_end();
    return s;
  }

  StmtPtr parse_call_block(int line) {
    auto s = std::make_unique<Stmt>();
    s->kind = StmtKind::kCallBlock;
    if (is_op("(")) parse_params(s->params);
    s->expr = parse_expression();
    if (s->expr->kind != ExprKind::kCall) fail("expected a macro call in {% call %}");
    expect_block_end();
    std::string found;
    s->body = parse_body({"endcall"}, &found, "call", line);
    expect_block_end();
    return s;
  }

  StmtPtr parse_filter_block(int line) {
    auto s = std::make_unique<Stmt>();
    s->kind = StmtKind::kFilterBlock;
    s->filters.push_back(parse_filter_call(nullptr));
    while (skip_op("|")) s->filters.push_back(parse_filter_call(nullptr));
    expect_block_end();
    std::string found;
    s->body = parse_body({"endfilter"}, &found, "filter", line);
    expect_block_end();
    return s;
  }

  // transformers' AssistantTracker extension: {% generation %} only marks assistant spans, so its
  // body renders as if the tags were absent.
  StmtPtr parse_generation(int line) {
    expect_block_end();
    auto s = std::make_unique<Stmt>();
    s->kind = StmtKind::kIf;
    auto yes = std::make_unique<Expr>();
    yes->kind = ExprKind::kLiteral;
    yes->literal = Value::boolean(true);
    std::string found;
    Body body = parse_body({"endgeneration"}, &found, "generation", line);
    expect_block_end();
    s->branches.emplace_back(std::move(yes), std::move(body));
    return s;
  }

  // ---- expressions -----------------------------------------------------------------------------
  ExprPtr make_expr(ExprKind kind, int line) const {
    auto e = std::make_unique<Expr>();
    e->kind = kind;
    e->line = line;
    return e;
  }
  ExprPtr binary(std::string op, ExprPtr a, ExprPtr b, int line) const {
    auto e = make_expr(ExprKind::kBinary, line);
    e->name = std::move(op);
    e->a = std::move(a);
    e->b = std::move(b);
    return e;
  }

  // An expression, or a tuple when commas follow (`{{ a, b }}`, `set a, b = 1, 2`).
  ExprPtr parse_tuple() {
    const int line = cur().line;
    ExprPtr first = parse_expression();
    if (!is_op(",")) return first;
    auto t = make_expr(ExprKind::kTuple, line);
    t->items.push_back(std::move(first));
    while (skip_op(",")) {
      if (cur().type == TokenType::kBlockEnd || cur().type == TokenType::kVarEnd || is_op(")")) break;
      t->items.push_back(parse_expression());
    }
    return t;
  }

  ExprPtr parse_expression() {
    DepthGuard guard(*this);
    ExprPtr e = parse_or();
    while (is_name("if")) {
      const int line = cur().line;
      next();
      auto c = make_expr(ExprKind::kCondition, line);
      c->a = parse_or();
      c->b = std::move(e);
      if (skip_name("else")) c->c = parse_expression();
      e = std::move(c);
    }
    return e;
  }

  ExprPtr parse_or() {
    ExprPtr e = parse_and();
    while (is_name("or")) {
      const int line = cur().line;
      next();
      e = binary("or", std::move(e), parse_and(), line);
    }
    return e;
  }

  ExprPtr parse_and() {
    ExprPtr e = parse_not();
    while (is_name("and")) {
      const int line = cur().line;
      next();
      e = binary("and", std::move(e), parse_not(), line);
    }
    return e;
  }

  ExprPtr parse_not() {
    if (is_name("not")) {
      DepthGuard guard(*this);
      auto e = make_expr(ExprKind::kUnary, cur().line);
      next();
      e->name = "not";
      e->a = parse_not();
      return e;
    }
    return parse_compare();
  }

  ExprPtr parse_compare() {
    ExprPtr e = parse_math1();
    while (true) {
      const int line = cur().line;
      std::string op;
      if (cur().type == TokenType::kOperator &&
          (cur().text == "==" || cur().text == "!=" || cur().text == "<" || cur().text == ">" || cur().text == "<=" ||
           cur().text == ">=")) {
        op = cur().text;
        next();
      } else if (is_name("in")) {
        op = "in";
        next();
      } else if (is_name("not") && peek().type == TokenType::kName && peek().text == "in") {
        op = "not in";
        next();
        next();
      } else {
        return e;
      }
      e = binary(op, std::move(e), parse_math1(), line);
    }
  }

  ExprPtr parse_math1() {
    ExprPtr e = parse_concat();
    while (is_op("+") || is_op("-")) {
      const std::string op = cur().text;
      const int line = cur().line;
      next();
      e = binary(op, std::move(e), parse_concat(), line);
    }
    return e;
  }

  ExprPtr parse_concat() {
    ExprPtr e = parse_math2();
    while (is_op("~")) {
      const int line = cur().line;
      next();
      e = binary("~", std::move(e), parse_math2(), line);
    }
    return e;
  }

  ExprPtr parse_math2() {
    ExprPtr e = parse_pow();
    while (is_op("*") || is_op("/") || is_op("//") || is_op("%")) {
      const std::string op = cur().text;
      const int line = cur().line;
      next();
      e = binary(op, std::move(e), parse_pow(), line);
    }
    return e;
  }

  ExprPtr parse_pow() {
    ExprPtr e = parse_unary(true);
    while (is_op("**")) {
      const int line = cur().line;
      next();
      e = binary("**", std::move(e), parse_unary(true), line);
    }
    return e;
  }

  ExprPtr parse_unary(bool with_filter) {
    DepthGuard guard(*this);
    ExprPtr e;
    if (is_op("-") || is_op("+")) {
      e = make_expr(ExprKind::kUnary, cur().line);
      e->name = cur().text;
      next();
      e->a = parse_unary(false);
    } else {
      e = parse_primary();
    }
    e = parse_postfix(std::move(e));
    if (with_filter) e = parse_filter_chain(std::move(e));
    return e;
  }

  ExprPtr parse_primary() {
    DepthGuard guard(*this);
    const Token& tok = cur();
    const int line = tok.line;
    switch (tok.type) {
      case TokenType::kName: {
        const std::string& n = tok.text;
        auto e = make_expr(ExprKind::kLiteral, line);
        if (n == "true" || n == "True") e->literal = Value::boolean(true);
        else if (n == "false" || n == "False") e->literal = Value::boolean(false);
        else if (n == "none" || n == "None") e->literal = Value::none();
        else {
          e->kind = ExprKind::kName;
          e->name = n;
        }
        next();
        return e;
      }
      case TokenType::kString: {
        std::string s;
        while (cur().type == TokenType::kString) {  // adjacent literals concatenate, as in Python
          s += cur().text;
          next();
        }
        auto e = make_expr(ExprKind::kLiteral, line);
        e->literal = Value::string(std::move(s));
        return e;
      }
      case TokenType::kInt: {
        auto e = make_expr(ExprKind::kLiteral, line);
        e->literal = Value::integer(tok.int_value);
        next();
        return e;
      }
      case TokenType::kFloat: {
        auto e = make_expr(ExprKind::kLiteral, line);
        e->literal = Value::floating(tok.float_value);
        next();
        return e;
      }
      case TokenType::kOperator:
        if (tok.text == "(") {
          next();
          if (skip_op(")")) return make_expr(ExprKind::kTuple, line);
          ExprPtr e = parse_tuple();
          expect_op(")");
          return e;
        }
        if (tok.text == "[") {
          next();
          auto e = make_expr(ExprKind::kList, line);
          while (!is_op("]")) {
            if (!e->items.empty()) expect_op(",");
            if (is_op("]")) break;
            e->items.push_back(parse_expression());
          }
          expect_op("]");
          return e;
        }
        if (tok.text == "{") {
          next();
          auto e = make_expr(ExprKind::kDict, line);
          while (!is_op("}")) {
            if (!e->items.empty()) expect_op(",");
            if (is_op("}")) break;
            e->items.push_back(parse_expression());
            expect_op(":");
            e->items.push_back(parse_expression());
          }
          expect_op("}");
          return e;
        }
        break;
      default:
        break;
    }
    fail("unexpected " + describe(tok) + " in expression");
  }

  ExprPtr parse_postfix(ExprPtr e) {
    while (true) {
      const int line = cur().line;
      if (is_op(".")) {
        next();
        if (cur().type == TokenType::kInt) {
          auto g = make_expr(ExprKind::kGetItem, line);
          g->a = std::move(e);
          g->b = make_expr(ExprKind::kLiteral, line);
          g->b->literal = Value::integer(cur().int_value);
          next();
          e = std::move(g);
          continue;
        }
        auto g = make_expr(ExprKind::kGetAttr, line);
        g->name = expect_name();
        g->a = std::move(e);
        e = std::move(g);
      } else if (is_op("[")) {
        next();
        e = parse_subscript(std::move(e), line);
      } else if (is_op("(")) {
        e = parse_call_args(std::move(e), ExprKind::kCall, line);
      } else {
        return e;
      }
    }
  }

  ExprPtr parse_subscript(ExprPtr obj, int line) {
    ExprPtr start;
    if (!is_op(":")) {
      start = parse_expression();
      if (skip_op("]")) {
        auto g = make_expr(ExprKind::kGetItem, line);
        g->a = std::move(obj);
        g->b = std::move(start);
        return g;
      }
    }
    auto s = make_expr(ExprKind::kSlice, line);
    s->a = std::move(obj);
    expect_op(":");
    ExprPtr stop, step;
    if (!is_op(":") && !is_op("]")) stop = parse_expression();
    if (skip_op(":") && !is_op("]")) step = parse_expression();
    expect_op("]");
    s->items.push_back(std::move(start));
    s->items.push_back(std::move(stop));
    s->items.push_back(std::move(step));
    return s;
  }

  // `(` args `)` into a node of `kind` whose `a` is `target`.
  ExprPtr parse_call_args(ExprPtr target, ExprKind kind, int line) {
    auto c = make_expr(kind, line);
    c->a = std::move(target);
    expect_op("(");
    bool first = true;
    while (!is_op(")")) {
      if (!first) expect_op(",");
      first = false;
      if (is_op(")")) break;
      if (is_op("*") || is_op("**")) fail("*args and **kwargs in calls are not supported");
      if (cur().type == TokenType::kName && peek().type == TokenType::kOperator && peek().text == "=") {
        std::string key = cur().text;
        next();
        next();
        c->kwargs.emplace_back(std::move(key), parse_expression());
      } else {
        if (!c->kwargs.empty()) fail("positional argument after keyword argument");
        c->items.push_back(parse_expression());
      }
    }
    expect_op(")");
    return c;
  }

  // After '|': name [ (args) ].
  ExprPtr parse_filter_call(ExprPtr operand) {
    const int line = cur().line;
    std::string name = expect_name();
    ExprPtr f;
    if (is_op("(")) {
      f = parse_call_args(std::move(operand), ExprKind::kFilter, line);
    } else {
      f = make_expr(ExprKind::kFilter, line);
      f->a = std::move(operand);
    }
    f->name = std::move(name);
    return f;
  }

  ExprPtr parse_filter_chain(ExprPtr e) {
    while (true) {
      const int line = cur().line;
      if (skip_op("|")) {
        e = parse_filter_call(std::move(e));
      } else if (is_name("is")) {
        next();
        const bool negated = skip_name("not");
        const std::string name = expect_name();
        ExprPtr t;
        if (is_op("(")) {
          t = parse_call_args(std::move(e), ExprKind::kTest, line);
        } else {
          t = make_expr(ExprKind::kTest, line);
          t->a = std::move(e);
          const Token& c = cur();
          const bool starts_arg = c.type == TokenType::kString || c.type == TokenType::kInt ||
                                  c.type == TokenType::kFloat ||
                                  (c.type == TokenType::kOperator && (c.text == "[" || c.text == "{")) ||
                                  (c.type == TokenType::kName && c.text != "else" && c.text != "or" &&
                                   c.text != "and" && c.text != "if" && c.text != "is" && c.text != "not" &&
                                   c.text != "in");
          if (starts_arg) t->items.push_back(parse_postfix(parse_primary()));
        }
        t->name = name;
        t->negated = negated;
        e = std::move(t);
      } else if (is_op("(")) {
        e = parse_call_args(std::move(e), ExprKind::kCall, line);
      } else {
        return e;
      }
    }
  }

  const std::vector<Token>& t_;
  size_t i_ = 0;
  int depth_ = 0;
  int loop_depth_ = 0;
  std::vector<std::pair<std::string, int>> open_blocks_;
};

}  // namespace

Result<Body> parse(const std::vector<Token>& tokens) {
  if (tokens.empty()) return Body{};
  try {
    return Parser(tokens).parse_template();
  } catch (const JinjaError& e) {
    return Error("template line " + std::to_string(e.line()) + ": " + e.what());
  }
}

}  // namespace kaiyuan::jinja
