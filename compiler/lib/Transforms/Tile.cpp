//===- Tile.cpp - Choose BM x BN for the target ---------------------------===//
#include "maskjit/compiler/Passes.h"

namespace maskjit::mask {
#define GEN_PASS_DEF_MASKTILE
#include "maskjit/compiler/Passes.h.inc"

namespace {

using namespace mlir;

class MaskTilePass : public impl::MaskTileBase<MaskTilePass> {
public:
  using MaskTileBase::MaskTileBase;

  void runOnOperation() override {
    if (headDim != 64 && headDim != 96 && headDim != 128 && headDim != 256) {
      getOperation().emitError("mask-tile: unsupported head dimension ")
          << static_cast<int64_t>(headDim) << " (64, 96, 128 or 256)";
      return signalPassFailure();
    }
    if (dtype != "bf16" && dtype != "fp16") {
      getOperation().emitError("mask-tile: unsupported dtype '")
          << static_cast<std::string>(dtype) << "'";
      return signalPassFailure();
    }
    // Tiles trade shared memory (K and V tiles of BN x D, Q of BM x D) for
    // reuse. Hopper's wgmma wants BM = 128; past D = 128 the K/V tiles must
    // shrink to fit shared memory with a multi-stage pipeline.
    bool hopper = StringRef(arch).starts_with("sm_90");
    int64_t bm = 128;
    int64_t bn = headDim <= 64    ? 128
                 : headDim <= 128 ? (hopper ? 128 : 64)
                                  : 64;
    if (tileM > 0)
      bm = tileM;
    if (tileN > 0)
      bn = tileN;
    if (bm % 16 != 0 || bn % 16 != 0 || bm > 256 || bn > 256) {
      getOperation().emitError("mask-tile: tile ")
          << bm << "x" << bn << " is not a multiple of 16 up to 256";
      return signalPassFailure();
    }
    OpBuilder b(&getContext());
    getOperation().walk([&](PatternOp p) {
      p->setAttr("mask.tile", b.getDenseI64ArrayAttr({bm, bn}));
    });
  }
};

} // namespace
} // namespace maskjit::mask
