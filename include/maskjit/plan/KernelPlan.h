//===- KernelPlan.h - What the compiler hands the runtime ---------*- C++
//-*-===//
//
// A pattern compiled for one configuration, short of its binary: the
// kernel's CUDA source with its argument layout (codegen::KernelSource),
// the symbolic KV schedule the launcher binds per shape, and what a launch
// must know of the selectors. The runtime builds the binary from it
// (runtime::buildKernel) and launches it; it never sees the AST. Plain
// C++: no MLIR, no front end.
//
//===----------------------------------------------------------------------===//
#ifndef MASKJIT_PLAN_KERNELPLAN_H
#define MASKJIT_PLAN_KERNELPLAN_H

#include "maskjit/codegen/KernelSource.h"
#include "maskjit/schedule/ScheduleBinding.h"

#include <cstdint>
#include <map>
#include <string>
#include <utility>

namespace maskjit::plan {

struct KernelPlan {
  std::string patternName; ///< For messages.
  std::string arch;        ///< sm_XX gives a cubin; compute_XX PTX only.
  codegen::KernelSource source;
  mask::SymbolicSchedule schedule;
  bool scheduleNeedsHead = false; ///< Per-head values: one schedule per head.
  /// The two arguments of each selector the pattern uses (count, and
  /// last_q or block), when they are compile-time values; a launch without
  /// chosen sets estimates them on the GPU with these.
  std::map<std::string, std::pair<int64_t, int64_t>> selectorArgs;
  std::string selectorArgsError; ///< Why they are unknown, if they are.
  /// A selector's arguments; (0, 0) when the pattern does not use it.
  std::pair<int64_t, int64_t> selectorArg(const std::string &name) const {
    auto it = selectorArgs.find(name);
    return it == selectorArgs.end() ? std::pair<int64_t, int64_t>{0, 0}
                                    : it->second;
  }
};

} // namespace maskjit::plan

#endif
