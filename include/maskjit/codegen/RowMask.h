//===- RowMask.h - A pattern's mask one query row at a time -----*- C++ -*-===//
//
// From the schedule's DNF (exact when none of its atoms is opaque), CUDA
// for `maskjit_row_mask<W>(q, k0, h, b, Lq, Lk, args, words)`: which of the
// keys k0 .. k0 + 32 W - 1 query row q may see, as W bit words. The kernels
// mask PARTIAL tiles with it instead of running the predicate per element.
//
//===----------------------------------------------------------------------===//
#ifndef MASKJIT_CODEGEN_ROWMASK_H
#define MASKJIT_CODEGEN_ROWMASK_H

#include "maskjit/compiler/ScheduleBinding.h"
#include "maskjit/dsl/Ast.h"

#include <string>

namespace maskjit::codegen {

/// The row-mask function (it follows the kernel prelude and the predicate,
/// and needs the helpers of codegen/kernels/row_mask.cuh); empty, with the
/// reason in `whyNot`, when some atom has no row form: an opaque atom, a
/// block term (chunks), a comparison of runtime-array values (documents),
/// or a symbol the kernel does not know.
std::string rowMaskFunction(const mask::SymbolicSchedule &schedule,
                            const dsl::PatternDecl &pattern,
                            std::string *whyNot = nullptr);

} // namespace maskjit::codegen

#endif
