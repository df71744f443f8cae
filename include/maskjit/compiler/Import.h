//===- Import.h - From the typed AST to the mask dialect --------*- C++ -*-===//
#ifndef MASKJIT_COMPILER_IMPORT_H
#define MASKJIT_COMPILER_IMPORT_H

#include "maskjit/dsl/Ast.h"

#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/IR/OwningOpRef.h"

namespace maskjit::mask {

/// Registers the dialects the compiler uses (mask, arith) in `context`.
void loadCompilerDialects(mlir::MLIRContext &context);

/// Builds a module holding `pattern` as a `mask.pattern`, with the pattern
/// calls it makes inlined. Every operation carries the source location of
/// the `.mask` text it comes from.
mlir::OwningOpRef<mlir::ModuleOp>
importPattern(mlir::MLIRContext &context, const dsl::Program &program,
              const dsl::PatternDecl &pattern,
              const dsl::SourceManager &sources);

} // namespace maskjit::mask

#endif
