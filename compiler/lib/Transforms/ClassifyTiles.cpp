//===- ClassifyTiles.cpp - Attach the KV schedule to each pattern ---------===//
#include "maskjit/compiler/Passes.h"
#include "maskjit/compiler/SymbolicSchedule.h"

namespace maskjit::mask {
#define GEN_PASS_DEF_MASKCLASSIFYTILES
#include "maskjit/compiler/Passes.h.inc"

namespace {

class MaskClassifyTilesPass
    : public impl::MaskClassifyTilesBase<MaskClassifyTilesPass> {
public:
  void runOnOperation() override {
    getOperation().walk([&](PatternOp p) {
      auto yield = cast<YieldOp>(p.getBody().front().getTerminator());
      SymbolicSchedule s = analyzeMask(yield.getValue());
      p->setAttr("mask.schedule", toAttr(&getContext(), s));
    });
  }
};

} // namespace
} // namespace maskjit::mask
