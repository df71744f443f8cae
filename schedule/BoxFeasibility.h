//===- BoxFeasibility.h - Deciding a clause on a box of (q, k) -*- C++ -*-===//
//
// What the KV schedule's classification asks of one clause (a conjunction
// of atoms, see KvSchedule.h) on a box of rows [q0, q1] and keys [k0, k1]:
// whether it can hold somewhere, whether it holds everywhere, which keys it
// can allow. Private to schedule/ (not installed).
//
//===----------------------------------------------------------------------===//
#ifndef MASKJIT_SCHEDULE_BOXFEASIBILITY_H
#define MASKJIT_SCHEDULE_BOXFEASIBILITY_H

#include "maskjit/schedule/KvSchedule.h"

#include <cstdint>
#include <utility>

namespace maskjit::box {

/// Floor and ceiling division (b != 0); addition and multiplication
/// clamped to about +-2^61, far past any index.
int64_t floorDiv(int64_t a, int64_t b);
int64_t ceilDiv(int64_t a, int64_t b);
int64_t clampAdd(int64_t a, int64_t b);
int64_t clampMul(int64_t a, int64_t b);

enum class Feasible { No, Maybe, Yes };

/// Is some integer point of the box in the clause? Exact for atoms over q,
/// k and q - k, block terms, runs and sets; Maybe for opaque atoms.
Feasible feasible(const Clause &c, int64_t q0, int64_t q1, int64_t k0,
                  int64_t k1);
/// Does every point of the box satisfy the clause? (False when unsure.)
bool holdsEverywhere(const Clause &c, int64_t q0, int64_t q1, int64_t k0,
                     int64_t k1);

/// Block indices floor((v + off) / div) of v in [v0, v1] (one dummy block
/// when the axis has no block term).
struct BlockRange {
  int64_t lo = 0, hi = 0;
  int64_t count() const { return hi - lo + 1; }
};
BlockRange blockRange(int64_t coef, int64_t div, int64_t off, int64_t v0,
                      int64_t v1);

/// Past this many block pairs in one box, block terms are not enumerated
/// (the atom counts as unknown: sound).
constexpr int64_t kMaxBlockPairs = 4096;

/// Inclusive range [lo, hi] of a clause's keys over query rows [q0, q1]:
/// exact for atoms over q, k and q - k (others are ignored: wider, sound).
/// Empty (lo > hi) when the clause holds nowhere there.
std::pair<int64_t, int64_t> keyRange(const Clause &c, int64_t q0, int64_t q1,
                                     int64_t lk);
/// The keys k for which every plain linear atom of `c` holds at all q in
/// [q0, q1] (the gathered clause's other conditions): its source atom then
/// decides alone, and such a gathered key needs no predicate.
std::pair<int64_t, int64_t> fullKeyRange(const Clause &c, int64_t q0,
                                         int64_t q1, int64_t lk);

} // namespace maskjit::box

#endif
