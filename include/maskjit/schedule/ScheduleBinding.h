//===- ScheduleBinding.h - From the symbolic schedule to kernel tables -*- C++
//-*-===//
//
// The KV schedule as `mask-classify-tiles` leaves it (a DNF of linear atoms
// whose right-hand sides are affine in symbols that stay unknown until
// launch: Lq, Lk, h, b and runtime params), binding it for one shape, and
// the tables the attention kernels read. Plain C++ with no MLIR: the JIT
// runtime uses it, and so do the kernels `maskc aot` writes (they link
// the installed libmaskjit_schedule.a).
//
//===----------------------------------------------------------------------===//
#ifndef MASKJIT_SCHEDULE_SCHEDULEBINDING_H
#define MASKJIT_SCHEDULE_SCHEDULEBINDING_H

#include "maskjit/schedule/KvSchedule.h"

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace maskjit::mask {

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
  /// `k in set` (`q - k in set` when `setOnDiagonal`): the set is a
  /// selector's choice (`topk_columns`, `topk_diagonals`) or a runtime
  /// array, named here and bound at launch.
  std::string setName;
  bool setOnDiagonal = false;
  /// With setBlock > 0: `k / setBlock in set(q / setBlock)`, a set of key
  /// blocks for each query block (`topk_blocks`).
  int64_t setBlock = 0;
  bool negated = false;
  /// With residue > 0 (an opaque atom): `q ≡ k (mod residue)` (or, when
  /// `negated`, not), as a dilated pattern's `(q - k) % d == 0` says. The
  /// schedule treats it as opaque; a pattern all of whose clauses require it
  /// runs as `residue` separate problems, one per class of positions
  /// (scheduleDilation, residueSchedule).
  int64_t residue = 0;
  /// For an opaque atom: where its comparison is in the source
  /// (file:line:col), for remarks; empty when not known.
  std::string where;
  /// An opaque atom standing for a sub-expression whose DNF grew past the
  /// budget (`where` is that `and`, `or` or `if`).
  bool overBudget = false;
};
using SymClause = std::vector<SymAtom>;

struct SymbolicSchedule {
  std::vector<SymClause> clauses;
  std::vector<SymClause> complement;
  bool hasComplement = true;
  /// The mask itself, for the tiles the clauses leave PARTIAL.
  PredicateProgram predicate;
};

/// The symbol values of head `h`: `values`, h itself, b = 0, and the
/// head's own values from `perHead` (may be shorter than the heads). Those
/// come last, so they may set h and b too: a schedule row per (sequence,
/// head) of a batch binds its own head and sequence that way.
inline std::map<std::string, int64_t>
headValues(const std::map<std::string, int64_t> &values,
           const std::vector<std::map<std::string, int64_t>> &perHead, int h) {
  std::map<std::string, int64_t> bound = values;
  bound["h"] = h;
  bound["b"] = 0;
  if (h >= 0 && h < static_cast<int>(perHead.size()))
    for (auto &[name, v] : perHead[h])
      bound[name] = v;
  return bound;
}

/// Sets chosen per query block (topk_blocks) in the flat form the `arrays`
/// of bindSchedule and buildKernelTables carry them in: the number of
/// query blocks, then for each its count of key blocks and those.
std::vector<int64_t>
flattenBlockSets(const std::vector<std::vector<int64_t>> &rows);

/// The first pair of the shape at which the reference evaluator would stop
/// (division or modulo by zero, overflow, an array read out of range) with
/// these values, as `file:line:col: what at q=.., k=..`; nothing when there
/// is none, when the pattern has no predicate program or a value is not
/// given, or when the search runs out of its budget (a mask whose traps
/// hide that well is compiled as the kernels compute it).
std::optional<std::string>
predicateTrap(const SymbolicSchedule &s,
              const std::map<std::string, int64_t> &values, int64_t lq,
              int64_t lk,
              const std::map<std::string, std::vector<int64_t>> &arrays);

/// Binds the symbols. `values` must hold every symbol used (Lq and Lk are
/// taken from the shape); a missing one is reported in `error`, and so is
/// a pair at which the pattern traps (predicateTrap).
std::optional<KvSchedule>
bindSchedule(const SymbolicSchedule &s,
             const std::map<std::string, int64_t> &values, int64_t lq,
             int64_t lk, int64_t tileQ, int64_t tileK, std::string &error,
             const std::map<std::string, std::vector<int64_t>> &arrays = {});

/// The d of a pattern all of whose clauses require `q ≡ k (mod d)` (a
/// dilated window or neighbourhood), else 1: its allowed pairs lie within
/// the d classes of positions r, r + d, r + 2d, ..., and the kernels run
/// each class as a problem of its own, in which the dilation is gone and
/// the mask's tiles are FULL, PARTIAL or EMPTY as in an undilated one.
/// Patterns with runtime sets or arrays keep 1.
int64_t scheduleDilation(const SymbolicSchedule &s);

/// The schedule of class `r` of `s` under dilation `d`: query i and key j
/// stand for positions r + d*i and r + d*j. Linear atoms are rewritten
/// exactly (block terms when d divides their divisor), the atoms `q ≡ k
/// (mod d)` are dropped (true), clauses that deny it too (false), and
/// anything else becomes opaque (sound).
KvSchedule residueSchedule(const KvSchedule &s, int64_t d, int64_t r);

/// How a gathered key is stored in the kernel tables: as itself when every
/// query row of its tile may see it (no predicate), else as -(key + 2),
/// which keeps -1 free for the kernels' padding.
inline int gatheredPartialKey(int key) { return -key - 2; }

/// A bound schedule in the form the kernels read, for every query tile of
/// one or more heads: CSR tables of key-tile segments (begin, end, full?)
/// and of gathered keys, per query tile those every row may see first, in
/// key order, then the others (see gatheredPartialKey), in key order.
struct KernelTables {
  std::vector<int> segPtr, segs, gatherPtr, gatherKeys;
  int heads = 1; ///< Schedules in the tables (one, or one per head).
  /// Classes of positions per head (scheduleDilation): the tables hold, for
  /// each head, one schedule per class r in [0, dilation), whose query and
  /// key tiles are of positions r + dilation * i. Each has `queryTiles`
  /// query tiles (classes with fewer end with empty ones).
  int dilation = 1;
  int queryTiles = 0;
  int64_t visitedTiles = 0, gatheredKeys = 0;
};

/// Kernel tables read key-tile-major, the order of a backward pass (dK and
/// dV accumulate per key tile, each key tile visiting its query tiles):
/// for each schedule (head and class, as in KernelTables) and key tile,
/// the query tiles whose segments hold it, in query order, with their FULL
/// flag; and the gathered keys that fall in it, with the query tile that
/// gathers them, in query order, each stored as in `gatherKeys` (itself or
/// gatheredPartialKey). Built from the forward tables, so the two passes
/// visit the same (query, key) pairs.
struct KeyMajorTables {
  int schedules = 0, keyTiles = 0;
  /// Index s * keyTiles + kt: [tilePtr[i], tilePtr[i + 1]) in `tiles`.
  std::vector<int> tilePtr;
  std::vector<int> tiles; ///< Pairs (query tile, full 0 or 1).
  /// Index as tilePtr: [gatherPtr[i], gatherPtr[i + 1]) in `gathers`.
  std::vector<int> gatherPtr;
  std::vector<int> gathers; ///< Pairs (query tile, stored key).
};

/// The key-major form of `t`, for keys in tiles of `tileK` over `lk` keys
/// (for a dilated schedule, its class's positions count as keys).
KeyMajorTables keyMajorTables(const KernelTables &t, int64_t tileK, int64_t lk);

/// What a key-tile-major backward pass visits: for each schedule and key
/// tile (index s * keyTiles + kt), the query tiles paired with it, each
/// (query tile << 1) | full, in query order, once: those whose segments
/// hold the key tile (with their FULL flag) and those that gather one of
/// its keys (PARTIAL: the pass runs the predicate over the whole pair of
/// tiles, which visits exactly the allowed pairs the forward visits).
struct KeyTileVisits {
  int schedules = 0, keyTiles = 0;
  std::vector<int> ptr; ///< schedules * keyTiles + 1 offsets into `visits`.
  std::vector<int> visits;
};
KeyTileVisits keyTileVisits(const KernelTables &t, int64_t tileK, int64_t lk);

/// A text equal for two bound schedules only when their tables and masks
/// are the same (heads of `h % 8` alike); empty when that cannot be told
/// cheaply (sets, runs, chosen blocks, arrays, opaque atoms without the
/// predicate).
std::string scheduleFingerprint(const KvSchedule &s);

/// Binds `s` for each head in [0, heads) (`h` and the per-head values
/// differ) and appends its tables (per class of positions when
/// scheduleDilation(s) > 1). `perHead` gives, for each head, the
/// values of the symbols that depend on it (may be empty for all heads);
/// `perHeadArrays` the sets a head chose for itself (they replace those of
/// `arrays` with the same name).
/// Returns false with `error` on a missing symbol.
bool buildKernelTables(
    const SymbolicSchedule &s, const std::map<std::string, int64_t> &values,
    const std::vector<std::map<std::string, int64_t>> &perHead, int heads,
    int64_t lq, int64_t lk, int64_t tileQ, int64_t tileK,
    const std::map<std::string, std::vector<int64_t>> &arrays,
    KernelTables &out, std::string &error,
    const std::vector<std::map<std::string, std::vector<int64_t>>>
        &perHeadArrays = {});

/// How a K or V tensor is described to the TMA: 4 dimensions, head_dim
/// first, then sequence, head and batch in increasing stride, a box of 64
/// columns by one key tile; `seqDim`, `headDim`, `batchDim` say where each
/// went (1..3).
struct TmaLayout {
  uint64_t extents[4];
  uint64_t strideBytes[3];
  uint32_t box[4];
  int seqDim, headDim, batchDim;
};
/// `strides` are element strides of batch, sequence and head (16-bit
/// elements).
TmaLayout tmaLayout(int64_t lk, int64_t kvHeads, int64_t batch,
                    const int64_t strides[3], int64_t headDimSize,
                    int64_t tileK);

} // namespace maskjit::mask

#endif
