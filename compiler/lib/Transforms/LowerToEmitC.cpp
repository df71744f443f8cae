//===- LowerToEmitC.cpp - The predicate as an EmitC function --------------===//
#include "maskjit/compiler/Passes.h"

#include "mlir/Conversion/ArithToEmitC/ArithToEmitC.h"
#include "mlir/Dialect/EmitC/Transforms/TypeConversions.h"
#include "mlir/IR/IRMapping.h"
#include "mlir/Transforms/DialectConversion.h"

namespace maskjit::mask {
#define GEN_PASS_DEF_MASKLOWERTOEMITC
#include "maskjit/compiler/Passes.h.inc"

namespace {

using namespace mlir;

/// Argument order of the generated predicate.
enum ArgIndex { kQ, kK, kH, kB, kLq, kLk, kArgs, kNumArgs };

Value var(OpBuilder &b, Location loc, StringRef name) {
  return VarOp::create(b, loc, b.getI64Type(), name);
}

/// Per-head dispatch becomes a chain of selects on h (every arm is pure).
void inlineDispatch(DispatchOp d) {
  OpBuilder b(d);
  Location loc = d.getLoc();
  Value h = var(b, loc, "h");
  Value result = arith::ConstantIntOp::create(b, loc, 0, 1);
  auto first = d.getFirst(), last = d.getLast();
  for (size_t i = d.getArms().size(); i-- > 0;) {
    Value v = d.inlineArm(i);
    b.setInsertionPoint(d);
    Value lo = arith::ConstantIntOp::create(b, loc, first[i], 64);
    Value in = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::sge, h, lo);
    if (last[i] >= 0) {
      Value hi = arith::ConstantIntOp::create(b, loc, last[i], 64);
      Value le =
          arith::CmpIOp::create(b, loc, arith::CmpIPredicate::sle, h, hi);
      in = arith::AndIOp::create(b, loc, in, le);
    }
    result = arith::SelectOp::create(b, loc, in, v, result);
  }
  d.getResult().replaceAllUsesWith(result);
  d->erase();
}

/// `causal`: k <= q + (Lk - Lq).
void expandCausal(CausalOp c) {
  OpBuilder b(c);
  Location loc = c.getLoc();
  Value shift =
      arith::SubIOp::create(b, loc, var(b, loc, "Lk"), var(b, loc, "Lq"));
  Value limit = arith::AddIOp::create(b, loc, var(b, loc, "q"), shift);
  Value r = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::sle,
                                  var(b, loc, "k"), limit);
  c.getResult().replaceAllUsesWith(r);
  c->erase();
}

/// A call of a helper or macro of the kernel template; `names` are passed
/// verbatim before the operands.
emitc::CallOpaqueOp callHelper(ConversionPatternRewriter &rw, Operation *op,
                               StringRef callee, ArrayRef<StringRef> names,
                               ValueRange operands, Value args = {}) {
  SmallVector<Attribute> argAttrs;
  SmallVector<Value> all;
  if (args) {
    argAttrs.push_back(rw.getIndexAttr(0));
    all.push_back(args);
  }
  for (StringRef n : names)
    argAttrs.push_back(emitc::OpaqueAttr::get(rw.getContext(), n));
  for (Value v : operands) {
    argAttrs.push_back(rw.getIndexAttr(all.size()));
    all.push_back(v);
  }
  return emitc::CallOpaqueOp::create(rw, op->getLoc(), op->getResultTypes(),
                                     callee, all, rw.getArrayAttr(argAttrs));
}

Value argsOf(Operation *op) {
  return op->getParentOfType<emitc::FuncOp>().getArgument(kArgs);
}

struct LowerParam : OpConversionPattern<ParamOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult matchAndRewrite(ParamOp op, OpAdaptor,
                                ConversionPatternRewriter &rw) const override {
    if (!op.getRuntime() && !op.getPerHead())
      return rw.notifyMatchFailure(
          op, "compile-time param: run mask-specialize first");
    Value args = argsOf(op);
    if (op.getPerHead()) {
      Value h = op->getParentOfType<emitc::FuncOp>().getArgument(kH);
      rw.replaceOp(op, callHelper(rw, op, "MASKJIT_HEAD_PARAM", {op.getName()},
                                  {h}, args));
    } else {
      rw.replaceOp(
          op, callHelper(rw, op, "MASKJIT_PARAM", {op.getName()}, {}, args));
    }
    return success();
  }
};

template <typename OpT> struct LowerToHelper : OpConversionPattern<OpT> {
  LowerToHelper(MLIRContext *ctx, StringRef callee, bool withArgs)
      : OpConversionPattern<OpT>(ctx), callee(callee), withArgs(withArgs) {}
  LogicalResult matchAndRewrite(OpT op, typename OpT::Adaptor adaptor,
                                ConversionPatternRewriter &rw) const override {
    SmallVector<StringRef> names;
    SmallVector<Value> operands;
    if constexpr (std::is_same_v<OpT, LoadOp>) {
      names.push_back(op.getArray());
      operands.push_back(adaptor.getIndex());
    } else if constexpr (std::is_same_v<OpT, InArrayOp>) {
      names.push_back(op.getArray());
      operands.push_back(adaptor.getValue());
    } else if constexpr (std::is_same_v<OpT, InSelectedOp>) {
      // A selector chooses its set per head and sequence (estimated sets
      // differ from sequence to sequence); topk_blocks one per head,
      // sequence and query block (q / block).
      auto func = op->template getParentOfType<emitc::FuncOp>();
      names.push_back(op.getSelector());
      operands.push_back(adaptor.getValue());
      if (op.getSelector() == "topk_blocks") {
        operands.push_back(func.getArgument(kQ));
        operands.push_back(adaptor.getArg());
      }
      operands.push_back(func.getArgument(kH));
      operands.push_back(func.getArgument(kB));
    } else {
      operands.append(adaptor.getOperands().begin(),
                      adaptor.getOperands().end());
    }
    StringRef name = callee;
    if constexpr (std::is_same_v<OpT, InSelectedOp>)
      if (op.getSelector() == "topk_blocks")
        name = "MASKJIT_IN_BLOCKS";
    rw.replaceOp(op, callHelper(rw, op, name, names, operands,
                                withArgs ? argsOf(op) : Value()));
    return success();
  }
  std::string callee;
  bool withArgs;
};

/// min and max as a comparison and a select (arith-to-emitc has no pattern
/// for arith.minsi / arith.maxsi).
void expandMinMax(Block &entry) {
  SmallVector<Operation *> ops;
  entry.walk([&](Operation *op) {
    if (isa<arith::MinSIOp, arith::MaxSIOp>(op))
      ops.push_back(op);
  });
  for (Operation *op : ops) {
    OpBuilder b(op);
    const bool isMin = isa<arith::MinSIOp>(op);
    Value x = op->getOperand(0), y = op->getOperand(1);
    Value firstWins = arith::CmpIOp::create(
        b, op->getLoc(),
        isMin ? arith::CmpIPredicate::sle : arith::CmpIPredicate::sge, x, y);
    Value r = arith::SelectOp::create(b, op->getLoc(), firstWins, x, y);
    op->getResult(0).replaceAllUsesWith(r);
    op->erase();
  }
}

class MaskLowerToEmitCPass
    : public impl::MaskLowerToEmitCBase<MaskLowerToEmitCPass> {
public:
  void runOnOperation() override {
    ModuleOp module = getOperation();
    SmallVector<PatternOp> patterns;
    module.walk([&](PatternOp p) { patterns.push_back(p); });
    for (PatternOp p : patterns)
      if (failed(lower(p)))
        return signalPassFailure();
  }

private:
  LogicalResult lower(PatternOp p) {
    MLIRContext *ctx = &getContext();
    // Work on a copy: the pattern itself stays, with its schedule.
    OpBuilder b(ctx);
    b.setInsertionPointAfter(p);
    auto copy = cast<PatternOp>(b.clone(*p));
    SmallVector<DispatchOp> dispatches;
    copy.walk([&](DispatchOp d) { dispatches.push_back(d); });
    for (DispatchOp d : llvm::reverse(dispatches))
      inlineDispatch(d);
    SmallVector<CausalOp> causals;
    copy.walk([&](CausalOp c) { causals.push_back(c); });
    for (CausalOp c : causals)
      expandCausal(c);

    Type i64 = b.getI64Type();
    Type argsType = emitc::PointerType::get(
        emitc::OpaqueType::get(ctx, "const maskjit_args"));
    auto fnType = b.getFunctionType({i64, i64, i64, i64, i64, i64, argsType},
                                    {b.getI1Type()});
    auto fn = emitc::FuncOp::create(
        b, p.getLoc(), (p.getSymName() + "_allowed").str(), fnType);
    fn.setSpecifiersAttr(
        b.getStrArrayAttr({"static", "__device__", "__forceinline__"}));
    Block *entry = fn.addEntryBlock();
    Block &body = copy.getBody().front();
    // Index variables become the function's arguments.
    SmallVector<VarOp> vars;
    body.walk([&](VarOp v) { vars.push_back(v); });
    for (VarOp v : vars) {
      StringRef n = v.getName();
      int idx = n == "q"    ? kQ
                : n == "k"  ? kK
                : n == "h"  ? kH
                : n == "b"  ? kB
                : n == "Lq" ? kLq
                            : kLk;
      v.getResult().replaceAllUsesWith(entry->getArgument(idx));
      v->erase();
    }
    entry->getOperations().splice(entry->end(), body.getOperations());
    copy->erase();
    auto yield = cast<YieldOp>(entry->getTerminator());
    b.setInsertionPoint(yield);
    emitc::ReturnOp::create(b, yield.getLoc(), yield.getValue());
    yield->erase();
    for (Operation &op : llvm::make_early_inc_range(*entry))
      if (isa<ArrayParamOp>(op))
        op.erase();
    expandMinMax(*entry);

    TypeConverter converter;
    converter.addConversion([](Type t) { return t; });
    populateEmitCSizeTTypeConversions(converter);
    RewritePatternSet rewrites(ctx);
    populateArithToEmitCPatterns(converter, rewrites);
    rewrites.add<LowerParam>(ctx);
    rewrites.add<LowerToHelper<DivOp>>(ctx, "maskjit_floordiv", false);
    rewrites.add<LowerToHelper<ModOp>>(ctx, "maskjit_floormod", false);
    rewrites.add<LowerToHelper<LoadOp>>(ctx, "MASKJIT_LOAD", true);
    rewrites.add<LowerToHelper<InArrayOp>>(ctx, "MASKJIT_IN_ARRAY", true);
    rewrites.add<LowerToHelper<InSelectedOp>>(ctx, "MASKJIT_IN_SELECTED", true);
    ConversionTarget target(*ctx);
    target.addLegalDialect<emitc::EmitCDialect>();
    target.addIllegalDialect<arith::ArithDialect, MaskDialect>();
    if (failed(applyPartialConversion(fn, target, std::move(rewrites)))) {
      fn->erase();
      return p.emitError("cannot lower pattern '")
             << p.getSymName() << "' to EmitC";
    }
    return success();
  }
};

} // namespace
} // namespace maskjit::mask
