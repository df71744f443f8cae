//===- SetSchedule.h - Schedules of set patterns, built on the GPU -*- C++
//-*-===//
//
// Patterns whose sets are chosen at run time (vertical-slash: `causal and
// (k in topk_columns(..) or q - k in topk_diagonals(..))`) need new tables
// every time the sets change. The host does the part that does not depend on
// the sets, once per shape: it binds every clause's linear atoms for each
// head and builds the tables of the clauses without sets. The GPU then adds
// the sets' keys for each (head, query tile) (runtime/GpuScheduleBuilder):
// the tiles a chosen diagonal crosses become PARTIAL tiles, the chosen
// columns outside the visited tiles become gathered keys.
//
// A clause qualifies when it is a conjunction of plain linear atoms
// (`a*q + b*k <= rhs`, no block terms) and at most one set atom `k in S` or
// `q - k in S`; a head may have at most one column clause. Other patterns
// keep the host build.
//
//===----------------------------------------------------------------------===//
#ifndef MASKJIT_SCHEDULE_SETSCHEDULE_H
#define MASKJIT_SCHEDULE_SETSCHEDULE_H

#include "maskjit/schedule/ScheduleBinding.h"

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace maskjit::mask {

/// `a*q + b*k <= rhs`, bound for one head.
struct BoundAtom {
  int64_t a = 0, b = 0, rhs = 0;
};

/// `atoms and k in sets[set]` (`q - k in sets[set]` when `diagonal`).
struct BoundSetClause {
  bool diagonal = false;
  int set = 0;
  std::vector<BoundAtom> atoms;
};

struct SetSchedulePlan {
  /// The clauses without sets, as tables (one schedule per head).
  KernelTables staticTables;
  /// The set clauses that can hold for each head (a clause whose head
  /// conditions fail is left out).
  std::vector<std::vector<BoundSetClause>> heads;
  /// Names of the sets the clauses refer to, by index.
  std::vector<std::string> setNames;
  /// A pattern whose every clause has `k / block in blockSet(q / block)`
  /// (block top-k): the static tables are those of the clauses without it,
  /// and the GPU keeps their tiles that a chosen block touches (FULL only
  /// where every row's block chose every key block). Empty otherwise.
  std::string blockSet;
  int64_t block = 0;
  int64_t lq = 0, lk = 0, tileQ = 0, tileK = 0;
};

/// The plan for `heads` heads, or nullopt with `whyNot` when the pattern
/// does not qualify, and with `error` (also nullopt) when a symbol has no
/// value.
std::optional<SetSchedulePlan>
planSetSchedule(const SymbolicSchedule &s,
                const std::map<std::string, int64_t> &values,
                const std::vector<std::map<std::string, int64_t>> &perHead,
                int heads, int64_t lq, int64_t lk, int64_t tileQ, int64_t tileK,
                std::string &whyNot, std::string &error);

/// Whether two tables of the same schedule visit the same key tiles and
/// gather the same keys (same order, same full flags), tile kinds aside
/// where `approx` may call PARTIAL a tile `exact` calls FULL (never the
/// reverse). Empty when they agree, else what differs first.
std::string compareTables(const KernelTables &exact, const KernelTables &approx,
                          int64_t keyTiles);

} // namespace maskjit::mask

#endif
