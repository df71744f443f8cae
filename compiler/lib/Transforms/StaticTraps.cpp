//===- StaticTraps.cpp - Division by zero and overflow in bound values ----===//
//
// The reference evaluator stops at a division by zero or an overflow; the
// kernels cannot (floor division by 0 is 0 there, arithmetic wraps). Once
// mask-specialize has put the compile-time values in, an operation whose
// operands are all constants either traps at every pair or never: it is
// checked here, before canonicalization folds it (arith folds wrap).
// Only operations the evaluator would reach count: the arm of an `if` (or
// the right side of `and`/`or`) that a constant condition rules out is not
// checked, as the evaluator never runs it.
//
//===----------------------------------------------------------------------===//
#include "StaticTraps.h"

#include "maskjit/compiler/MaskDialect.h"
#include "maskjit/dsl/IntMath.h"

#include "mlir/Dialect/Arith/IR/Arith.h"

#include "llvm/ADT/DenseMap.h"
#include "llvm/ADT/DenseSet.h"

#include <optional>
#include <string>

namespace maskjit::mask {
namespace {

using namespace mlir;

class TrapFinder {
public:
  /// Visits what the evaluator would compute for `root`; false after the
  /// first trap (reported on its operation).
  bool run(Value root) {
    demand(root);
    return !failed_;
  }

private:
  /// The value of `v` when it is the same at every pair, and computable
  /// without a trap.
  std::optional<int64_t> constant(Value v) {
    if (auto it = constants_.find(v); it != constants_.end())
      return it->second;
    std::optional<int64_t> r = fold(v);
    constants_[v] = r;
    return r;
  }

  std::optional<int64_t> fold(Value v) {
    Operation *op = v.getDefiningOp();
    if (!op)
      return std::nullopt;
    if (auto c = dyn_cast<arith::ConstantIntOp>(op))
      return c.value();
    if (auto s = dyn_cast<arith::SelectOp>(op)) {
      auto c = constant(s.getCondition());
      if (!c)
        return std::nullopt;
      return constant(*c ? s.getTrueValue() : s.getFalseValue());
    }
    if (op->getNumOperands() != 2 || op->getNumResults() != 1)
      return std::nullopt;
    auto a = constant(op->getOperand(0));
    if (!a)
      return std::nullopt;
    // `and`/`or` decided by their left side, as the evaluator does.
    if (isa<arith::AndIOp>(op) && *a == 0)
      return 0;
    if (isa<arith::OrIOp>(op) && *a != 0 &&
        op->getResult(0).getType().isInteger(1))
      return 1;
    auto b = constant(op->getOperand(1));
    if (!b)
      return std::nullopt;
    int64_t r = 0;
    bool ok = true;
    if (isa<arith::AddIOp>(op))
      ok = dsl::checkedAdd(*a, *b, r);
    else if (isa<arith::SubIOp>(op))
      ok = dsl::checkedSub(*a, *b, r);
    else if (isa<arith::MulIOp>(op))
      ok = dsl::checkedMul(*a, *b, r);
    else if (isa<DivOp>(op))
      ok = dsl::floorDiv(*a, *b, r);
    else if (isa<ModOp>(op))
      ok = dsl::floorMod(*a, *b, r);
    else if (isa<arith::MinSIOp>(op))
      r = std::min(*a, *b);
    else if (isa<arith::MaxSIOp>(op))
      r = std::max(*a, *b);
    else if (isa<arith::AndIOp>(op))
      r = *a & *b;
    else if (isa<arith::OrIOp>(op))
      r = *a | *b;
    else if (isa<arith::XOrIOp>(op))
      r = *a ^ *b;
    else if (auto c = dyn_cast<arith::CmpIOp>(op))
      r = compare(c.getPredicate(), *a, *b);
    else
      return std::nullopt;
    if (!ok)
      return std::nullopt;
    return r;
  }

  static int64_t compare(arith::CmpIPredicate p, int64_t a, int64_t b) {
    using P = arith::CmpIPredicate;
    switch (p) {
    case P::eq:
      return a == b;
    case P::ne:
      return a != b;
    case P::slt:
      return a < b;
    case P::sle:
      return a <= b;
    case P::sgt:
      return a > b;
    case P::sge:
      return a >= b;
    default:
      return 0; // unsigned predicates are not produced by the importer
    }
  }

  void demand(Value v) {
    if (failed_ || !demanded_.insert(v).second)
      return;
    Operation *op = v.getDefiningOp();
    if (!op)
      return;
    if (auto d = dyn_cast<DispatchOp>(op)) {
      for (Region &arm : d.getArms())
        demand(cast<YieldOp>(arm.front().getTerminator()).getValue());
      return;
    }
    if (auto s = dyn_cast<arith::SelectOp>(op)) {
      demand(s.getCondition());
      auto c = constant(s.getCondition());
      if (!c || *c)
        demand(s.getTrueValue());
      if (!c || !*c)
        demand(s.getFalseValue());
      return;
    }
    if (isa<arith::AndIOp, arith::OrIOp>(op) &&
        op->getResult(0).getType().isInteger(1)) {
      demand(op->getOperand(0));
      auto a = constant(op->getOperand(0));
      const bool decided = a && ((*a != 0) == isa<arith::OrIOp>(op));
      if (!decided)
        demand(op->getOperand(1));
      return;
    }
    for (Value operand : op->getOperands())
      demand(operand);
    check(op);
  }

  /// Reports `op` when its constant operands trap.
  void check(Operation *op) {
    if (!isa<arith::AddIOp, arith::SubIOp, arith::MulIOp, DivOp, ModOp>(op))
      return;
    auto b = constant(op->getOperand(1));
    if (isa<DivOp, ModOp>(op) && b && *b == 0) {
      op->emitError(isa<DivOp>(op) ? "division" : "modulo")
          << " by zero: the divisor is 0 once the compile-time values are "
             "bound";
      failed_ = true;
      return;
    }
    auto a = constant(op->getOperand(0));
    if (!a || !b || constant(op->getResult(0)))
      return;
    const char *sign = isa<arith::AddIOp>(op)   ? " + "
                       : isa<arith::SubIOp>(op) ? " - "
                       : isa<arith::MulIOp>(op) ? " * "
                                                : " / ";
    op->emitError("integer overflow (")
        << *a << sign << *b << ") once the compile-time values are bound";
    failed_ = true;
  }

  llvm::DenseMap<Value, std::optional<int64_t>> constants_;
  llvm::DenseSet<Value> demanded_;
  bool failed_ = false;
};

} // namespace

LogicalResult checkStaticTraps(PatternOp pattern) {
  auto yield = cast<YieldOp>(pattern.getBody().front().getTerminator());
  TrapFinder finder;
  return success(finder.run(yield.getValue()));
}

} // namespace maskjit::mask
