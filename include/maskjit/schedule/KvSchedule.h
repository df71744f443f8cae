//===- KvSchedule.h - Which key tiles each query tile visits ----*- C++ -*-===//
//
// A pattern's mask, in the form the block-skipping kernel needs: a union
// (DNF) of clauses, each a conjunction of linear atoms `a*q + b*k <= rhs`
// plus "opaque" atoms the compiler cannot reason about (modular terms,
// selectors, array lookups). With all symbols bound (lengths, runtime params)
// it classifies any rectangle of (q, k) as FULL, PARTIAL or EMPTY:
//
//  - EMPTY when no clause is feasible in it,
//  - FULL when one clause holds everywhere in it, or when no clause of the
//    complement (the negated pattern, also in DNF) is feasible in it,
//  - PARTIAL otherwise.
//
// Feasibility is exact for atoms over q, k and q - k (interval reasoning is
// exact for those forms on integer boxes); other linear forms and opaque
// atoms make it "maybe", which only ever yields PARTIAL: the classification
// is always sound, and exact for affine patterns over q, k and q - k.
//
// The per-query-tile schedule is found without looking at every key tile:
// the class of consecutive key tiles can only change where an atom's
// boundary line crosses the query tile, so the key tiles between crossings
// form runs classified once each. Work per query tile is O(atoms x tiles a
// boundary crosses), never O(Lk).
//
//===----------------------------------------------------------------------===//
#ifndef MASKJIT_SCHEDULE_KVSCHEDULE_H
#define MASKJIT_SCHEDULE_KVSCHEDULE_H

#include "maskjit/schedule/TilePredicate.h"

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace maskjit {

/// `a*q + b*k <= rhs`; or an atom of unknown shape (`opaque`); or, with
/// `modulus` > 0, the congruence `floormod(b*k + offset, modulus) == rhs`
/// with b = +-1: the keys of an arithmetic progression.
///
/// A linear atom may also carry block terms: `aQ*floor((q + qOff)/qDiv)` and
/// `bK*floor((k + kOff)/kDiv)` on its left side (chunked attention,
/// `q / c == k / c`). Within one block of each axis they are constants, so
/// a box is split into its blocks and each part decided as a plain atom.
/// A non-decreasing runtime array (document ids of packed sequences) with
/// the index where each of its runs starts.
struct RunArray {
  std::vector<int64_t> values;
  std::vector<int64_t> starts;
  /// Builds it; null when `values` is not non-decreasing.
  static std::shared_ptr<const RunArray> make(std::vector<int64_t> values);
};

struct LinearAtom {
  int64_t a = 0, b = 0, rhs = 0;
  bool opaque = false;
  int64_t modulus = 0, offset = 0;
  int64_t aQ = 0, qDiv = 0, qOff = 0;
  int64_t bK = 0, kDiv = 0, kOff = 0;
  /// `runs[q] == runs[k]` (`!=` when `negated`): same document. On a box the
  /// values of a non-decreasing array form an interval, so feasibility is
  /// decided from four lookups.
  std::shared_ptr<const RunArray> runs;
  /// `k in set` (or `q - k in set` when `onDiagonal`; `not in` when
  /// `negated`): membership in a sorted set of indices chosen at run time
  /// (a selector's columns or diagonals, a user's index array).
  std::shared_ptr<const std::vector<int64_t>> set;
  bool onDiagonal = false;
  /// `floor(k / setBlock) in blockSets[floor(q / setBlock)]` (or `not in`):
  /// key blocks chosen for each query block, each list sorted.
  std::shared_ptr<const std::vector<std::vector<int64_t>>> blockSets;
  int64_t setBlock = 0;
  bool negated = false;
  /// An opaque atom known to be `q ≡ k (mod residue)` (`negated`: not).
  int64_t residue = 0;
  /// An opaque atom's comparison in the source (file:line:col), for
  /// remarks.
  std::string where;

  bool isCongruence() const { return modulus > 0; }
  bool hasBlocks() const { return aQ != 0 || bK != 0; }
  bool isRun() const { return runs != nullptr; }
  bool isSet() const { return set != nullptr; }
  bool isBlockSet() const { return blockSets != nullptr; }
};

/// Keys start, start + step, ..., count of them. `full`: every query row of
/// the tile may see them (the kernel skips the predicate for those keys).
struct KeyRun {
  int64_t start = 0, step = 1, count = 0;
  bool full = false;
};

struct Clause {
  std::vector<LinearAtom> atoms;
};

enum class TileKind : char { Empty = '.', Partial = 'P', Full = 'F' };

/// A run of key tiles [begin, end) of one class, for one query tile.
struct KvSegment {
  int64_t begin = 0, end = 0;
  TileKind kind = TileKind::Partial;
};

struct KvSchedule {
  std::vector<Clause> clauses;    ///< The pattern, as a DNF.
  std::vector<Clause> complement; ///< Its negation, as a DNF.
  /// False when the complement could not be built (too large): FULL is then
  /// only found from single clauses.
  bool hasComplement = true;
  int64_t lq = 0, lk = 0;
  int64_t tileQ = 128, tileK = 128;
  /// The mask's own predicate, bound (null when the pattern has none that
  /// can be bound: dynamic selectors). With it, every PARTIAL tile of the
  /// closed forms is decided again by the abstract and exact tiers
  /// (TilePredicate.h), so segments() holds exactly the tiles with an
  /// allowed pair, FULL where all are.
  std::shared_ptr<const TileMask> exactMask;
  /// What those tiers did (for remarks); shared by copies of the schedule.
  std::shared_ptr<TileDecisionStats> exactStats;

  /// Class of the rectangle [q0, q1] x [k0, k1] (inclusive bounds).
  TileKind classify(int64_t q0, int64_t q1, int64_t k0, int64_t k1) const;
  /// Class of tile (qt, kt), clipped to the in-range positions.
  TileKind classifyTile(int64_t qt, int64_t kt) const;
  /// The non-empty key-tile runs of query tile `qt`, in key order: the
  /// truth at tile granularity (congruences count as PARTIAL).
  std::vector<KvSegment> segments(int64_t qt) const;

  /// What the kernel visits for query tile `qt`: whole tiles for the clauses
  /// that are not gathered (kernelSegments), and, for clauses of the form
  /// `congruence and linear atoms` (strided columns, dilation) or `k in set
  /// and linear atoms` (chosen columns), the keys of the progression or set
  /// that lie outside those tiles (gather), in key order, each key once.
  /// Together they cover every allowed key of the tile, and every gathered key
  /// is allowed for some query of the tile; runs marked `full` are allowed
  /// for all of them.
  std::vector<KvSegment> kernelSegments(int64_t qt) const;
  /// `visited`: kernelSegments(qt) when the caller has them already.
  std::vector<KeyRun>
  gather(int64_t qt, const std::vector<KvSegment> *visited = nullptr) const;
  /// Whether clause `i` is served by gathering.
  bool isGathered(size_t i) const;

  int64_t queryTiles() const { return (lq + tileQ - 1) / tileQ; }
  int64_t keyTiles() const { return (lk + tileK - 1) / tileK; }
  /// True when the tile map is exact: every atom is linear in an exact
  /// form (q, k or q - k), or the schedule has its exactMask.
  bool exact() const;
  /// True when the closed forms alone are exact (no exactMask needed).
  bool closedFormsExact() const;
  /// True when the closed forms are exact on the clauses the kernel visits
  /// whole tiles for (the gathered ones aside): its tiles need no second
  /// look.
  bool visitedFormsExact() const;
  /// True when, with exactMask, a query tile's row is best decided by the
  /// predicate's tiers from the whole row down.
  bool refineWholeRows() const;

private:
  TileKind classifyImpl(int64_t q0, int64_t q1, int64_t k0, int64_t k1,
                        bool skipGathered) const;
  std::vector<KvSegment> segmentsImpl(int64_t qt, bool skipGathered) const;
  /// The PARTIAL segments of `in` decided again by exactMask.
  std::vector<KvSegment> refineSegments(int64_t qt,
                                        const std::vector<KvSegment> &in) const;
};

/// `{"tile":[BM,BN],"rows":["FP..",...],"kernel_tiles":[...],
/// "gathered_keys":[...]}`: the block map from the schedule's segments, then
/// per query tile how many tiles the kernel loads whole and how many keys
/// it gathers.
std::string blockRowsJson(const KvSchedule &s);
int64_t gatheredKeys(const KvSchedule &s, int64_t qt);
std::vector<std::string> blockRows(const KvSchedule &s);

} // namespace maskjit

#endif
