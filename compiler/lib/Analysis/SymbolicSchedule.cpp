//===- SymbolicSchedule.cpp - Linear DNF of a mask ------------------------===//
//
// Integer values are put in the form a*q + b*k + (affine in symbols); boolean
// values become a DNF of `a*q + b*k <= rhs` atoms, negations pushed down to
// the atoms (De Morgan). Anything else is an opaque atom: sound, only less
// exact.
//
//===----------------------------------------------------------------------===//
#include "maskjit/compiler/SymbolicSchedule.h"
#include "maskjit/compiler/MaskDialect.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/IR/Builders.h"

#include "llvm/ADT/DenseMap.h"

namespace maskjit::mask {
namespace {

using namespace mlir;

/// Clauses past this are not built; the DNF becomes "unknown" (one opaque
/// clause), which is sound.
constexpr size_t kMaxClauses = 64;

/// Case splits per analysis. A split's condition is built with its own
/// splits, so nested `abs` or `min` of `abs` multiply them: past this many
/// the comparison is an opaque atom (sound: its tiles are decided by the
/// predicate program instead).
constexpr int64_t kMaxSplits = 1024;

/// Steps of linearization per analysis (each visits one operation); past
/// them a value has no affine form (sound, as above).
constexpr int64_t kMaxLinearizeSteps = int64_t{1} << 22;

/// a*q + b*k + aQ*floor((q + qOff) / qDiv) + bK*floor((k + kOff) / kDiv) + s.
struct Lin {
  int64_t a = 0, b = 0;
  SymExpr s;
  int64_t aQ = 0, qDiv = 0, qOff = 0;
  int64_t bK = 0, kDiv = 0, kOff = 0;

  bool isConstant() const {
    return a == 0 && b == 0 && aQ == 0 && bK == 0 && s.terms.empty();
  }
};

bool addInto(SymExpr &x, const SymExpr &y, int64_t scale) {
  int64_t t;
  if (__builtin_mul_overflow(y.constant, scale, &t) ||
      __builtin_add_overflow(x.constant, t, &x.constant))
    return false;
  for (auto &[name, coef] : y.terms) {
    if (__builtin_mul_overflow(coef, scale, &t) ||
        __builtin_add_overflow(x.terms[name], t, &x.terms[name]))
      return false;
    if (x.terms[name] == 0)
      x.terms.erase(name);
  }
  return true;
}

std::optional<Lin> combine(const Lin &x, const Lin &y, int64_t scale) {
  Lin r = x;
  int64_t ta, tb, tq, tk;
  if (__builtin_mul_overflow(y.a, scale, &ta) ||
      __builtin_add_overflow(r.a, ta, &r.a) ||
      __builtin_mul_overflow(y.b, scale, &tb) ||
      __builtin_add_overflow(r.b, tb, &r.b) || !addInto(r.s, y.s, scale) ||
      __builtin_mul_overflow(y.aQ, scale, &tq) ||
      __builtin_mul_overflow(y.bK, scale, &tk))
    return std::nullopt;
  // One block variable per axis: both sides must agree on it.
  if (y.aQ != 0) {
    if (r.aQ != 0 && (r.qDiv != y.qDiv || r.qOff != y.qOff))
      return std::nullopt;
    r.qDiv = y.qDiv;
    r.qOff = y.qOff;
    if (__builtin_add_overflow(r.aQ, tq, &r.aQ))
      return std::nullopt;
  }
  if (y.bK != 0) {
    if (r.bK != 0 && (r.kDiv != y.kDiv || r.kOff != y.kOff))
      return std::nullopt;
    r.kDiv = y.kDiv;
    r.kOff = y.kOff;
    if (__builtin_add_overflow(r.bK, tk, &r.bK))
      return std::nullopt;
  }
  return r;
}

/// Selects (and min/max, which are selects) already decided by a case split:
/// the op and whether its first choice (true value, or the first operand of
/// min/max) is taken.
using Choices = std::vector<std::pair<Operation *, bool>>;

std::optional<bool> chosen(const Choices &choices, Operation *op) {
  for (auto &[o, c] : choices)
    if (o == op)
      return c;
  return std::nullopt;
}

/// Values free of q and k that have no affine form (`h % s`, `max(w, Lq /
/// 8)`, a product of params): each is a symbol of its own, `@N`, N its
/// instruction in the predicate program, whose value binding computes.
/// Set by analyzeMask for the one analysis it runs.
struct DerivedSymbols {
  const llvm::DenseMap<Value, int32_t> *index = nullptr;
  std::vector<bool> readsPairs; ///< Per instruction: depends on q or k.
};
thread_local const DerivedSymbols *tDerived = nullptr;
/// Linearization steps left to the analysis running on this thread.
thread_local int64_t tLinearizeSteps = kMaxLinearizeSteps;

std::optional<Lin> linearizeOp(Value v, const Choices &choices,
                               Operation **blocker, int depth);

/// a*q + b*k + s, or nullopt. When the value goes through an undecided
/// select/min/max, `blocker` names it, so the caller can split cases on it.
std::optional<Lin> linearize(Value v, const Choices &choices,
                             Operation **blocker, int depth = 0) {
  Operation *before = blocker ? *blocker : nullptr;
  std::optional<Lin> l = linearizeOp(v, choices, blocker, depth);
  if (l || !tDerived || !tDerived->index)
    return l;
  auto it = tDerived->index->find(v);
  if (it == tDerived->index->end() || tDerived->readsPairs[it->second])
    return l;
  if (blocker)
    *blocker = before;
  Lin d;
  d.s.terms["@" + std::to_string(it->second)] = 1;
  return d;
}

std::optional<Lin> linearizeOp(Value v, const Choices &choices,
                               Operation **blocker, int depth) {
  if (depth > 512 || --tLinearizeSteps < 0)
    return std::nullopt;
  Operation *op = v.getDefiningOp();
  if (!op)
    return std::nullopt;
  if (auto c = dyn_cast<arith::ConstantIntOp>(op)) {
    Lin l;
    l.s.constant = c.value();
    return l;
  }
  if (auto var = dyn_cast<VarOp>(op)) {
    Lin l;
    if (var.getName() == "q")
      l.a = 1;
    else if (var.getName() == "k")
      l.b = 1;
    else
      l.s.terms[var.getName().str()] = 1;
    return l;
  }
  if (auto p = dyn_cast<ParamOp>(op)) {
    if (!p.getType().isInteger(64))
      return std::nullopt;
    Lin l;
    l.s.terms[p.getName().str()] = 1;
    return l;
  }
  if (isa<arith::SelectOp, arith::MinSIOp, arith::MaxSIOp>(op)) {
    std::optional<bool> c = chosen(choices, op);
    if (!c) {
      if (blocker && !*blocker)
        *blocker = op;
      return std::nullopt;
    }
    unsigned base = isa<arith::SelectOp>(op) ? 1 : 0;
    return linearize(op->getOperand(base + (*c ? 0 : 1)), choices, blocker,
                     depth + 1);
  }
  if (isa<arith::AddIOp, arith::SubIOp>(op)) {
    auto x = linearize(op->getOperand(0), choices, blocker, depth + 1);
    auto y = linearize(op->getOperand(1), choices, blocker, depth + 1);
    if (!x || !y)
      return std::nullopt;
    return combine(*x, *y, isa<arith::AddIOp>(op) ? 1 : -1);
  }
  if (isa<DivOp, ModOp>(op)) {
    // x = q + c or k + c over a positive constant d: floor(x / d) is a block
    // index (chunks, blocked windows); floormod(x, d) = x - d * floor(x / d)
    // is linear in the index and its block, which the classifier enumerates
    // per tile (2-D neighbourhoods: the column distance q % w - k % w is
    // exact on each pair of image rows a tile spans).
    auto d = op->getOperand(1).getDefiningOp<arith::ConstantIntOp>();
    auto x = linearize(op->getOperand(0), choices, blocker, depth + 1);
    if (!d || d.value() <= 0 || !x || x->aQ || x->bK || !x->s.terms.empty() ||
        !((x->a == 1 && x->b == 0) || (x->a == 0 && x->b == 1)))
      return std::nullopt;
    const bool mod = isa<ModOp>(op);
    const int64_t blockCoef = mod ? -d.value() : 1;
    Lin l;
    if (mod) {
      l.a = x->a;
      l.b = x->b;
      l.s.constant = x->s.constant;
    }
    if (x->a == 1) {
      l.aQ = blockCoef;
      l.qDiv = d.value();
      l.qOff = x->s.constant;
    } else {
      l.bK = blockCoef;
      l.kDiv = d.value();
      l.kOff = x->s.constant;
    }
    return l;
  }
  if (isa<arith::MulIOp>(op)) {
    auto x = linearize(op->getOperand(0), choices, blocker, depth + 1);
    auto y = linearize(op->getOperand(1), choices, blocker, depth + 1);
    if (!x || !y)
      return std::nullopt;
    // Linear only when one side is a plain constant.
    const Lin *lin = &*x, *cst = &*y;
    if (!cst->isConstant())
      std::swap(lin, cst);
    if (!cst->isConstant())
      return std::nullopt;
    return combine(Lin{}, *lin, cst->s.constant);
  }
  return std::nullopt;
}

std::optional<Lin> linearize(Value v) { return linearize(v, {}, nullptr); }

/// Case splits per comparison: enough for abs, min, max and conditionals of
/// affine terms, small enough to keep DNFs small.
constexpr size_t kMaxChoices = 4;

using Dnf = std::vector<SymClause>; // {} is false; {{}} is true.

/// file:line:col of `op`, as remarks name a sub-expression; empty when the
/// op has no file location.
std::string whereOf(Operation *op) {
  if (op)
    if (auto l = dyn_cast<FileLineColLoc>(op->getLoc()))
      return l.getFilename().str() + ":" + std::to_string(l.getLine()) + ":" +
             std::to_string(l.getColumn());
  return "";
}

struct DnfBuilder {
  bool overflow = false;
  int64_t splitsLeft = kMaxSplits;
  /// The comparison (or membership) being read: an atom it cannot become
  /// is an opaque one at its location.
  Operation *current = nullptr;
  /// The innermost `and`, `or` or boolean `if` being built: where a DNF
  /// that grows past its budget is cut.
  Operation *logic = nullptr;

  Dnf opaque() {
    SymAtom t;
    t.opaque = true;
    t.where = whereOf(current);
    return {SymClause{t}};
  }
  Dnf overBudget() {
    SymAtom t;
    t.opaque = true;
    t.overBudget = true;
    t.where = whereOf(logic);
    return {SymClause{t}};
  }

  Dnf conj(const Dnf &x, const Dnf &y) {
    if (x.size() * y.size() > kMaxClauses) {
      overflow = true;
      return overBudget();
    }
    Dnf out;
    for (const SymClause &cx : x)
      for (const SymClause &cy : y) {
        SymClause c = cx;
        c.insert(c.end(), cy.begin(), cy.end());
        out.push_back(std::move(c));
      }
    return out;
  }
  Dnf disj(Dnf x, const Dnf &y) {
    if (x.size() + y.size() > kMaxClauses) {
      overflow = true;
      return overBudget();
    }
    x.insert(x.end(), y.begin(), y.end());
    return x;
  }
  /// a*q + b*k + s <= 0 (or, negated, > 0).
  Dnf atomLe(Lin l, bool neg) {
    if (neg) { // l > 0  <=>  -l <= -1
      l.a = -l.a;
      l.b = -l.b;
      l.aQ = -l.aQ;
      l.bK = -l.bK;
      SymExpr s;
      if (!addInto(s, l.s, -1))
        return opaque();
      if (__builtin_add_overflow(s.constant, 1, &s.constant))
        return opaque();
      l.s = s;
    }
    SymAtom t;
    t.a = l.a;
    t.b = l.b;
    t.aQ = l.aQ;
    t.qDiv = l.qDiv;
    t.qOff = l.qOff;
    t.bK = l.bK;
    t.kDiv = l.kDiv;
    t.kOff = l.kOff;
    if (!addInto(t.rhs, l.s, -1))
      return opaque();
    if (l.isConstant())
      return t.rhs.constant >= 0 ? Dnf{SymClause{}} : Dnf{};
    return {SymClause{t}};
  }

  /// cmp(select(c, x, y), r) == (c and cmp(x, r)) or (not c and cmp(y, r));
  /// min and max are selects on `a <= b` and `a >= b`.
  Dnf split(arith::CmpIOp op, bool neg, const Choices &choices,
            Operation *blocker) {
    Dnf takeFirst, takeSecond;
    if (auto sel = dyn_cast<arith::SelectOp>(blocker)) {
      takeFirst = build(sel.getCondition(), false);
      takeSecond = build(sel.getCondition(), true);
    } else {
      auto a = linearize(blocker->getOperand(0), choices, nullptr);
      auto b = linearize(blocker->getOperand(1), choices, nullptr);
      auto d = a && b ? combine(*a, *b, -1) : std::nullopt; // a - b
      if (!d)
        return opaque();
      Lin ab = *d;
      Lin ba;
      if (auto n = combine(Lin{}, ab, -1))
        ba = *n;
      else
        return opaque();
      bool isMin = isa<arith::MinSIOp>(blocker);
      // min picks a when a - b <= 0; max picks a when b - a <= 0.
      takeFirst = atomLe(isMin ? ab : ba, false);
      takeSecond = atomLe(isMin ? ab : ba, true);
    }
    Choices first = choices, second = choices;
    first.push_back({blocker, true});
    second.push_back({blocker, false});
    return disj(conj(takeFirst, cmp(op, neg, first)),
                conj(takeSecond, cmp(op, neg, second)));
  }

  /// `floormod(b*k + offset, m) == r` with b = +-1, m a positive constant
  /// and r free of q and k: a progression of keys (GATHER). Or the same of
  /// block indices alone (`(q / w - k / w) % d == 0`, a dilated
  /// neighbourhood's rows): decided per pair of blocks a tile spans.
  /// Side `side` of `op` as `x % m` (m a constant) and the other side, both
  /// linear.
  struct ModComparison {
    int64_t m;
    Lin x, other;
  };
  std::optional<ModComparison> modComparison(arith::CmpIOp op, int side) {
    auto mod = op->getOperand(side).getDefiningOp<ModOp>();
    if (!mod)
      return std::nullopt;
    auto m = mod.getRhs().getDefiningOp<arith::ConstantIntOp>();
    auto x = linearize(mod.getLhs());
    auto other = linearize(op->getOperand(1 - side));
    if (!m || !x || !other)
      return std::nullopt;
    return ModComparison{m.value(), *x, *other};
  }

  std::optional<Dnf> congruence(arith::CmpIOp op) {
    for (int side = 0; side < 2; ++side) {
      auto mc = modComparison(op, side);
      if (!mc)
        continue;
      const Lin *lhs = &mc->x, *r = &mc->other;
      const bool onKeys = !lhs->aQ && !lhs->bK && (lhs->b == 1 || lhs->b == -1);
      const bool onBlocks = lhs->b == 0 && (lhs->aQ || lhs->bK);
      if (mc->m <= 0 || lhs->a != 0 || !(onKeys || onBlocks) || r->a != 0 ||
          r->b != 0 || r->aQ || r->bK)
        continue;
      SymAtom t;
      t.b = lhs->b;
      t.modulus = mc->m;
      t.offset = lhs->s;
      t.rhs = r->s;
      t.aQ = lhs->aQ;
      t.qDiv = lhs->qDiv;
      t.qOff = lhs->qOff;
      t.bK = lhs->bK;
      t.kDiv = lhs->kDiv;
      t.kOff = lhs->kOff;
      return Dnf{SymClause{t}};
    }
    return std::nullopt;
  }

  /// `x % d == c` (or `!=`) that says `q ≡ k (mod d)`: x linear in q and k
  /// with coefficients of q and k congruent to 1 and -1 (or -1 and 1) mod
  /// d, block terms multiples of d and the constants congruent. Dilated
  /// windows (`(q - k) % d == 0`) and the columns of a dilated 2-D
  /// neighbourhood (`(q % w - k % w) % d == 0` with w a multiple of d) are
  /// of this form. An opaque atom marked with its modulus.
  std::optional<Dnf> residueCongruence(arith::CmpIOp op, bool neg) {
    using P = arith::CmpIPredicate;
    if (op.getPredicate() != P::eq && op.getPredicate() != P::ne)
      return std::nullopt;
    for (int side = 0; side < 2; ++side) {
      auto mc = modComparison(op, side);
      if (!mc)
        continue;
      const Lin *lhs = &mc->x, *r = &mc->other;
      if (mc->m < 2 || !r->isConstant() || !lhs->s.terms.empty())
        continue;
      const int64_t d = mc->m;
      auto res = [d](int64_t x) { return ((x % d) + d) % d; };
      const bool qMinusK = res(lhs->a) == 1 && res(lhs->b) == d - 1;
      const bool kMinusQ = res(lhs->a) == d - 1 && res(lhs->b) == 1;
      if (!(qMinusK || kMinusQ) || res(lhs->aQ) != 0 || res(lhs->bK) != 0 ||
          res(lhs->s.constant) != res(r->s.constant))
        continue;
      SymAtom t;
      t.opaque = true;
      t.residue = d;
      t.negated = (op.getPredicate() == P::ne) != neg;
      return Dnf{SymClause{t}};
    }
    return std::nullopt;
  }

  /// `k in set` or `q - k in set`: a set atom; other indices are opaque.
  Dnf membership(Value index, const std::string &set, bool neg) {
    auto l = linearize(index);
    if (!l || l->aQ != 0 || l->bK != 0 || !l->s.terms.empty() ||
        l->s.constant != 0)
      return opaque();
    SymAtom t;
    if (l->a == 0 && l->b == 1)
      t.setOnDiagonal = false;
    else if (l->a == 1 && l->b == -1)
      t.setOnDiagonal = true;
    else
      return opaque();
    t.setName = set;
    t.negated = neg;
    return Dnf{SymClause{t}};
  }

  /// `k / B in topk_blocks(n, B)`: the key block in the set chosen for the
  /// query block q / B (B a constant; other forms stay opaque).
  Dnf blockMembership(InSelectedOp s, bool neg) {
    auto l = linearize(s.getValue());
    auto block = linearize(s.getArg());
    if (!l || !block || !block->isConstant() || block->s.constant <= 0)
      return opaque();
    const int64_t b = block->s.constant;
    if (l->a != 0 || l->b != 0 || l->aQ != 0 || l->bK != 1 || l->kDiv != b ||
        l->kOff != 0 || !l->s.terms.empty() || l->s.constant != 0)
      return opaque();
    SymAtom t;
    t.setName = s.getSelector().str();
    t.setBlock = b;
    t.negated = neg;
    return Dnf{SymClause{t}};
  }

  /// `a[q] == a[k]` (or `!=`) for one runtime array: same document.
  std::optional<Dnf> sameRun(arith::CmpIOp op, bool neg) {
    using P = arith::CmpIPredicate;
    if (op.getPredicate() != P::eq && op.getPredicate() != P::ne)
      return std::nullopt;
    auto x = op.getLhs().getDefiningOp<LoadOp>();
    auto y = op.getRhs().getDefiningOp<LoadOp>();
    if (!x || !y || x.getArray() != y.getArray())
      return std::nullopt;
    auto vx = x.getIndex().getDefiningOp<VarOp>();
    auto vy = y.getIndex().getDefiningOp<VarOp>();
    if (!vx || !vy)
      return std::nullopt;
    std::string a = vx.getName().str(), b = vy.getName().str();
    if (!((a == "q" && b == "k") || (a == "k" && b == "q")))
      return std::nullopt;
    SymAtom t;
    t.runArray = x.getArray().str();
    t.negated = (op.getPredicate() == P::ne) != neg;
    return Dnf{SymClause{t}};
  }

  Dnf cmp(arith::CmpIOp op, bool neg, const Choices &choices = {}) {
    if (choices.empty())
      if (auto r = sameRun(op, neg))
        return *r;
    if (choices.empty())
      if (auto r = residueCongruence(op, neg))
        return *r;
    if (op.getPredicate() == arith::CmpIPredicate::eq && !neg &&
        choices.empty())
      if (auto c = congruence(op))
        return *c;
    Operation *blocker = nullptr;
    auto x = linearize(op.getLhs(), choices, &blocker);
    auto y = x ? linearize(op.getRhs(), choices, &blocker) : std::nullopt;
    if ((!x || !y) && blocker && choices.size() < kMaxChoices &&
        splitsLeft > 0) {
      --splitsLeft;
      return split(op, neg, choices, blocker);
    }
    if (!x || !y)
      return opaque();
    auto d = combine(*x, *y, -1); // lhs - rhs
    if (!d)
      return opaque();
    Lin l = *d;
    Lin minusOne = l; // l + 1, for strict forms: l < 0 <=> l + 1 <= 0
    if (__builtin_add_overflow(minusOne.s.constant, 1, &minusOne.s.constant))
      return opaque();
    Lin negL;
    if (auto n = combine(Lin{}, l, -1))
      negL = *n;
    else
      return opaque();
    Lin negPlusOne = negL;
    if (__builtin_add_overflow(negPlusOne.s.constant, 1,
                               &negPlusOne.s.constant))
      return opaque();
    using P = arith::CmpIPredicate;
    switch (op.getPredicate()) {
    case P::slt:
      return atomLe(minusOne, neg); // l + 1 <= 0
    case P::sle:
      return atomLe(l, neg); // l <= 0
    case P::sgt:
      return atomLe(negPlusOne, neg); // -l + 1 <= 0
    case P::sge:
      return atomLe(negL, neg); // -l <= 0
    case P::eq:
    case P::ne: {
      bool isEq = (op.getPredicate() == P::eq) != neg;
      if (isEq)
        return conj(atomLe(l, false), atomLe(negL, false));
      return disj(atomLe(minusOne, false), atomLe(negPlusOne, false));
    }
    default:
      return opaque();
    }
  }

  /// first <= h <= last (last < 0: no upper end), as atoms on the symbol h.
  Dnf headRange(int64_t first, int64_t last) {
    Lin lo; // first - h <= 0
    lo.s.constant = first;
    lo.s.terms["h"] = -1;
    Dnf out = atomLe(lo, false);
    if (last >= 0) {
      Lin hi; // h - last <= 0
      hi.s.constant = -last;
      hi.s.terms["h"] = 1;
      out = conj(out, atomLe(hi, false));
    }
    return out;
  }

  /// Per-head dispatch: arm i on its heads (Sema keeps the ranges
  /// disjoint). Negated: an arm's heads where it is false, and the heads no
  /// arm claims.
  Dnf dispatch(DispatchOp d, bool neg, int depth) {
    Dnf out;
    std::vector<std::pair<int64_t, int64_t>> ranges;
    for (unsigned i = 0; i < d.getArms().size(); ++i) {
      const int64_t first = d.getFirst()[i], last = d.getLast()[i];
      ranges.push_back({first, last});
      auto yield = cast<YieldOp>(d.getArms()[i].front().getTerminator());
      out = disj(std::move(out), conj(headRange(first, last),
                                      build(yield.getValue(), neg, depth + 1)));
    }
    if (!neg)
      return out;
    std::sort(ranges.begin(), ranges.end());
    int64_t next = 0; // first head not yet claimed
    for (auto [first, last] : ranges) {
      if (first > next)
        out = disj(std::move(out), headRange(next, first - 1));
      if (last < 0)
        return out;
      next = std::max(next, last + 1);
    }
    return disj(std::move(out), headRange(next, -1));
  }

  Dnf leaf(Operation *op, bool neg) {
    if (auto c = dyn_cast<arith::CmpIOp>(op))
      return cmp(c, neg);
    if (auto s = dyn_cast<InSelectedOp>(op)) {
      if (s.getSelector() == "topk_blocks")
        return blockMembership(s, neg);
      return membership(s.getValue(), s.getSelector().str(), neg);
    }
    auto a = cast<InArrayOp>(op);
    return membership(a.getValue(), a.getArray().str(), neg);
  }

  Dnf build(Value v, bool neg, int depth = 0) {
    if (depth > 512)
      return opaque();
    Operation *op = v.getDefiningOp();
    if (!op)
      return opaque();
    if (auto c = dyn_cast<arith::ConstantIntOp>(op))
      return ((c.value() != 0) != neg) ? Dnf{SymClause{}} : Dnf{};
    if (auto x = dyn_cast<arith::XOrIOp>(op)) {
      for (int i = 0; i < 2; ++i)
        if (auto c = x->getOperand(i).getDefiningOp<arith::ConstantIntOp>())
          return build(x->getOperand(1 - i), neg != (c.value() != 0),
                       depth + 1);
      return opaque();
    }
    if (isa<arith::AndIOp, arith::OrIOp>(op)) {
      bool isAnd = isa<arith::AndIOp>(op) != neg; // De Morgan.
      Dnf a = build(op->getOperand(0), neg, depth + 1);
      Dnf b = build(op->getOperand(1), neg, depth + 1);
      Operation *outer = logic;
      logic = op;
      Dnf both = isAnd ? conj(a, b) : disj(std::move(a), b);
      logic = outer;
      return both;
    }
    // A leaf: what it cannot say is opaque at its location.
    if (isa<arith::CmpIOp, InSelectedOp, InArrayOp>(op)) {
      Operation *outer = current;
      current = op;
      Dnf leaf = this->leaf(op, neg);
      current = outer;
      return leaf;
    }
    if (isa<CausalOp>(op)) {
      // k - q <= Lk - Lq.
      Lin l;
      l.a = -1;
      l.b = 1;
      l.s.terms["Lk"] = -1;
      l.s.terms["Lq"] = 1;
      return atomLe(l, neg);
    }
    if (auto d = dyn_cast<DispatchOp>(op))
      return dispatch(d, neg, depth);
    if (auto s = dyn_cast<arith::SelectOp>(op)) {
      if (!s.getType().isInteger(1))
        return opaque();
      Dnf c = build(s.getCondition(), false, depth + 1);
      Dnf nc = build(s.getCondition(), true, depth + 1);
      Dnf t = build(s.getTrueValue(), neg, depth + 1);
      Dnf f = build(s.getFalseValue(), neg, depth + 1);
      Operation *outer = logic;
      logic = op;
      Dnf either = disj(conj(c, t), conj(nc, f));
      logic = outer;
      return either;
    }
    return opaque();
  }
};

DictionaryAttr termsAttr(Builder &b, const SymExpr &e) {
  SmallVector<NamedAttribute> terms;
  for (auto &[name, coef] : e.terms)
    terms.push_back(b.getNamedAttr(name, b.getI64IntegerAttr(coef)));
  return b.getDictionaryAttr(terms);
}

DictionaryAttr atomAttr(MLIRContext *ctx, const SymAtom &t) {
  Builder b(ctx);
  if (t.opaque && t.residue > 0)
    return b.getDictionaryAttr(
        {b.getNamedAttr("opaque", b.getUnitAttr()),
         b.getNamedAttr("residue", b.getI64IntegerAttr(t.residue)),
         b.getNamedAttr("negated", b.getBoolAttr(t.negated))});
  if (t.opaque && !t.where.empty()) {
    SmallVector<NamedAttribute> fields = {
        b.getNamedAttr("opaque", b.getUnitAttr()),
        b.getNamedAttr("where", b.getStringAttr(t.where))};
    if (t.overBudget)
      fields.push_back(b.getNamedAttr("over_budget", b.getUnitAttr()));
    return b.getDictionaryAttr(fields);
  }
  if (t.opaque)
    return b.getDictionaryAttr({b.getNamedAttr("opaque", b.getUnitAttr())});
  if (!t.runArray.empty())
    return b.getDictionaryAttr(
        {b.getNamedAttr("run_array", b.getStringAttr(t.runArray)),
         b.getNamedAttr("negated", b.getBoolAttr(t.negated))});
  if (!t.setName.empty() && t.setBlock > 0)
    return b.getDictionaryAttr(
        {b.getNamedAttr("set", b.getStringAttr(t.setName)),
         b.getNamedAttr("block", b.getI64IntegerAttr(t.setBlock)),
         b.getNamedAttr("negated", b.getBoolAttr(t.negated))});
  if (!t.setName.empty())
    return b.getDictionaryAttr(
        {b.getNamedAttr("set", b.getStringAttr(t.setName)),
         b.getNamedAttr("diagonal", b.getBoolAttr(t.setOnDiagonal)),
         b.getNamedAttr("negated", b.getBoolAttr(t.negated))});
  SmallVector<NamedAttribute> fields = {
      b.getNamedAttr("a", b.getI64IntegerAttr(t.a)),
      b.getNamedAttr("b", b.getI64IntegerAttr(t.b)),
      b.getNamedAttr("c", b.getI64IntegerAttr(t.rhs.constant)),
      b.getNamedAttr("terms", termsAttr(b, t.rhs))};
  if (t.aQ != 0)
    fields.push_back(b.getNamedAttr(
        "q_block", b.getDenseI64ArrayAttr({t.aQ, t.qDiv, t.qOff})));
  if (t.bK != 0)
    fields.push_back(b.getNamedAttr(
        "k_block", b.getDenseI64ArrayAttr({t.bK, t.kDiv, t.kOff})));
  if (t.modulus > 0) {
    fields.push_back(b.getNamedAttr("modulus", b.getI64IntegerAttr(t.modulus)));
    fields.push_back(
        b.getNamedAttr("offset", b.getI64IntegerAttr(t.offset.constant)));
    fields.push_back(b.getNamedAttr("offset_terms", termsAttr(b, t.offset)));
  }
  return b.getDictionaryAttr(fields);
}

bool readTerms(Attribute attr, SymExpr &e) {
  auto terms = dyn_cast_or_null<DictionaryAttr>(attr);
  if (!terms)
    return false;
  for (NamedAttribute n : terms) {
    auto v = dyn_cast<IntegerAttr>(n.getValue());
    if (!v)
      return false;
    e.terms[n.getName().str()] = v.getInt();
  }
  return true;
}

ArrayAttr dnfAttr(MLIRContext *ctx, const std::vector<SymClause> &dnf) {
  Builder b(ctx);
  SmallVector<Attribute> clauses;
  for (const SymClause &c : dnf) {
    SmallVector<Attribute> atoms;
    for (const SymAtom &t : c)
      atoms.push_back(atomAttr(ctx, t));
    clauses.push_back(b.getArrayAttr(atoms));
  }
  return b.getArrayAttr(clauses);
}

std::optional<std::vector<SymClause>> dnfFromAttr(Attribute attr) {
  auto arr = dyn_cast_or_null<ArrayAttr>(attr);
  if (!arr)
    return std::nullopt;
  std::vector<SymClause> out;
  for (Attribute c : arr) {
    auto atoms = dyn_cast<ArrayAttr>(c);
    if (!atoms)
      return std::nullopt;
    SymClause clause;
    for (Attribute a : atoms) {
      auto d = dyn_cast<DictionaryAttr>(a);
      if (!d)
        return std::nullopt;
      SymAtom t;
      if (d.get("opaque")) {
        t.opaque = true;
        if (auto where = dyn_cast_or_null<StringAttr>(d.get("where")))
          t.where = where.str();
        t.overBudget = static_cast<bool>(d.get("over_budget"));
        if (auto res = dyn_cast_or_null<IntegerAttr>(d.get("residue"))) {
          auto negated = dyn_cast_or_null<BoolAttr>(d.get("negated"));
          if (!negated || res.getInt() < 2)
            return std::nullopt;
          t.residue = res.getInt();
          t.negated = negated.getValue();
        }
      } else if (auto run = dyn_cast_or_null<StringAttr>(d.get("run_array"))) {
        auto negated = dyn_cast_or_null<BoolAttr>(d.get("negated"));
        if (!negated)
          return std::nullopt;
        t.runArray = run.str();
        t.negated = negated.getValue();
      } else if (auto set = dyn_cast_or_null<StringAttr>(d.get("set"))) {
        auto negated = dyn_cast_or_null<BoolAttr>(d.get("negated"));
        auto diagonal = dyn_cast_or_null<BoolAttr>(d.get("diagonal"));
        auto block = dyn_cast_or_null<IntegerAttr>(d.get("block"));
        if (!negated || (!diagonal && !block) || (block && block.getInt() <= 0))
          return std::nullopt;
        t.setName = set.str();
        t.setOnDiagonal = diagonal && diagonal.getValue();
        t.setBlock = block ? block.getInt() : 0;
        t.negated = negated.getValue();
      } else {
        auto ga = dyn_cast_or_null<IntegerAttr>(d.get("a"));
        auto gb = dyn_cast_or_null<IntegerAttr>(d.get("b"));
        auto gc = dyn_cast_or_null<IntegerAttr>(d.get("c"));
        if (!ga || !gb || !gc || !readTerms(d.get("terms"), t.rhs))
          return std::nullopt;
        t.a = ga.getInt();
        t.b = gb.getInt();
        t.rhs.constant = gc.getInt();
        for (const char *axis : {"q_block", "k_block"}) {
          auto blk = dyn_cast_or_null<DenseI64ArrayAttr>(d.get(axis));
          if (!blk)
            continue;
          if (blk.size() != 3 || blk[1] <= 0)
            return std::nullopt;
          bool isQ = StringRef(axis) == "q_block";
          (isQ ? t.aQ : t.bK) = blk[0];
          (isQ ? t.qDiv : t.kDiv) = blk[1];
          (isQ ? t.qOff : t.kOff) = blk[2];
        }
        if (auto m = dyn_cast_or_null<IntegerAttr>(d.get("modulus"))) {
          auto off = dyn_cast_or_null<IntegerAttr>(d.get("offset"));
          if (!off || m.getInt() <= 0 ||
              !readTerms(d.get("offset_terms"), t.offset))
            return std::nullopt;
          t.modulus = m.getInt();
          t.offset.constant = off.getInt();
        }
      }
      clause.push_back(std::move(t));
    }
    out.push_back(std::move(clause));
  }
  return out;
}

} // namespace

SymbolicSchedule analyzeMask(Value root) {
  SymbolicSchedule s;
  llvm::DenseMap<Value, int32_t> index;
  s.predicate = buildPredicateProgram(root, &index);
  DerivedSymbols derived;
  if (!s.predicate.empty()) {
    derived.index = &index;
    derived.readsPairs = readsPairs(s.predicate);
  }
  struct Scope {
    Scope(const DerivedSymbols *d) { tDerived = d; }
    ~Scope() {
      tDerived = nullptr;
      tLinearizeSteps = kMaxLinearizeSteps;
    }
  } scope(&derived);
  tLinearizeSteps = kMaxLinearizeSteps;
  DnfBuilder pos;
  s.clauses = pos.build(root, false);
  tLinearizeSteps = kMaxLinearizeSteps;
  DnfBuilder neg;
  s.complement = neg.build(root, true);
  s.hasComplement = !neg.overflow;
  return s;
}

DictionaryAttr toAttr(MLIRContext *ctx, const SymbolicSchedule &s) {
  Builder b(ctx);
  return b.getDictionaryAttr(
      {b.getNamedAttr("clauses", dnfAttr(ctx, s.clauses)),
       b.getNamedAttr("complement", dnfAttr(ctx, s.complement)),
       b.getNamedAttr("has_complement", b.getBoolAttr(s.hasComplement)),
       b.getNamedAttr("predicate", predicateAttr(ctx, s.predicate))});
}

std::optional<SymbolicSchedule> fromAttr(DictionaryAttr attr) {
  if (!attr)
    return std::nullopt;
  SymbolicSchedule s;
  auto clauses = dnfFromAttr(attr.get("clauses"));
  auto complement = dnfFromAttr(attr.get("complement"));
  auto has = dyn_cast_or_null<BoolAttr>(attr.get("has_complement"));
  if (!clauses || !complement || !has)
    return std::nullopt;
  s.clauses = std::move(*clauses);
  s.complement = std::move(*complement);
  s.hasComplement = has.getValue();
  if (auto p = dyn_cast_or_null<DictionaryAttr>(attr.get("predicate"))) {
    auto program = predicateFromAttr(p);
    if (!program)
      return std::nullopt;
    s.predicate = std::move(*program);
  }
  return s;
}

} // namespace maskjit::mask
