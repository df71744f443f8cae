//===- Sema.cpp - Names, types, calls and constants -----------------------===//
//
// One pass over every pattern: resolves names (lets, params, built-in
// variables), types each expression, binds call arguments to parameters,
// folds constants (reporting overflow and division by zero), then checks the
// pattern call graph for recursion and the head ranges of dispatches.
//
//===----------------------------------------------------------------------===//
#include "maskjit/dsl/Frontend.h"
#include "maskjit/dsl/IntMath.h"

#include <algorithm>
#include <functional>
#include <set>
#include <unordered_map>

namespace maskjit::dsl {
namespace {

/// How deep pattern calls may nest (a chain, not recursion, which is an
/// error anyway): keeps every later recursive walk within a bounded stack.
constexpr unsigned kMaxCallDepth = 32;

const std::vector<std::pair<const char *, Var>> kVars = {
    {"q", Var::Q}, {"k", Var::K},   {"h", Var::H},
    {"b", Var::B}, {"Lq", Var::Lq}, {"Lk", Var::Lk}};

const std::vector<std::pair<const char *, Builtin>> kBuiltins = {
    {"abs", Builtin::Abs},
    {"min", Builtin::Min},
    {"max", Builtin::Max},
    {"clamp", Builtin::Clamp},
    {"topk_columns", Builtin::TopkColumns},
    {"topk_diagonals", Builtin::TopkDiagonals},
    {"topk_blocks", Builtin::TopkBlocks}};

std::optional<Var> lookupVar(const std::string &n) {
  for (auto &[name, v] : kVars)
    if (n == name)
      return v;
  return std::nullopt;
}
Builtin lookupBuiltin(const std::string &n) {
  for (auto &[name, b] : kBuiltins)
    if (n == name)
      return b;
  return Builtin::None;
}

std::string quote(const std::string &s) { return "`" + s + "`"; }

class Checker {
public:
  Checker(Program &program, DiagnosticEngine &diags)
      : program_(program), diags_(diags) {}

  void run();

private:
  void collectPatterns();
  void checkPattern(PatternDecl &p);
  void checkParam(PatternDecl &p, uint32_t index);
  void checkDispatch(PatternDecl &p);
  void checkRecursion();

  /// Types `e`. `setAllowed` is true only for the right side of `in`.
  void check(Expr &e, bool setAllowed = false);
  void checkName(Expr &e);
  void checkUnary(Expr &e);
  void checkBinary(Expr &e);
  void checkIf(Expr &e);
  void checkCall(Expr &e, bool setAllowed);
  void checkBuiltinCall(Expr &e, bool setAllowed);
  void checkPatternCall(Expr &e);
  void checkIndex(Expr &e);

  /// Reports unless `e` has type `want` (int also accepts int[heads], which
  /// reads the current head's value). Error-typed operands report nothing.
  bool expect(const Expr &e, Type want, const std::string &what);
  void foldArith(Expr &e);

  std::vector<std::string> visibleNames() const;

  Program &program_;
  DiagnosticEngine &diags_;
  std::vector<PatternDecl *> all_;
  PatternDecl *current_ = nullptr;
  /// Lets of the current pattern that are already checked (in order).
  size_t visibleLets_ = 0;
  /// The current pattern's names: params, every let (first definition) and
  /// the visible lets (latest definition), so that a name resolves in O(1)
  /// however many lets a pattern has.
  std::unordered_map<std::string, uint32_t> paramSlot_, letFirst_, visibleLet_;
  std::optional<uint32_t> paramOf(const std::string &n) const {
    auto it = paramSlot_.find(n);
    return it == paramSlot_.end() ? std::nullopt
                                  : std::optional<uint32_t>(it->second);
  }
  /// Calls made by each pattern, for the recursion check.
  std::map<const PatternDecl *,
           std::vector<std::pair<const PatternDecl *, Location>>>
      calls_;
};

void Checker::run() {
  collectPatterns();
  for (PatternDecl *p : all_)
    checkPattern(*p);
  checkRecursion();
}

void Checker::collectPatterns() {
  for (auto &m : program_.modules) {
    for (auto &p : m->patterns) {
      all_.push_back(p.get());
      auto [it, inserted] = program_.patterns.emplace(p->name, p.get());
      if (!inserted) {
        Diagnostic &d =
            diags_.error(p->loc, "redefinition of pattern " + quote(p->name));
        DiagnosticEngine::note(d, it->second->loc,
                               "previous definition is here");
        continue;
      }
      if (lookupBuiltin(p->name) != Builtin::None || lookupVar(p->name))
        diags_.error(p->loc, "pattern name " + quote(p->name) +
                                 " is reserved for a built-in");
    }
  }
}

void Checker::checkPattern(PatternDecl &p) {
  current_ = &p;
  visibleLets_ = 0;
  paramSlot_.clear();
  letFirst_.clear();
  visibleLet_.clear();
  for (uint32_t i = 0; i < p.params.size(); ++i)
    checkParam(p, i);
  for (uint32_t i = 0; i < p.lets.size(); ++i)
    letFirst_.emplace(p.lets[i].name, i);
  for (size_t i = 0; i < p.lets.size(); ++i) {
    LetDecl &let = p.lets[i];
    if (lookupVar(let.name) || lookupBuiltin(let.name) != Builtin::None) {
      diags_.error(let.loc, quote(let.name) +
                                " is a built-in name and cannot be redefined");
    } else if (auto pi = paramOf(let.name)) {
      Diagnostic &d = diags_.error(let.loc, "let " + quote(let.name) +
                                                " shadows a parameter");
      DiagnosticEngine::note(d, p.params[*pi].loc, "parameter declared here");
    } else {
      uint32_t first = letFirst_.at(let.name);
      if (first < i) {
        Diagnostic &d =
            diags_.error(let.loc, "redefinition of " + quote(let.name));
        DiagnosticEngine::note(d, p.lets[first].loc,
                               "previous definition is here");
      }
    }
    if (let.value)
      check(*let.value);
    visibleLets_ = i + 1;
    visibleLet_[let.name] = static_cast<uint32_t>(i);
  }
  if (p.body) {
    check(*p.body);
    expect(*p.body, Type::Bool, "the body of pattern " + quote(p.name));
  }
  if (p.isDispatch())
    checkDispatch(p);
  current_ = nullptr;
}

void Checker::checkParam(PatternDecl &p, uint32_t index) {
  ParamDecl &param = p.params[index];
  if (lookupVar(param.name) || lookupBuiltin(param.name) != Builtin::None)
    diags_.error(param.loc,
                 quote(param.name) +
                     " is a built-in name and cannot be a parameter");
  auto [prior, fresh] = paramSlot_.emplace(param.name, index);
  if (!fresh) {
    Diagnostic &d = diags_.error(param.loc, "redefinition of parameter " +
                                                quote(param.name));
    DiagnosticEngine::note(d, p.params[prior->second].loc,
                           "previous definition is here");
  }
  if (!param.defaultValue)
    return;
  if (param.type == Type::IntArray || param.type == Type::HeadArray) {
    diags_.error(
        param.defaultValue->loc,
        "array parameter " + quote(param.name) +
            " cannot have a default; its values are given at run time");
    return;
  }
  // Defaults are checked outside the pattern's scope: they may use only
  // literals, so that a default never depends on another parameter.
  PatternDecl *saved = current_;
  current_ = nullptr;
  check(*param.defaultValue);
  current_ = saved;
  Type want = param.type == Type::Bool ? Type::Bool : Type::Int;
  if (!expect(*param.defaultValue, want, "the default of " + quote(param.name)))
    return;
  if (!param.defaultValue->constant) {
    if (param.defaultValue->type != Type::Error)
      diags_.error(param.defaultValue->loc,
                   "default of " + quote(param.name) +
                       " must be a constant expression");
    return;
  }
  param.defaultConstant = param.defaultValue->constant;
}

void Checker::checkDispatch(PatternDecl &p) {
  for (HeadArm &arm : p.arms) {
    if (arm.body) {
      check(*arm.body);
      expect(*arm.body, Type::Bool, "a `heads` arm");
    }
    if (arm.last && *arm.last < arm.first)
      diags_.error(arm.loc, "empty head range " + std::to_string(arm.first) +
                                ".." + std::to_string(*arm.last) +
                                " (the range is inclusive: first..last)");
  }
  // Overlaps: two arms that both claim some head.
  for (size_t i = 0; i < p.arms.size(); ++i)
    for (size_t j = 0; j < i; ++j) {
      const HeadArm &a = p.arms[i], &b = p.arms[j];
      int64_t aLast = a.last.value_or(INT64_MAX);
      int64_t bLast = b.last.value_or(INT64_MAX);
      if (aLast < a.first || bLast < b.first)
        continue;
      if (a.first <= bLast && b.first <= aLast) {
        int64_t h = std::max(a.first, b.first);
        Diagnostic &d =
            diags_.error(a.loc, "head range overlaps an earlier one (head " +
                                    std::to_string(h) + " is claimed twice)");
        DiagnosticEngine::note(d, b.loc, "earlier range is here");
        break;
      }
    }
  // Gaps: every head below the highest covered one must be covered.
  std::vector<std::pair<int64_t, int64_t>> ranges;
  for (const HeadArm &a : p.arms)
    if (a.last.value_or(INT64_MAX) >= a.first)
      ranges.push_back({a.first, a.last.value_or(INT64_MAX)});
  std::sort(ranges.begin(), ranges.end());
  int64_t next = 0;
  for (auto [lo, hi] : ranges) {
    if (lo > next) {
      diags_.error(p.loc, "heads " + std::to_string(next) + ".." +
                              std::to_string(lo - 1) + " of pattern " +
                              quote(p.name) + " are not covered by any arm");
      break;
    }
    if (hi == INT64_MAX)
      break;
    next = std::max(next, hi + 1);
  }
}

void Checker::checkRecursion() {
  // Depth-first search over the call graph with an explicit stack of the
  // current path; a back edge is recursion.
  std::map<const PatternDecl *, int> state;       // 0 new, 1 on path, 2 done
  std::map<const PatternDecl *, unsigned> height; // longest call chain below
  std::vector<std::pair<const PatternDecl *, Location>> path;
  bool reported = false;
  auto reportTooDeep = [&](const Location &loc) {
    if (!reported)
      diags_.error(loc, "pattern calls nest too deeply (the limit is " +
                            std::to_string(kMaxCallDepth) + " levels)");
    reported = true;
  };
  std::function<void(const PatternDecl *)> visit = [&](const PatternDecl *p) {
    state[p] = 1;
    unsigned h = 0;
    for (const auto &edge : calls_[p]) {
      const PatternDecl *callee = edge.first;
      const Location &loc = edge.second;
      if (state[callee] == 1) {
        std::string chain;
        auto it = std::find_if(path.begin(), path.end(),
                               [&](auto &e) { return e.first == callee; });
        for (; it != path.end(); ++it)
          chain += it->first->name + " -> ";
        chain += p->name + " -> " + callee->name;
        if (callee == p)
          chain = p->name + " -> " + p->name;
        Diagnostic &d = diags_.error(loc, "recursive pattern call (" + chain +
                                              "); patterns cannot recurse");
        DiagnosticEngine::note(d, callee->loc,
                               quote(callee->name) + " is defined here");
        continue;
      }
      if (state[callee] == 0) {
        if (path.size() + 1 >= kMaxCallDepth) {
          reportTooDeep(loc);
          continue;
        }
        path.push_back({p, loc});
        visit(callee);
        path.pop_back();
      }
      h = std::max(h, height[callee] + 1);
      if (h >= kMaxCallDepth)
        reportTooDeep(loc);
    }
    height[p] = std::min<unsigned>(h, kMaxCallDepth + 1);
    state[p] = 2;
  };
  for (const PatternDecl *p : all_)
    if (state[p] == 0)
      visit(p);
}

bool Checker::expect(const Expr &e, Type want, const std::string &what) {
  if (e.type == Type::Error)
    return false;
  if (e.type == want || (want == Type::Int && e.type == Type::HeadArray))
    return true;
  std::string msg = what + " must be " + (want == Type::Bool ? "bool" : "int") +
                    ", but it is " + typeName(e.type);
  Diagnostic &d = diags_.error(e.loc, msg);
  if (want == Type::Bool && e.type == Type::Int)
    d.message += "; compare it, e.g. `... != 0`";
  else if (e.type == Type::IntArray)
    d.message += "; index it, e.g. `" +
                 (e.kind == ExprKind::Name ? e.name : std::string("a")) +
                 "[q]`";
  return false;
}

std::vector<std::string> Checker::visibleNames() const {
  std::vector<std::string> names;
  for (auto &[n, v] : kVars)
    names.push_back(n);
  if (current_) {
    for (const ParamDecl &p : current_->params)
      names.push_back(p.name);
    for (size_t i = 0; i < visibleLets_; ++i)
      names.push_back(current_->lets[i].name);
  }
  return names;
}

void Checker::check(Expr &e, bool setAllowed) {
  switch (e.kind) {
  case ExprKind::IntLit:
    e.type = Type::Int;
    e.constant = e.intValue;
    return;
  case ExprKind::BoolLit:
    e.type = Type::Bool;
    e.constant = e.intValue;
    return;
  case ExprKind::Causal:
    e.type = Type::Bool;
    e.dependsOnPosition = true;
    if (!current_)
      diags_.error(e.loc, "`causal` cannot be used in a parameter default");
    return;
  case ExprKind::Name:
    return checkName(e);
  case ExprKind::Unary:
    return checkUnary(e);
  case ExprKind::Binary:
    return checkBinary(e);
  case ExprKind::If:
    return checkIf(e);
  case ExprKind::Call:
    return checkCall(e, setAllowed);
  case ExprKind::Index:
    return checkIndex(e);
  case ExprKind::Error:
    e.type = Type::Error;
    return;
  }
}

void Checker::checkName(Expr &e) {
  e.type = Type::Error;
  if (!current_) {
    diags_.error(e.loc, "default values must be constants; " + quote(e.name) +
                            " cannot be used here");
    return;
  }
  if (auto vl = visibleLet_.find(e.name); vl != visibleLet_.end()) {
    const uint32_t i = vl->second;
    const LetDecl &let = current_->lets[i];
    e.ref = RefKind::Let;
    e.index = static_cast<uint32_t>(i);
    if (let.value) {
      e.type = let.value->type;
      e.constant = let.value->constant;
      e.dependsOnPosition = let.value->dependsOnPosition;
    }
    return;
  }
  if (auto pi = paramOf(e.name)) {
    e.ref = RefKind::Param;
    e.index = *pi;
    e.type = current_->params[*pi].type;
    return;
  }
  if (auto v = lookupVar(e.name)) {
    e.ref = RefKind::Var;
    e.var = *v;
    e.type = Type::Int;
    e.dependsOnPosition = *v != Var::H && *v != Var::B;
    return;
  }
  // Not found: explain the likely cause.
  if (auto lf = letFirst_.find(e.name); lf != letFirst_.end()) {
    Diagnostic &d = diags_.error(
        e.loc, quote(e.name) + " is used before its `let` definition");
    DiagnosticEngine::note(d, current_->lets[lf->second].loc, "defined here");
    return;
  }
  if (program_.patterns.count(e.name)) {
    diags_.error(e.loc, quote(e.name) + " is a pattern; call it as `" + e.name +
                            "()` to use it as a condition");
    return;
  }
  if (lookupBuiltin(e.name) != Builtin::None) {
    diags_.error(e.loc,
                 quote(e.name) + " is a function; call it with arguments");
    return;
  }
  Diagnostic &d = diags_.error(e.loc, "unknown name " + quote(e.name));
  if (auto best = closestName(e.name, visibleNames())) {
    d.message += "; did you mean " + quote(*best) + "?";
    d.fixIt = *best;
  }
}

void Checker::checkUnary(Expr &e) {
  Expr &a = *e.operands[0];
  check(a);
  e.dependsOnPosition = a.dependsOnPosition;
  if (e.op == Op::Not) {
    e.type = Type::Bool;
    if (expect(a, Type::Bool, "the operand of `not`") && a.constant)
      e.constant = !*a.constant;
    return;
  }
  e.type = Type::Int;
  if (!expect(a, Type::Int, "the operand of unary `-`") || !a.constant)
    return;
  int64_t r;
  if (!checkedNeg(*a.constant, r))
    diags_.error(e.loc, "integer overflow in constant expression");
  else
    e.constant = r;
}

void Checker::foldArith(Expr &e) {
  const Expr &a = *e.operands[0], &b = *e.operands[1];
  if ((e.op == Op::Div || e.op == Op::Mod) && b.constant && *b.constant == 0) {
    diags_.error(b.loc, std::string(e.op == Op::Div ? "division" : "modulo") +
                            " by zero");
    return;
  }
  if (!a.constant || !b.constant)
    return;
  int64_t x = *a.constant, y = *b.constant, r = 0;
  bool ok = true;
  switch (e.op) {
  case Op::Add:
    ok = checkedAdd(x, y, r);
    break;
  case Op::Sub:
    ok = checkedSub(x, y, r);
    break;
  case Op::Mul:
    ok = checkedMul(x, y, r);
    break;
  case Op::Div:
    ok = floorDiv(x, y, r);
    break;
  case Op::Mod:
    ok = floorMod(x, y, r);
    break;
  default:
    return;
  }
  if (!ok) {
    diags_.error(e.loc, "integer overflow in constant expression (" +
                            std::to_string(x) + " " + opSpelling(e.op) + " " +
                            std::to_string(y) + ")");
    return;
  }
  e.constant = r;
}

void Checker::checkBinary(Expr &e) {
  Expr &a = *e.operands[0], &b = *e.operands[1];
  check(a);
  check(b, /*setAllowed=*/e.op == Op::In);
  e.dependsOnPosition = a.dependsOnPosition || b.dependsOnPosition;
  std::string opName = std::string("`") + opSpelling(e.op) + "`";
  switch (e.op) {
  case Op::Add:
  case Op::Sub:
  case Op::Mul:
  case Op::Div:
  case Op::Mod: {
    e.type = Type::Int;
    bool okA = expect(a, Type::Int, "the left operand of " + opName);
    bool okB = expect(b, Type::Int, "the right operand of " + opName);
    if (okA && okB)
      foldArith(e);
    return;
  }
  case Op::Lt:
  case Op::Le:
  case Op::Gt:
  case Op::Ge: {
    e.type = Type::Bool;
    bool okA = expect(a, Type::Int, "the left operand of " + opName);
    bool okB = expect(b, Type::Int, "the right operand of " + opName);
    if (okA && okB && a.constant && b.constant) {
      int64_t x = *a.constant, y = *b.constant;
      e.constant = e.op == Op::Lt   ? x < y
                   : e.op == Op::Le ? x <= y
                   : e.op == Op::Gt ? x > y
                                    : x >= y;
    }
    return;
  }
  case Op::Eq:
  case Op::Ne: {
    e.type = Type::Bool;
    if (a.type == Type::Error || b.type == Type::Error)
      return;
    auto norm = [](Type t) { return t == Type::HeadArray ? Type::Int : t; };
    Type ta = norm(a.type), tb = norm(b.type);
    if (ta != tb || (ta != Type::Int && ta != Type::Bool)) {
      Diagnostic &d = diags_.error(
          e.loc, "cannot compare " + std::string(typeName(a.type)) + " with " +
                     typeName(b.type) + " using " + opName);
      const Expr &arr = a.type == Type::IntArray ? a : b;
      if (arr.type == Type::IntArray && arr.kind == ExprKind::Name)
        d.message += "; index the array, e.g. `" + arr.name + "[q]`";
      return;
    }
    if (a.constant && b.constant)
      e.constant = (*a.constant == *b.constant) == (e.op == Op::Eq);
    return;
  }
  case Op::And:
  case Op::Or: {
    e.type = Type::Bool;
    bool okA = expect(a, Type::Bool, "the left operand of " + opName);
    bool okB = expect(b, Type::Bool, "the right operand of " + opName);
    if (!okA || !okB)
      return;
    bool isAnd = e.op == Op::And;
    // Short-circuit folding: `false and x` is false whatever x is.
    if (a.constant && (*a.constant != 0) != isAnd)
      e.constant = *a.constant;
    else if (a.constant && b.constant)
      e.constant = *b.constant;
    return;
  }
  case Op::In: {
    e.type = Type::Bool;
    expect(a, Type::Int, "the left operand of `in`");
    if (b.type == Type::Error || b.type == Type::Set ||
        b.type == Type::IntArray)
      return;
    diags_.error(b.loc,
                 std::string("the right operand of `in` must be a set "
                             "(topk_columns, topk_diagonals, "
                             "topk_blocks) or an int[] array, but it is ") +
                     typeName(b.type));
    return;
  }
  default:
    return;
  }
}

void Checker::checkIf(Expr &e) {
  Expr &c = *e.operands[0], &t = *e.operands[1], &f = *e.operands[2];
  check(c);
  check(t);
  check(f);
  e.dependsOnPosition =
      c.dependsOnPosition || t.dependsOnPosition || f.dependsOnPosition;
  e.type = Type::Error;
  bool okC = expect(c, Type::Bool, "the condition of `if`");
  if (t.type == Type::Error || f.type == Type::Error)
    return;
  auto norm = [](Type t) { return t == Type::HeadArray ? Type::Int : t; };
  if (norm(t.type) != norm(f.type) ||
      (norm(t.type) != Type::Int && norm(t.type) != Type::Bool)) {
    Diagnostic &d = diags_.error(
        f.loc, std::string("the branches of `if` have different types: ") +
                   typeName(t.type) + " and " + typeName(f.type));
    DiagnosticEngine::note(d, t.loc, "the `then` branch is here");
    return;
  }
  e.type = norm(t.type);
  if (okC && c.constant) {
    const Expr &chosen = *c.constant ? t : f;
    e.constant = chosen.constant;
  }
}

void Checker::checkCall(Expr &e, bool setAllowed) {
  e.type = Type::Error;
  e.builtin = lookupBuiltin(e.name);
  if (e.builtin != Builtin::None)
    return checkBuiltinCall(e, setAllowed);
  auto it = program_.patterns.find(e.name);
  if (it == program_.patterns.end()) {
    for (auto &op : e.operands)
      check(*op);
    if (current_ && (paramOf(e.name) || lookupVar(e.name))) {
      diags_.error(e.loc, quote(e.name) + " is not a function or pattern");
      return;
    }
    std::vector<std::string> names;
    for (auto &[n, b] : kBuiltins)
      names.push_back(n);
    for (auto &[n, p] : program_.patterns)
      names.push_back(n);
    Diagnostic &d =
        diags_.error(e.loc, "unknown pattern or function " + quote(e.name));
    if (auto best = closestName(e.name, names)) {
      d.message += "; did you mean " + quote(*best) + "?";
      d.fixIt = *best;
    } else if (e.name.find('.') == std::string::npos) {
      d.message += " (is an `import` missing?)";
    }
    return;
  }
  e.callee = it->second;
  checkPatternCall(e);
}

void Checker::checkBuiltinCall(Expr &e, bool setAllowed) {
  for (auto &op : e.operands)
    check(*op);
  for (size_t i = 0; i < e.operands.size(); ++i) {
    e.dependsOnPosition |= e.operands[i]->dependsOnPosition;
    if (!e.argNames[i].empty()) {
      diags_.error(e.argNameLocs[i], std::string("built-in ") +
                                         builtinName(e.builtin) +
                                         " takes no named arguments");
      return;
    }
  }
  size_t want = e.builtin == Builtin::Abs     ? 1
                : e.builtin == Builtin::Clamp ? 3
                                              : 2;
  if (e.operands.size() != want) {
    diags_.error(
        e.loc, std::string(builtinName(e.builtin)) + " takes " +
                   std::to_string(want) + " argument" + (want == 1 ? "" : "s") +
                   ", but " + std::to_string(e.operands.size()) +
                   (e.operands.size() == 1 ? " was" : " were") + " given");
    return;
  }
  bool ok = true;
  for (auto &op : e.operands)
    ok &= expect(*op, Type::Int,
                 std::string("an argument of ") + builtinName(e.builtin));
  if (!isSelector(e.builtin)) {
    e.type = Type::Int;
    if (!ok)
      return;
    const Expr &a = *e.operands[0];
    if (e.builtin == Builtin::Abs) {
      if (a.constant) {
        int64_t r;
        if (*a.constant < 0 && !checkedNeg(*a.constant, r))
          diags_.error(e.loc, "integer overflow in constant expression");
        else
          e.constant = *a.constant < 0 ? -*a.constant : *a.constant;
      }
      return;
    }
    const Expr &b = *e.operands[1];
    if (e.builtin == Builtin::Clamp) {
      const Expr &c = *e.operands[2];
      if (a.constant && b.constant && c.constant)
        e.constant = std::min(std::max(*a.constant, *b.constant), *c.constant);
      return;
    }
    if (a.constant && b.constant)
      e.constant = e.builtin == Builtin::Min
                       ? std::min(*a.constant, *b.constant)
                       : std::max(*a.constant, *b.constant);
    return;
  }
  // Dynamic selectors: a set chosen at run time from the data.
  if (!setAllowed) {
    diags_.error(e.loc, std::string(builtinName(e.builtin)) +
                            "(...) is a set; use it after `in`, e.g. `k in " +
                            builtinName(e.builtin) + "(...)`");
    return;
  }
  e.type = Type::Set;
  if (!ok)
    return;
  static const char *second[] = {"", "", "", "", "last_q", "last_q", "block"};
  for (size_t i = 0; i < 2; ++i) {
    const Expr &a = *e.operands[i];
    const std::string what =
        i == 0 ? "count" : second[static_cast<int>(e.builtin)];
    if (a.dependsOnPosition) {
      diags_.error(a.loc, "the " + what + " of " + builtinName(e.builtin) +
                              " cannot depend on the position (q, k, Lq, Lk)");
    } else if (a.constant && *a.constant <= 0) {
      diags_.error(a.loc, "the " + what + " of " + builtinName(e.builtin) +
                              " must be positive, but it is " +
                              std::to_string(*a.constant));
    }
  }
  e.dependsOnPosition = true;
}

void Checker::checkPatternCall(Expr &e) {
  const PatternDecl &callee = *e.callee;
  if (current_)
    calls_[current_].push_back({&callee, e.loc});
  e.type = Type::Bool;
  e.dependsOnPosition = true;
  e.argForParam.assign(callee.params.size(), -1);
  bool sawNamed = false;
  size_t positional = 0;
  for (size_t i = 0; i < e.operands.size(); ++i) {
    check(*e.operands[i]);
    const std::string &argName = e.argNames[i];
    std::optional<uint32_t> slot;
    if (argName.empty()) {
      if (sawNamed) {
        diags_.error(e.operands[i]->loc,
                     "positional argument after a named argument");
        continue;
      }
      if (positional >= callee.params.size()) {
        Diagnostic &d = diags_.error(
            e.operands[i]->loc, "too many arguments to pattern " +
                                    quote(callee.name) + " (it takes " +
                                    std::to_string(callee.params.size()) + ")");
        DiagnosticEngine::note(d, callee.loc,
                               quote(callee.name) + " is defined here");
        break;
      }
      slot = static_cast<uint32_t>(positional++);
    } else {
      sawNamed = true;
      slot = callee.findParam(argName);
      if (!slot) {
        std::vector<std::string> names;
        for (const ParamDecl &p : callee.params)
          names.push_back(p.name);
        Diagnostic &d = diags_.error(e.argNameLocs[i],
                                     "pattern " + quote(callee.name) +
                                         " has no parameter " + quote(argName));
        if (auto best = closestName(argName, names)) {
          d.message += "; did you mean " + quote(*best) + "?";
          d.fixIt = *best;
        }
        DiagnosticEngine::note(d, callee.loc,
                               quote(callee.name) + " is defined here");
        continue;
      }
    }
    if (e.argForParam[*slot] >= 0) {
      Diagnostic &d = diags_.error(
          argName.empty() ? e.operands[i]->loc : e.argNameLocs[i],
          "parameter " + quote(callee.params[*slot].name) + " is given twice");
      DiagnosticEngine::note(d, e.operands[e.argForParam[*slot]]->loc,
                             "first given here");
      continue;
    }
    e.argForParam[*slot] = static_cast<int>(i);
    const ParamDecl &param = callee.params[*slot];
    const Expr &arg = *e.operands[i];
    if (arg.type == Type::Error)
      continue;
    bool fits = arg.type == param.type ||
                (param.type == Type::Int && arg.type == Type::HeadArray) ||
                (param.type == Type::HeadArray && arg.type == Type::Int);
    if (!fits) {
      Diagnostic &d =
          diags_.error(arg.loc, "argument for " + quote(param.name) +
                                    " must be " + typeName(param.type) +
                                    ", but it is " + typeName(arg.type));
      DiagnosticEngine::note(d, param.loc, "parameter declared here");
    }
  }
  for (size_t s = 0; s < callee.params.size(); ++s) {
    const ParamDecl &param = callee.params[s];
    if (e.argForParam[s] < 0 && !param.defaultValue) {
      Diagnostic &d =
          diags_.error(e.loc, "missing argument for parameter " +
                                  quote(param.name) + " of pattern " +
                                  quote(callee.name) + " (it has no default)");
      DiagnosticEngine::note(d, param.loc, "parameter declared here");
    }
  }
}

void Checker::checkIndex(Expr &e) {
  Expr &base = *e.operands[0], &idx = *e.operands[1];
  check(base);
  check(idx);
  e.type = Type::Int;
  e.dependsOnPosition = base.dependsOnPosition || idx.dependsOnPosition;
  expect(idx, Type::Int, "an index");
  if (base.type == Type::Error)
    return;
  if (base.type != Type::IntArray && base.type != Type::HeadArray) {
    diags_.error(base.loc,
                 std::string("only arrays can be indexed, but this is ") +
                     typeName(base.type));
    e.type = Type::Error;
    return;
  }
  if (idx.constant && *idx.constant < 0)
    diags_.error(idx.loc, "array index is negative (" +
                              std::to_string(*idx.constant) + ")");
}

} // namespace

void checkProgram(Program &program, DiagnosticEngine &diags) {
  Checker(program, diags).run();
}

} // namespace maskjit::dsl
