//===- Pipeline.h - The compiler's pass pipeline ----------------*- C++ -*-===//
#ifndef MASKJIT_COMPILER_PIPELINE_H
#define MASKJIT_COMPILER_PIPELINE_H

#include "maskjit/dsl/Ast.h"

#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/IR/OwningOpRef.h"

#include <cstdint>
#include <iosfwd>
#include <optional>
#include <string>
#include <vector>

namespace maskjit::mask {

/// How far to run the pipeline (each stage includes the ones before it).
enum class Stage { Mlir, Specialized, Tiled, Schedule, EmitC };
std::optional<Stage> parseStage(const std::string &name);
/// Names accepted by parseStage, in pipeline order.
const std::vector<std::string> &stageNames();

struct CompileOptions {
  /// Values of compile-time params.
  std::map<std::string, int64_t> constants;
  int64_t head = -1; ///< Resolve per-head dispatch for this head (-1: keep).
  int64_t headDim = 128;
  std::string dtype = "bf16";
  std::string arch = "sm_90a";
  int64_t tileM = 0, tileN = 0; ///< 0: chosen by mask-tile.
  bool printIrAfterAll = false;
};

/// Imports `pattern` and runs the passes up to `stage`. MLIR diagnostics go
/// to `errors` as `file:line:col: error: ...`. Returns null on failure.
mlir::OwningOpRef<mlir::ModuleOp>
compilePattern(mlir::MLIRContext &context, const dsl::Program &program,
               const dsl::PatternDecl &pattern,
               const dsl::SourceManager &sources, const CompileOptions &options,
               Stage stage, std::ostream &errors);

/// Takes a module compilePattern ran to Stage::Schedule the rest of the
/// way: the tile chosen for the kernel (mask-tile with it forced), then the
/// predicate to EmitC. The same module all along: what the schedule and
/// the selectors said stays readable before this call. False (diagnostics
/// on `errors`) on failure.
bool lowerScheduledPattern(mlir::ModuleOp module, const CompileOptions &options,
                           int64_t tileM, int64_t tileN, std::ostream &errors);

/// The C++ of every `emitc.func` of `module` (the predicates), or false
/// with a message in `errors`.
bool translatePredicates(mlir::ModuleOp module, std::string &out,
                         std::ostream &errors);

} // namespace maskjit::mask

#endif
