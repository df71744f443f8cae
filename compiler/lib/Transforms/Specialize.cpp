//===- Specialize.cpp - Bind compile-time parameters ----------------------===//
#include "maskjit/compiler/Passes.h"

#include "StaticTraps.h"

#include "mlir/IR/PatternMatch.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

#include <map>
#include <optional>

namespace maskjit::mask {
#define GEN_PASS_DEF_MASKSPECIALIZE
#include "maskjit/compiler/Passes.h.inc"

namespace {

using namespace mlir;

class MaskSpecializePass : public impl::MaskSpecializeBase<MaskSpecializePass> {
public:
  using MaskSpecializeBase::MaskSpecializeBase;
  MaskSpecializePass(const std::map<std::string, int64_t> &constants,
                     int64_t headIndex)
      : typed(constants) {
    head = headIndex;
  }

  void runOnOperation() override {
    ModuleOp module = getOperation();
    std::map<std::string, int64_t> values =
        typed.value_or(std::map<std::string, int64_t>{});
    for (const std::string &b : bindings) {
      auto eq = b.find('=');
      long long v = 0;
      if (eq == std::string::npos ||
          !llvm::to_integer(StringRef(b).substr(eq + 1), v, 10)) {
        module.emitError("mask-specialize: binding '")
            << b << "' is not name=integer";
        return signalPassFailure();
      }
      values[b.substr(0, eq)] = v;
    }
    bool bad = false;
    OpBuilder builder(&getContext());
    SmallVector<ParamOp> params;
    module.walk([&](ParamOp p) { params.push_back(p); });
    for (const auto &binding : values) {
      const std::string &name = binding.first;
      bool known = llvm::any_of(params, [&](ParamOp p) {
        return p.getName() == name && !p.getRuntime() && !p.getPerHead();
      });
      if (!known) {
        module.emitError("mask-specialize: no compile-time parameter '")
            << name << "' to bind";
        return signalPassFailure();
      }
    }
    for (ParamOp param : params) {
      if (param.getRuntime() || param.getPerHead())
        continue;
      auto it = values.find(param.getName().str());
      std::optional<int64_t> v;
      if (it != values.end())
        v = it->second;
      else if (param.getDefaultValue())
        v = param.getDefaultValueAttr().getInt();
      if (!v) {
        param.emitError("parameter '")
            << param.getName() << "' has no value and no default";
        bad = true;
        continue;
      }
      builder.setInsertionPoint(param);
      unsigned width = param.getType().getIntOrFloatBitWidth();
      Value c = arith::ConstantIntOp::create(
          builder, param.getLoc(), width == 1 ? (*v != 0) : *v, width);
      param.replaceAllUsesWith(c);
      param->erase();
    }
    if (bad)
      return signalPassFailure();
    if (head >= 0)
      resolveDispatch(module);
    // Before folding, which would wrap an overflow into a wrong constant.
    module.walk([&](PatternOp p) { bad |= failed(checkStaticTraps(p)); });
    if (bad)
      return signalPassFailure();
    // Folding only (constants, `x + 0`, a select on a constant), no
    // canonicalization patterns: those reassociate `(a - c1) - c2` into
    // `a - (c1 + c2)`, which is the same value modulo 2^64 but may overflow
    // where the pattern as written does not, and the trap search (like the
    // evaluator) judges the pattern as written.
    RewritePatternSet patterns(&getContext());
    if (failed(applyPatternsGreedily(module, std::move(patterns))))
      return signalPassFailure();
  }

private:
  void resolveDispatch(ModuleOp module) {
    SmallVector<DispatchOp> dispatches;
    module.walk([&](DispatchOp d) { dispatches.push_back(d); });
    for (DispatchOp d : dispatches) {
      auto first = d.getFirst(), last = d.getLast();
      for (size_t i = 0; i < first.size(); ++i) {
        if (head < first[i] || (last[i] >= 0 && head > last[i]))
          continue;
        d.getResult().replaceAllUsesWith(d.inlineArm(i));
        d->erase();
        break;
      }
    }
  }

private:
  /// Values given as such (not as `name=value` text).
  std::optional<std::map<std::string, int64_t>> typed;
};

} // namespace
std::unique_ptr<mlir::Pass>
createMaskSpecialize(const std::map<std::string, int64_t> &constants,
                     int64_t head) {
  return std::make_unique<MaskSpecializePass>(constants, head);
}

} // namespace maskjit::mask
