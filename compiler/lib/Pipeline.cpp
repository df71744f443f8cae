//===- Pipeline.cpp - The compiler's pass pipeline ------------------------===//
#include "maskjit/compiler/Pipeline.h"
#include "maskjit/compiler/Import.h"
#include "maskjit/compiler/Passes.h"

#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/Verifier.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Target/Cpp/CppEmitter.h"
#include "mlir/Transforms/Passes.h"
#include "llvm/Support/raw_ostream.h"

#include <ostream>

namespace maskjit::mask {

const std::vector<std::string> &stageNames() {
  static const std::vector<std::string> names = {"mlir", "specialized", "tiled",
                                                 "schedule", "emitc"};
  return names;
}

std::optional<Stage> parseStage(const std::string &name) {
  if (name == "mlir")
    return Stage::Mlir;
  if (name == "specialized")
    return Stage::Specialized;
  if (name == "tiled")
    return Stage::Tiled;
  if (name == "schedule")
    return Stage::Schedule;
  if (name == "emitc")
    return Stage::EmitC;
  return std::nullopt;
}

namespace {
/// MLIR diagnostics reported in the same form as the front end's, while
/// it lives.
class DiagnosticsTo {
public:
  DiagnosticsTo(mlir::MLIRContext &context, std::ostream &errors)
      : handler(&context, [&errors](mlir::Diagnostic &diag) {
          if (auto loc =
                  mlir::dyn_cast<mlir::FileLineColLoc>(diag.getLocation()))
            errors << loc.getFilename().str() << ':' << loc.getLine() << ':'
                   << loc.getColumn() << ": ";
          else
            errors << "maskc: ";
          errors << (diag.getSeverity() == mlir::DiagnosticSeverity::Error
                         ? "error: "
                         : "note: ")
                 << diag.str() << '\n';
          return mlir::success();
        }) {}

private:
  mlir::ScopedDiagnosticHandler handler;
};
} // namespace

mlir::OwningOpRef<mlir::ModuleOp>
compilePattern(mlir::MLIRContext &context, const dsl::Program &program,
               const dsl::PatternDecl &pattern,
               const dsl::SourceManager &sources, const CompileOptions &options,
               Stage stage, std::ostream &errors) {
  (void)sources;
  DiagnosticsTo handler(context, errors);
  mlir::OwningOpRef<mlir::ModuleOp> module =
      importPattern(context, program, pattern, sources);
  if (mlir::failed(mlir::verify(*module)))
    return nullptr;
  if (stage == Stage::Mlir)
    return module;

  mlir::PassManager pm(&context);
  if (options.printIrAfterAll) {
    context.disableMultithreading();
    pm.enableIRPrinting([](mlir::Pass *, mlir::Operation *) { return false; },
                        [](mlir::Pass *, mlir::Operation *) { return true; },
                        /*printModuleScope=*/true,
                        /*printAfterOnlyOnChange=*/false);
  }
  pm.addPass(createMaskSpecialize(options.constants, options.head));
  pm.addPass(mlir::createCSEPass());
  if (stage >= Stage::Tiled) {
    MaskTileOptions tile;
    tile.headDim = options.headDim;
    tile.dtype = options.dtype;
    tile.arch = options.arch;
    tile.tileM = options.tileM;
    tile.tileN = options.tileN;
    pm.addPass(createMaskTile(tile));
  }
  if (stage >= Stage::Schedule)
    pm.addPass(createMaskClassifyTiles());
  if (stage >= Stage::EmitC) {
    pm.addPass(createMaskLowerToEmitC());
    pm.addPass(mlir::createCSEPass());
  }
  if (mlir::failed(pm.run(*module)))
    return nullptr;
  return module;
}

bool lowerScheduledPattern(mlir::ModuleOp module, const CompileOptions &options,
                           int64_t tileM, int64_t tileN, std::ostream &errors) {
  DiagnosticsTo handler(*module.getContext(), errors);
  mlir::PassManager pm(module.getContext());
  MaskTileOptions tile;
  tile.headDim = options.headDim;
  tile.dtype = options.dtype;
  tile.arch = options.arch;
  tile.tileM = tileM;
  tile.tileN = tileN;
  pm.addPass(createMaskTile(tile));
  pm.addPass(createMaskLowerToEmitC());
  pm.addPass(mlir::createCSEPass());
  return mlir::succeeded(pm.run(module));
}

bool translatePredicates(mlir::ModuleOp module, std::string &out,
                         std::ostream &errors) {
  llvm::raw_string_ostream os(out);
  bool ok = true;
  module.walk([&](mlir::emitc::FuncOp fn) {
    if (mlir::failed(mlir::emitc::translateToCpp(fn, os))) {
      errors << "maskc: error: cannot print " << fn.getSymName().str()
             << " as C++\n";
      ok = false;
    }
    os << "\n";
  });
  return ok;
}

} // namespace maskjit::mask
