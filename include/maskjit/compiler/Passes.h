//===- Passes.h - maskjit compiler passes -----------------------*- C++ -*-===//
#ifndef MASKJIT_COMPILER_PASSES_H
#define MASKJIT_COMPILER_PASSES_H

#include "maskjit/compiler/MaskDialect.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/EmitC/IR/EmitC.h"
#include "mlir/Pass/Pass.h"

#include <memory>

namespace maskjit::mask {

#define GEN_PASS_DECL
#include "maskjit/compiler/Passes.h.inc"

#define GEN_PASS_REGISTRATION
#include "maskjit/compiler/Passes.h.inc"

} // namespace maskjit::mask

#endif
