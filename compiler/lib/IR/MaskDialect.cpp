//===- MaskDialect.cpp - The mask dialect: registration, verifiers, folders
//===//
#include "maskjit/compiler/MaskDialect.h"
#include "maskjit/dsl/IntMath.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/OpImplementation.h"

using namespace mlir;
using namespace maskjit::mask;

#include "maskjit/compiler/MaskDialect.cpp.inc"

void MaskDialect::initialize() {
  addOperations<
#define GET_OP_LIST
#include "maskjit/compiler/MaskOps.cpp.inc"
      >();
}

#define GET_OP_CLASSES
#include "maskjit/compiler/MaskOps.cpp.inc"

Operation *MaskDialect::materializeConstant(OpBuilder &builder, Attribute value,
                                            Type type, Location loc) {
  // Folded values are plain integers: arith.constant holds them.
  if (auto attr = dyn_cast<IntegerAttr>(value))
    return arith::ConstantOp::create(builder, loc, type, attr);
  return nullptr;
}

LogicalResult PatternOp::verify() {
  Block &body = getBody().front();
  if (body.getNumArguments() != 0)
    return emitOpError("body takes no arguments");
  if (body.empty() || !isa<YieldOp>(body.back()))
    return emitOpError("body must end with mask.yield");
  return success();
}

LogicalResult VarOp::verify() {
  StringRef n = getName();
  if (n == "q" || n == "k" || n == "h" || n == "b" || n == "Lq" || n == "Lk")
    return success();
  return emitOpError("unknown index variable '") << n << "'";
}

LogicalResult InSelectedOp::verify() {
  StringRef s = getSelector();
  if (s == "topk_columns" || s == "topk_diagonals" || s == "topk_blocks")
    return success();
  return emitOpError("unknown selector '") << s << "'";
}

LogicalResult DispatchOp::verify() {
  if (getFirst().size() != getArms().size() ||
      getLast().size() != getArms().size())
    return emitOpError("needs one head range per arm");
  for (Region &arm : getArms())
    if (arm.empty() || !isa<YieldOp>(arm.front().back()))
      return emitOpError("every arm must end with mask.yield");
  return success();
}

Value DispatchOp::inlineArm(unsigned i) {
  Block &arm = getArms()[i].front();
  auto yield = cast<YieldOp>(arm.getTerminator());
  Value v = yield.getValue();
  yield->erase();
  (*this)->getBlock()->getOperations().splice(Block::iterator(*this),
                                              arm.getOperations());
  return v;
}

namespace {
/// Folds a binary i64 op on two constants with a checked operation.
OpFoldResult foldInt(Attribute lhs, Attribute rhs,
                     bool (*fn)(int64_t, int64_t, int64_t &), Type type) {
  auto a = dyn_cast_or_null<IntegerAttr>(lhs);
  auto b = dyn_cast_or_null<IntegerAttr>(rhs);
  if (!a || !b)
    return {};
  int64_t r;
  if (!fn(a.getInt(), b.getInt(), r))
    return {}; // Division by zero stays in the IR, to be reported.
  return IntegerAttr::get(type, r);
}
} // namespace

OpFoldResult DivOp::fold(FoldAdaptor adaptor) {
  if (auto b = dyn_cast_or_null<IntegerAttr>(adaptor.getRhs()))
    if (b.getInt() == 1)
      return getLhs();
  return foldInt(adaptor.getLhs(), adaptor.getRhs(), maskjit::dsl::floorDiv,
                 getType());
}

OpFoldResult ModOp::fold(FoldAdaptor adaptor) {
  // x mod 1 is 0 whatever x is (a dilation of 1 leaves no congruence).
  if (auto b = dyn_cast_or_null<IntegerAttr>(adaptor.getRhs()))
    if (b.getInt() == 1)
      return IntegerAttr::get(getType(), 0);
  return foldInt(adaptor.getLhs(), adaptor.getRhs(), maskjit::dsl::floorMod,
                 getType());
}
