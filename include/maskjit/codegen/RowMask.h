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

#include "maskjit/dsl/Ast.h"
#include "maskjit/schedule/ScheduleBinding.h"

#include <string>

namespace maskjit::codegen {

/// The kernel's tile, when known (0: unknown).
struct RowMaskTiles {
  int64_t tileM = 0, tileN = 0;
};

/// Whether the schedule alone decides atom `t` on every tile a kernel with
/// `tiles` visits: a chosen-block atom (`k / block in topk_blocks`, not
/// negated) that is the DNF's only way in (one clause), over blocks that
/// tiles divide on both sides, so that a tile is one (query block, key
/// block) pair and is visited only if that key block was chosen.
bool blockAtomDecidedBySchedule(const mask::SymbolicSchedule &schedule,
                                const mask::SymAtom &t, RowMaskTiles tiles);

/// The row-mask function (it follows the kernel prelude and the predicate,
/// and needs the helpers of codegen/kernels/row_mask.cuh); empty, with the
/// reason in `whyNot`, when some atom has no row form: an opaque atom, a
/// block term (chunks), a comparison of runtime-array values (documents),
/// or a symbol the kernel does not know. An atom the schedule decides
/// (above) is left out (a comment says so): no bitmap load per PARTIAL row.
std::string rowMaskFunction(const mask::SymbolicSchedule &schedule,
                            const dsl::PatternDecl &pattern,
                            std::string *whyNot = nullptr,
                            RowMaskTiles tiles = {});

} // namespace maskjit::codegen

#endif
