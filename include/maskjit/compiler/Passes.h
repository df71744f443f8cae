//===- Passes.h - maskjit compiler passes -----------------------*- C++ -*-===//
#ifndef MASKJIT_COMPILER_PASSES_H
#define MASKJIT_COMPILER_PASSES_H

#include "maskjit/compiler/MaskDialect.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/EmitC/IR/EmitC.h"
#include "mlir/Pass/Pass.h"

#include <cstdint>
#include <map>
#include <memory>
#include <string>

namespace maskjit::mask {

#define GEN_PASS_DECL
#include "maskjit/compiler/Passes.h.inc"

#define GEN_PASS_REGISTRATION
#include "maskjit/compiler/Passes.h.inc"

/// mask-specialize with typed values (the pipeline's way; the textual
/// `bindings` option serves pass pipelines written as text).
std::unique_ptr<mlir::Pass>
createMaskSpecialize(const std::map<std::string, int64_t> &constants,
                     int64_t head);

} // namespace maskjit::mask

#endif
