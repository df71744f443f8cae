//===- SymbolicSchedule.h - The KV schedule before symbols are bound -*- C++
//-*-===//
//
// What `mask-classify-tiles` derives from a specialized pattern: the mask as
// a DNF of linear atoms whose right-hand sides are affine in the symbols
// that stay unknown until launch (Lq, Lk, h, b and runtime params). Binding
// the symbols gives a KvSchedule; nothing here is O(S).
//
//===----------------------------------------------------------------------===//
#ifndef MASKJIT_COMPILER_SYMBOLICSCHEDULE_H
#define MASKJIT_COMPILER_SYMBOLICSCHEDULE_H

#include "maskjit/schedule/ScheduleBinding.h"

#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/Value.h"
#include "llvm/ADT/DenseMap.h"

#include <map>
#include <optional>
#include <string>
#include <vector>

namespace maskjit::mask {

class PatternOp;

/// Derives the schedule of the value `root` (an i1 of a pattern body).
SymbolicSchedule analyzeMask(mlir::Value root);

/// The value `root` as a flat program (empty when it uses a dynamic
/// selector or an operation the program cannot hold).
/// `index`, when given, receives each value's instruction.
PredicateProgram
buildPredicateProgram(mlir::Value root,
                      llvm::DenseMap<mlir::Value, int32_t> *index = nullptr);
/// Per instruction: whether its value depends on q or k (or an array).
std::vector<bool> readsPairs(const PredicateProgram &p);
mlir::DictionaryAttr predicateAttr(mlir::MLIRContext *ctx,
                                   const PredicateProgram &p);
std::optional<PredicateProgram> predicateFromAttr(mlir::DictionaryAttr attr);

/// Attribute form, attached to mask.pattern as `mask.schedule`.
mlir::DictionaryAttr toAttr(mlir::MLIRContext *ctx, const SymbolicSchedule &s);
std::optional<SymbolicSchedule> fromAttr(mlir::DictionaryAttr attr);

} // namespace maskjit::mask

#endif
