//===- KernelSchedule.h - The schedule a launch would bind ------*- C++ -*-===//
#ifndef MASKJIT_TOOLS_MASKC_KERNELSCHEDULE_H
#define MASKJIT_TOOLS_MASKC_KERNELSCHEDULE_H

#include "Inputs.h"

#include "maskjit/schedule/KvSchedule.h"
#include "maskjit/schedule/ScheduleBinding.h"

#include <optional>
#include <string>

namespace maskjit::maskc {

/// The target and tile a schedule is compiled for.
struct ScheduleTarget {
  std::string tile; ///< BMxBN; empty: the tile chosen for the target.
  int64_t headDim = 128;
  std::string arch = "sm_90a";
};

/// A pattern's schedule bound to one shape, as a launch binds it.
struct KernelSchedule {
  mask::SymbolicSchedule sym;
  KvSchedule schedule;
  /// Classes of positions the kernel runs (scheduleDilation): 1 for plain
  /// tiles.
  int64_t dilation = 1;
};

/// Compiles `pattern` to its KV schedule for `target` (compile-time params
/// compiled in) and binds the runtime values, arrays and selections of
/// `mask` to it. Compile errors go to stderr and give nullopt; a value the
/// schedule needs and does not get is a UsageError; a pair where the
/// evaluator would trap is a runtime_error naming it.
std::optional<KernelSchedule>
bindKernelSchedule(const dsl::Frontend &fe, const dsl::Program &program,
                   const dsl::PatternDecl &pattern, const MaskOptions &mask,
                   const ScheduleTarget &target);

/// BMxBN as two sizes in 1..4096 (a UsageError otherwise).
std::pair<int64_t, int64_t> parseTile(const std::string &tile);

/// A UsageError when a map of BMxBN tiles over Lq x Lk is too large to
/// print or draw.
void checkTileCount(int64_t lq, int64_t lk, int64_t bm, int64_t bn);

} // namespace maskjit::maskc

#endif
