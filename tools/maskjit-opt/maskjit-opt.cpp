//===- maskjit-opt.cpp - mlir-opt with the mask dialect and passes --------===//
//
// Runs maskjit's passes on `.mlir` files, for the lit tests of each pass.
//
//===----------------------------------------------------------------------===//
#include "maskjit/compiler/Passes.h"

#include "mlir/IR/DialectRegistry.h"
#include "mlir/Tools/mlir-opt/MlirOptMain.h"
#include "mlir/Transforms/Passes.h"

int main(int argc, char **argv) {
  maskjit::mask::registerMaskjitPasses();
  mlir::registerCanonicalizerPass();
  mlir::registerCSEPass();
  mlir::DialectRegistry registry;
  registry.insert<maskjit::mask::MaskDialect, mlir::arith::ArithDialect,
                  mlir::emitc::EmitCDialect>();
  return mlir::asMainReturnCode(
      mlir::MlirOptMain(argc, argv, "maskjit optimizer driver\n", registry));
}
