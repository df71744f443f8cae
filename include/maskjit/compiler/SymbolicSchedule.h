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

#include "maskjit/compiler/KvSchedule.h"

#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/Value.h"

#include <map>
#include <optional>
#include <string>
#include <vector>

namespace maskjit::mask {

class PatternOp;

/// c + sum(coef * symbol).
struct SymExpr {
  int64_t constant = 0;
  std::map<std::string, int64_t> terms;
};

/// `a*q + b*k <= rhs`; or, with `modulus` > 0, the congruence
/// `floormod(b*k + offset, modulus) == rhs` (a GATHER candidate); or opaque.
/// Block terms: aQ*floor((q + qOff)/qDiv) and bK*floor((k + kOff)/kDiv)
/// may be added to the left side of a linear atom (chunked patterns).
struct SymAtom {
  int64_t a = 0, b = 0;
  SymExpr rhs;
  bool opaque = false;
  int64_t modulus = 0;
  SymExpr offset;
  int64_t aQ = 0, qDiv = 0, qOff = 0;
  int64_t bK = 0, kDiv = 0, kOff = 0;
  /// `array[q] == array[k]` (`!=` when negated): a runtime array compared at
  /// the two positions (packed documents).
  std::string runArray;
  bool negated = false;
};
using SymClause = std::vector<SymAtom>;

struct SymbolicSchedule {
  std::vector<SymClause> clauses;
  std::vector<SymClause> complement;
  bool hasComplement = true;
};

/// Derives the schedule of the value `root` (an i1 of a pattern body).
SymbolicSchedule analyzeMask(mlir::Value root);

/// Attribute form, attached to mask.pattern as `mask.schedule`.
mlir::DictionaryAttr toAttr(mlir::MLIRContext *ctx, const SymbolicSchedule &s);
std::optional<SymbolicSchedule> fromAttr(mlir::DictionaryAttr attr);

/// Binds the symbols. `values` must hold every symbol used (Lq and Lk are
/// taken from the shape); a missing one is reported in `error`.
std::optional<KvSchedule>
bindSchedule(const SymbolicSchedule &s,
             const std::map<std::string, int64_t> &values, int64_t lq,
             int64_t lk, int64_t tileQ, int64_t tileK, std::string &error,
             const std::map<std::string, std::vector<int64_t>> &arrays = {});

} // namespace maskjit::mask

#endif
