//===- PlanKernel.h - A checked pattern to a kernel plan ----------*- C++
//-*-===//
//
// The compile side's last stage: runs the MLIR pipeline on a pattern,
// reads its schedule and selectors, chooses the kernel's tiles, and builds
// the kernel source: a plan::KernelPlan. compileKernel adds the binary
// (runtime::buildKernel). Everything that reads the AST for a kernel is
// here or before; the runtime takes the plan.
//
//===----------------------------------------------------------------------===//
#ifndef MASKJIT_PLAN_PLANKERNEL_H
#define MASKJIT_PLAN_PLANKERNEL_H

#include "maskjit/dsl/Ast.h"
#include "maskjit/dsl/Source.h"
#include "maskjit/plan/KernelPlan.h"
#include "maskjit/runtime/Attention.h"

#include <iosfwd>
#include <map>
#include <string>
#include <vector>

namespace maskjit::plan {

struct KernelRequest {
  std::map<std::string, int64_t> constants; ///< Compile-time params.
  int64_t headDim = 128;
  std::string dtype = "bf16";
  std::string arch = "sm_90a"; ///< sm_XX gives a cubin; compute_XX PTX only.
  /// Query rows per CTA: 0 (auto: 64 on the portable kernel; 128 on Hopper,
  /// 64 for block top-k in blocks under 128), 64 or 128. Hopper tiles are
  /// square unless tileN says 64 with 128 rows.
  int64_t tileM = 0;
  /// auto (Hopper kernel on sm_90a, portable elsewhere), portable or hopper.
  std::string kernel = "auto";
  /// Keys per tile: 0 (64 portable; on Hopper square tiles), or 64 with
  /// tileM 128 on Hopper (see codegen::KernelConfig::tileN).
  int64_t tileN = 0;
};

/// Runs the compiler to the predicate and the schedule and builds the
/// kernel source. Compiler diagnostics go to `errors`; failures throw
/// (std::invalid_argument for a bad request).
KernelPlan planKernel(const dsl::Program &program,
                      const dsl::PatternDecl &pattern,
                      const dsl::SourceManager &sources,
                      const KernelRequest &request, std::ostream &errors);

/// planKernel, then (when `compile`) runtime::buildKernel through
/// `registry`; without `compile` the result has no binary.
runtime::CompiledKernel
compileKernel(const dsl::Program &program, const dsl::PatternDecl &pattern,
              const dsl::SourceManager &sources, const KernelRequest &request,
              std::ostream &errors, bool compile = true,
              runtime::KernelRegistry *registry = nullptr);

} // namespace maskjit::plan

#endif
