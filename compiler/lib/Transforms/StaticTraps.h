//===- StaticTraps.h - Traps fixed by the compile-time values ---*- C++ -*-===//
#ifndef MASKJIT_COMPILER_TRANSFORMS_STATICTRAPS_H
#define MASKJIT_COMPILER_TRANSFORMS_STATICTRAPS_H

#include "maskjit/compiler/MaskDialect.h"

#include "mlir/Support/LogicalResult.h"

namespace maskjit::mask {

/// Reports (as an error on the operation) the first division by zero or
/// overflow that the pattern's constants make certain wherever the
/// reference evaluator would reach it. Runs on the specialized pattern
/// before any folding.
mlir::LogicalResult checkStaticTraps(PatternOp pattern);

} // namespace maskjit::mask

#endif
