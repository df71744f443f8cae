// Random patterns: the row evaluator (bound, folded, vectorized) must agree
// with a direct interpretation of the checked AST, written here separately,
// for every (q, k), including which pairs trap.
#include "TestUtil.h"

#include "RandomPatterns.h"
#include "maskjit/dsl/IntMath.h"

#include <random>

using namespace maskjit;
using namespace maskjit::dsl;

namespace {

struct Trap {};

/// The language's meaning, straight from the AST (no calls, no arrays).
struct Interp {
  const PatternDecl &p;
  int64_t q, k, lq, lk, w;

  int64_t eval(const Expr &e) const {
    switch (e.kind) {
    case ExprKind::IntLit:
    case ExprKind::BoolLit:
      return e.intValue;
    case ExprKind::Causal:
      return k <= q + (lk - lq);
    case ExprKind::Name:
      if (e.ref == RefKind::Let)
        return eval(*p.lets[e.index].value);
      if (e.ref == RefKind::Param)
        return w;
      switch (e.var) {
      case Var::Q:
        return q;
      case Var::K:
        return k;
      case Var::Lq:
        return lq;
      case Var::Lk:
        return lk;
      default:
        return 0;
      }
    case ExprKind::Unary: {
      int64_t a = eval(*e.operands[0]), r;
      if (e.op == Op::Not)
        return !a;
      if (!checkedNeg(a, r))
        throw Trap{};
      return r;
    }
    case ExprKind::If:
      return eval(*e.operands[0]) ? eval(*e.operands[1]) : eval(*e.operands[2]);
    case ExprKind::Call: {
      int64_t a = eval(*e.operands[0]), r;
      if (e.builtin == Builtin::Abs) {
        if (a < 0 && !checkedNeg(a, r))
          throw Trap{};
        return a < 0 ? -a : a;
      }
      int64_t b = eval(*e.operands[1]);
      if (e.builtin == Builtin::Clamp)
        return std::min(std::max(a, b), eval(*e.operands[2]));
      return e.builtin == Builtin::Min ? std::min(a, b) : std::max(a, b);
    }
    case ExprKind::Binary:
      break;
    default:
      throw std::logic_error("unexpected node");
    }
    if (e.op == Op::And)
      return eval(*e.operands[0]) && eval(*e.operands[1]);
    if (e.op == Op::Or)
      return eval(*e.operands[0]) || eval(*e.operands[1]);
    int64_t a = eval(*e.operands[0]), b = eval(*e.operands[1]), r = 0;
    bool ok = true;
    switch (e.op) {
    case Op::Add:
      ok = checkedAdd(a, b, r);
      break;
    case Op::Sub:
      ok = checkedSub(a, b, r);
      break;
    case Op::Mul:
      ok = checkedMul(a, b, r);
      break;
    case Op::Div:
      ok = floorDiv(a, b, r);
      break;
    case Op::Mod:
      ok = floorMod(a, b, r);
      break;
    case Op::Eq:
      r = a == b;
      break;
    case Op::Ne:
      r = a != b;
      break;
    case Op::Lt:
      r = a < b;
      break;
    case Op::Le:
      r = a <= b;
      break;
    case Op::Gt:
      r = a > b;
      break;
    case Op::Ge:
      r = a >= b;
      break;
    default:
      break;
    }
    if (!ok)
      throw Trap{};
    return r;
  }
};

} // namespace

class RowEvaluator : public ::testing::TestWithParam<bool> {};

TEST_P(RowEvaluator, MatchesDirectInterpretation) {
  // (The second run has clamp among the helpers.)
  test::RandomPatternGen gen(20261122, /*withClamp=*/GetParam());
  int checkedPatterns = 0, trappingPairs = 0;
  for (int iter = 0; iter < 400; ++iter) {
    std::string src =
        "pattern p(w: int = " + std::to_string(gen.pickOf(7) - 1) +
        ") {\n  let m = " + gen.intExpr(2) + "\n  " + gen.boolExpr(4) + "\n}\n";
    test::Loaded l = test::load(src);
    if (!l.program) // E.g. a constant division by zero: rejected, fine.
      continue;
    ++checkedPatterns;
    const PatternDecl &p = l.pattern("p");
    int64_t lq = 1 + gen.pickOf(40), lk = 1 + gen.pickOf(300);
    int64_t w = gen.pickOf(9) - 3;
    MaskEvaluator e(*l.program, p, {{"w", ParamValue::integer(w)}}, {},
                    {lq, lk});
    for (int64_t q = 0; q < lq; ++q) {
      std::vector<uint8_t> row(lk);
      std::vector<int> want(lk);
      bool anyTrap = false;
      for (int64_t k = 0; k < lk; ++k) {
        try {
          want[k] = Interp{p, q, k, lq, lk, w}.eval(*p.body) != 0;
        } catch (Trap) {
          want[k] = -1;
          anyTrap = true;
        }
      }
      if (anyTrap) {
        ++trappingPairs;
        EXPECT_THROW(e.row(q, row.data()), MaskError) << src;
        for (int64_t k = 0; k < lk; ++k)
          if (want[k] < 0) {
            EXPECT_THROW(e.allowed(q, k), MaskError) << src;
            break;
          }
        continue;
      }
      ASSERT_NO_THROW(e.row(q, row.data())) << src;
      for (int64_t k = 0; k < lk; ++k)
        ASSERT_EQ(row[k], want[k]) << src << "w=" << w << " Lq=" << lq
                                   << " Lk=" << lk << " q=" << q << " k=" << k;
    }
  }
  EXPECT_GT(checkedPatterns, 300);
  EXPECT_GT(trappingPairs, 0); // The generator does reach the trap paths.
}
INSTANTIATE_TEST_SUITE_P(Property, RowEvaluator, ::testing::Bool());
