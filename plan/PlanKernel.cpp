//===- PlanKernel.cpp - A checked pattern to a kernel plan ----------------===//
#include "maskjit/plan/PlanKernel.h"

#include "maskjit/codegen/BuildKernelSource.h"
#include "maskjit/codegen/RowMask.h"
#include "maskjit/compiler/MaskDialect.h"
#include "maskjit/compiler/Pipeline.h"
#include "maskjit/compiler/SymbolicSchedule.h"
#include "maskjit/dsl/Evaluator.h"

#include "mlir/Dialect/Arith/IR/Arith.h"

#include <sstream>
#include <stdexcept>

namespace maskjit::plan {

KernelPlan planKernel(const dsl::Program &program,
                      const dsl::PatternDecl &pattern,
                      const dsl::SourceManager &sources,
                      const KernelRequest &request, std::ostream &errors) {
  if (request.headDim != 64 && request.headDim != 128)
    throw std::invalid_argument(
        "the portable kernel supports head_dim 64 and 128, not " +
        std::to_string(request.headDim));
  if (request.dtype != "bf16" && request.dtype != "fp16")
    throw std::invalid_argument("dtype must be bf16 or fp16, not " +
                                request.dtype);
  codegen::KernelConfig config{request.headDim, request.dtype, request.tileM,
                               codegen::defaultKernelFamily(request.arch)};
  config.tileN = request.tileN;
  if (request.kernel == "portable")
    config.family = codegen::KernelFamily::Portable;
  else if (request.kernel == "hopper") {
    if (codegen::defaultKernelFamily(request.arch) !=
        codegen::KernelFamily::Hopper)
      throw std::invalid_argument("the Hopper kernel needs --arch sm_90a (or "
                                  "compute_90a), not " +
                                  request.arch);
    config.family = codegen::KernelFamily::Hopper;
  } else if (request.kernel != "auto")
    throw std::invalid_argument(
        "kernel must be auto, portable or hopper, not " + request.kernel);
  codegen::checkTiles(config);
  KernelPlan out;
  out.patternName = pattern.name;
  out.arch = request.arch;
  mlir::MLIRContext context;
  mask::CompileOptions opts;
  opts.constants = request.constants;
  opts.headDim = request.headDim;
  opts.dtype = request.dtype;
  opts.tileM = codegen::kernelTileM(config);
  opts.tileN = codegen::kernelTileN(config);
  std::ostringstream diagnostics;
  auto failed = [&] {
    errors << diagnostics.str();
    std::string text = diagnostics.str();
    while (!text.empty() && text.back() == '\n')
      text.pop_back();
    return std::runtime_error("the compiler failed on pattern `" +
                              pattern.name + "`:\n" + text);
  };
  // One module from import to EmitC: the schedule and the selectors are
  // read at the schedule stage, the tile chosen from them, then lowered.
  auto module = mask::compilePattern(context, program, pattern, sources, opts,
                                     mask::Stage::Schedule, diagnostics);
  if (!module)
    throw failed();
  mask::PatternOp op = *module->getOps<mask::PatternOp>().begin();
  auto sym =
      mask::fromAttr(op->getAttrOfType<mlir::DictionaryAttr>("mask.schedule"));
  if (!sym)
    throw std::runtime_error("internal error: no schedule for `" +
                             pattern.name + "`");
  out.schedule = *sym;
  for (const dsl::ParamDecl &p : pattern.params)
    out.scheduleNeedsHead |= p.type == dsl::Type::HeadArray;
  // Whether the schedule's atoms or the predicate its exact tiers read name
  // a symbol.
  auto scheduleReads = [&](const std::string &symbol) {
    for (const auto *dnf : {&out.schedule.clauses, &out.schedule.complement})
      for (const mask::SymClause &c : *dnf)
        for (const mask::SymAtom &t : c)
          for (const mask::SymExpr *e : {&t.rhs, &t.offset})
            for (auto &[name, coef] : e->terms)
              if (name == symbol)
                return true;
    for (const std::string &name : out.schedule.predicate.names)
      if (name == symbol)
        return true;
    return false;
  };
  // Per-head dispatch puts the head index in the schedule.
  out.scheduleNeedsHead |= scheduleReads("h");
  // The selectors' arguments (EmitC lowers the selector ops away).
  module->walk([&](mask::InSelectedOp sel) {
    auto count = sel.getCount().getDefiningOp<mlir::arith::ConstantIntOp>();
    auto arg = sel.getArg().getDefiningOp<mlir::arith::ConstantIntOp>();
    const std::string name = sel.getSelector().str();
    if (!count || !arg) {
      out.selectorArgsError = name + "'s arguments are not compile-time";
      return;
    }
    std::pair<int64_t, int64_t> v{count.value(), arg.value()};
    auto [it, inserted] = out.selectorArgs.emplace(name, v);
    if (!inserted && it->second != v)
      out.selectorArgsError =
          name + " is used with different arguments in one pattern";
  });
  // Block top-k in blocks smaller than 128 on Hopper: 128 x 128 tiles would
  // hold mostly pairs no query block chose; the 64 x 64 kernel visits just
  // the chosen blocks (unless the caller asked for a tile size). Dilated
  // patterns load every tile by index and mask it by the predicate, which
  // the 128 x 128 kernel cannot do without spilling registers.
  if (config.family == codegen::KernelFamily::Hopper && request.tileM == 0 &&
      request.tileN == 0 && out.selectorArgsError.empty()) {
    auto [keep, block] = out.selectorArg("topk_blocks");
    if ((keep > 0 && block % 128 != 0) ||
        mask::scheduleDilation(out.schedule) > 1) {
      config.tileM = 64;
      codegen::checkTiles(config);
    }
  }
  if (!mask::lowerScheduledPattern(*module, opts, codegen::kernelTileM(config),
                                   codegen::kernelTileN(config), diagnostics))
    throw failed();
  errors << diagnostics.str();
  std::string predicate;
  std::ostringstream cppErrors;
  if (!mask::translatePredicates(*module, predicate, cppErrors))
    throw std::runtime_error(cppErrors.str());
  // A dilated pattern runs each class of positions on its own; its tiles
  // are then not of consecutive keys, which the row mask assumes.
  config.dilation = mask::scheduleDilation(out.schedule);
  // PARTIAL tiles read bits built per schedule, whose rows are per head
  // where the schedule is, never per sequence: not for a predicate that
  // reads the batch index.
  config.tileBits = !out.schedule.predicate.empty() && !scheduleReads("b");
  // PARTIAL tiles are masked a row at a time where the DNF allows it.
  out.source = codegen::buildKernelSource(
      pattern, dsl::selectorsUsed(program, pattern), predicate, config,
      config.dilation > 1
          ? std::string()
          : codegen::rowMaskFunction(
                out.schedule, pattern, nullptr,
                {codegen::kernelTileM(config), codegen::kernelTileN(config)}));
  return out;
}

runtime::CompiledKernel compileKernel(const dsl::Program &program,
                                      const dsl::PatternDecl &pattern,
                                      const dsl::SourceManager &sources,
                                      const KernelRequest &request,
                                      std::ostream &errors, bool compile,
                                      runtime::KernelRegistry *registry) {
  KernelPlan plan = planKernel(program, pattern, sources, request, errors);
  if (!compile) {
    runtime::CompiledKernel out;
    static_cast<KernelPlan &>(out) = std::move(plan);
    return out;
  }
  return runtime::buildKernel(std::move(plan), registry);
}

} // namespace maskjit::plan
