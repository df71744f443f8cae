//===- InlinedSize.cpp - How large a pattern is once inlined --------------===//
//
// The parser bounds the depth of each written expression, but a `let` names
// an expression that every use copies, and a pattern call copies the
// callee's body: `let a_i = a_(i-1) + a_(i-1)` doubles per line and a chain
// of 10,000 lets is 10,000 levels deep. Every stage after the front end
// (the evaluator, the MLIR importer, the schedule's analyses) sees the
// inlined tree, so its size and depth are measured here, without inlining,
// and bounded before any of them runs.
//
//===----------------------------------------------------------------------===//
#include "maskjit/dsl/Frontend.h"

#include <algorithm>
#include <map>
#include <string>
#include <vector>

namespace maskjit::dsl {
namespace {

struct Measure {
  uint64_t nodes = 1;
  uint64_t depth = 1;
  bool operator<(const Measure &o) const {
    return nodes != o.nodes ? nodes < o.nodes : depth < o.depth;
  }
};

/// Saturates far below overflow: past the limits the exact value is moot.
constexpr uint64_t kSaturate = uint64_t(1) << 62;
uint64_t sat(uint64_t v) { return std::min(v, kSaturate); }

class InlinedSizeChecker {
public:
  explicit InlinedSizeChecker(DiagnosticEngine &diags) : diags_(diags) {}

  /// Measures `p` as written (its params are leaves) and reports the first
  /// let, body or arm past a limit. Returns whether `p` is within them.
  bool check(const PatternDecl &p) {
    std::vector<Measure> env(p.params.size());
    std::vector<Measure> lets;
    for (const LetDecl &let : p.lets) {
      lets.push_back(let.value ? measure(*let.value, env, lets) : Measure{});
      if (!within(lets.back(), let.loc, "`" + let.name + "`"))
        return false;
    }
    if (p.body)
      return within(measure(*p.body, env, lets), p.body->loc,
                    "the body of `" + p.name + "`");
    for (const HeadArm &arm : p.arms)
      if (arm.body && !within(measure(*arm.body, env, lets), arm.body->loc,
                              "this arm of `" + p.name + "`"))
        return false;
    return true;
  }

private:
  bool within(const Measure &m, const Location &loc, const std::string &what) {
    if (m.depth > kMaxInlinedDepth) {
      diags_.error(loc, what + " nests " + std::to_string(m.depth) +
                            " levels deep once lets and pattern calls are "
                            "inlined (the limit is " +
                            std::to_string(kMaxInlinedDepth) + ")");
      return false;
    }
    if (m.nodes > kMaxInlinedNodes) {
      diags_.error(loc,
                   what + " has " +
                       (m.nodes >= kSaturate ? std::string("more than 2^62")
                                             : std::to_string(m.nodes)) +
                       " operations once lets and pattern calls are "
                       "inlined (the limit is " +
                       std::to_string(kMaxInlinedNodes) + ")");
      return false;
    }
    return true;
  }

  /// The measure of one instance of `p` whose params stand for expressions
  /// of the given measures; memoized, since fan-out repeats instances.
  Measure instance(const PatternDecl &p, const std::vector<Measure> &env) {
    auto key = std::make_pair(&p, env);
    if (auto it = memo_.find(key); it != memo_.end())
      return it->second;
    std::vector<Measure> lets;
    for (const LetDecl &let : p.lets)
      lets.push_back(let.value ? measure(*let.value, env, lets) : Measure{});
    Measure m{0, 0};
    auto widen = [&](const Measure &x) {
      m.nodes = sat(m.nodes + x.nodes);
      m.depth = std::max(m.depth, x.depth);
    };
    if (p.body)
      widen(measure(*p.body, env, lets));
    for (const HeadArm &arm : p.arms)
      if (arm.body)
        widen(measure(*arm.body, env, lets));
    memo_.emplace(std::move(key), m);
    return m;
  }

  /// Recursion follows the written expression (depth bounded by the
  /// parser) and pattern calls (bounded by Sema's call-depth limit); lets
  /// are looked up, never re-walked.
  Measure measure(const Expr &e, const std::vector<Measure> &env,
                  const std::vector<Measure> &lets) {
    if (e.kind == ExprKind::Name) {
      if (e.ref == RefKind::Let && e.index < lets.size())
        return lets[e.index];
      if (e.ref == RefKind::Param && e.index < env.size())
        return env[e.index];
      return Measure{};
    }
    if (e.kind == ExprKind::Call && e.callee) {
      std::vector<Measure> args(e.callee->params.size());
      for (size_t i = 0; i < e.argForParam.size() && i < args.size(); ++i)
        if (e.argForParam[i] >= 0 &&
            size_t(e.argForParam[i]) < e.operands.size())
          args[i] = measure(*e.operands[e.argForParam[i]], env, lets);
      Measure body = instance(*e.callee, args);
      return Measure{sat(body.nodes + 1), sat(body.depth + 1)};
    }
    Measure m;
    for (const ExprPtr &child : e.operands) {
      if (!child)
        continue;
      Measure c = measure(*child, env, lets);
      m.nodes = sat(m.nodes + c.nodes);
      m.depth = std::max(m.depth, sat(c.depth + 1));
    }
    return m;
  }

  DiagnosticEngine &diags_;
  std::map<std::pair<const PatternDecl *, std::vector<Measure>>, Measure> memo_;
};

} // namespace

void checkInlinedSize(const Program &program, DiagnosticEngine &diags) {
  InlinedSizeChecker checker(diags);
  for (const auto &m : program.modules)
    for (const auto &p : m->patterns)
      if (!checker.check(*p))
        return; // one report: the others usually follow from it
}

} // namespace maskjit::dsl
