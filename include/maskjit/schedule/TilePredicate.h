//===- TilePredicate.h - The mask as a program, decided over boxes -*- C++
//-*-===//
//
// The schedule's closed forms (KvSchedule's linear atoms) decide most tiles
// of most masks; what they cannot read becomes an opaque atom, and a tile
// it touches would be PARTIAL whether or not it holds an allowed pair. The
// tiers here decide those tiles exactly:
//
//  - abstract interpretation: the pattern's predicate, as a flat program
//    (PredicateProgram), evaluated once over a whole box of (q, k) pairs in
//    a domain of intervals with congruences; a box whose result is "always
//    true" or "always false" is decided without touching a pair;
//  - exact evaluation: a box still undecided is split in two along its
//    longer side, down to single pairs where needed (a single pair is the
//    program's own value, exact), and the search stops as soon as it has
//    seen an allowed and a masked pair (the tile is PARTIAL either way).
//
// The domain follows the kernels' 64-bit semantics (IntMath.h): where a
// value might overflow or divide by zero it is "any value", which only ever
// leaves a box undecided. Plain C++ with no MLIR: the runtime and the
// kernels `maskc aot` writes use it.
//
//===----------------------------------------------------------------------===//
#ifndef MASKJIT_SCHEDULE_TILEPREDICATE_H
#define MASKJIT_SCHEDULE_TILEPREDICATE_H

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace maskjit {

/// One instruction of a PredicateProgram. Operands are earlier
/// instructions' indices; `name` indexes the program's names.
enum class PredOp : int8_t {
  Const,   ///< imm
  Query,   ///< q
  Key,     ///< k
  Symbol,  ///< names[name]: Lq, Lk, h, b or a param, bound before use
  Load,    ///< names[name][a]; out of range: INT64_MIN (the kernels')
  InArray, ///< a is one of names[name]'s elements
  Add,
  Sub,
  Mul,
  Div, ///< floor division
  Mod, ///< floor modulo
  Min,
  Max,
  Lt,
  Le,
  Gt,
  Ge,
  Eq,
  Ne,
  And, ///< of booleans (0 or 1)
  Or,
  Xor,
  Select, ///< a ? b : c
  Last = Select
};

struct PredInstr {
  PredOp op = PredOp::Const;
  int32_t a = -1, b = -1, c = -1, name = -1;
  int64_t imm = 0;
};

/// The pattern's predicate as mask-classify-tiles leaves it (specialized:
/// static params are constants). Empty when the pattern uses what it cannot
/// hold (a dynamic selector).
struct PredicateProgram {
  std::vector<PredInstr> code;
  std::vector<std::string> names;
  /// The instruction whose value is the mask; -1 when there is no program.
  int32_t result = -1;
  /// The source position (file:line:col) of each instruction that came from
  /// one, for remarks; may be shorter than `code`.
  std::vector<std::string> locations;

  bool empty() const { return result < 0; }
  /// Operands in range and earlier than their user, names in range.
  bool wellFormed() const;
};

/// A value of the abstract domain: the integers x in [lo, hi] with
/// x ≡ rem (mod mod) (mod 0: the single value lo; mod 1: no congruence), or
/// any value at all (`top`). Booleans are 0 and 1.
struct AbstractInt {
  int64_t lo = 0, hi = 0;
  int64_t mod = 0, rem = 0;
  bool top = false;

  static AbstractInt constant(int64_t v) { return {v, v, 0, 0, false}; }
  static AbstractInt any() { return {0, 0, 1, 0, true}; }
  static AbstractInt range(int64_t lo, int64_t hi, int64_t mod = 1,
                           int64_t rem = 0);
  bool isConstant() const { return !top && lo == hi; }
};

/// Positions an index stands for: scale * index + offset (a class of
/// positions of a dilated pattern runs with index i at r + d*i).
struct PositionMap {
  int64_t scale = 1, offset = 0;
};

/// How a box was decided, for remarks: by the abstract domain at the first
/// look, or by splitting (the exact evaluation).
struct TileDecisionStats {
  int64_t boxes = 0;      ///< Abstract evaluations (pairs included).
  int64_t pairs = 0;      ///< Pairs whose value the domain cannot know.
  int64_t splitTiles = 0; ///< Tiles the first look left undecided.
  /// Tiles whose class the closed forms left open (PARTIAL there), and of
  /// those the ones the abstract domain decided without a single pair.
  int64_t refinedTiles = 0, domainTiles = 0;
  /// With `blame` sized to the program: per instruction, how many tiles the
  /// domain left undecided at it (a comparison whose operands' intervals
  /// meet, reached through undecided logic from the result).
  std::vector<int64_t> blame;

  void merge(const TileDecisionStats &o);
};

/// A pair at which the reference evaluator stops (division by zero,
/// overflow, an array read out of range) where the kernels would go on
/// with a made-up value.
struct PredicateTrap {
  int32_t instr = -1; ///< The trapping instruction.
  int64_t q = 0, k = 0;
  std::string what; ///< "modulo by zero", "integer overflow (a + b)", ...
};

/// The program with its symbols bound: decides boxes of (q, k).
class TileMask {
public:
  /// Binds `values` (every Symbol must be there, and Lq, Lk) and `arrays`
  /// (every Load and InArray name). Null when one is missing, with its
  /// name in `missing`.
  static std::shared_ptr<const TileMask>
  bind(const PredicateProgram &program,
       const std::map<std::string, int64_t> &values,
       const std::map<std::string, std::vector<int64_t>> &arrays,
       std::string &missing);

  /// Abstract value of the mask over q in [q0, q1], k in [k0, k1] (indices,
  /// mapped to positions by `qMap` and `kMap`).
  AbstractInt evaluate(int64_t q0, int64_t q1, int64_t k0, int64_t k1) const;

  /// The mask's value at one pair of indices into `out`; false when an
  /// operation on the way overflows or divides by zero (the abstract
  /// domain's "any value"). Cheaper than evaluate() on a one-pair box.
  bool evaluatePair(int64_t q, int64_t k, int64_t &out) const;

  /// The value of instruction `instr` (of one free of q and k: its value
  /// anywhere); `any()` when out of range or not a single value.
  AbstractInt valueOf(int32_t instr) const;

  /// Whether the box holds an allowed pair (bit 1) and a masked one (bit
  /// 2); the search stops once it has seen both. Exact (splitting down to
  /// single pairs where the domain is not precise enough) unless
  /// `pairBudget` pairs were evaluated: then 3 (PARTIAL, sound).
  int classify(int64_t q0, int64_t q1, int64_t k0, int64_t k1,
               TileDecisionStats *stats = nullptr) const;

  /// Searches q in [q0, q1], k in [k0, k1] for a pair at which an
  /// operation the reference evaluator reaches (it skips the arm of an
  /// `if` and the right side of `and`/`or` that the left side decides)
  /// traps. 1 with the first such pair in `trap`; 0 when there is none;
  /// -1 when `boxBudget` boxes did not settle it.
  int findTrap(int64_t q0, int64_t q1, int64_t k0, int64_t k1,
               PredicateTrap &trap, int64_t boxBudget = 1 << 14) const;

  /// A text equal for two bound masks only when they are the same
  /// predicate with the same values and position maps; empty when the mask
  /// reads arrays (not compared).
  std::string fingerprint() const;

  /// The same mask over the positions of one class (dilation).
  std::shared_ptr<const TileMask> mapped(PositionMap q, PositionMap k) const;

private:
  struct Array {
    std::vector<int64_t> values;
    std::vector<int64_t> sorted; ///< Without duplicates.
    std::vector<int64_t> blockMin, blockMax;
    int64_t min = 0, max = 0;
  };
  AbstractInt load(const Array &a, const AbstractInt &index) const;
  static AbstractInt contains(const Array &a, const AbstractInt &x);
  int split(int64_t q0, int64_t q1, int64_t k0, int64_t k1, int seen,
            TileDecisionStats &stats, int64_t &budget) const;
  /// `seen` with the exact value at one pair (3 when the domain cannot
  /// know it).
  int probe(int64_t q, int64_t k, int seen, TileDecisionStats &stats,
            int64_t &budget) const;
  /// split() of the two halves of a box already found undecided.
  int halves(int64_t q0, int64_t q1, int64_t k0, int64_t k1, int seen,
             TileDecisionStats &stats, int64_t &budget) const;
  /// The first instruction the evaluator reaches that may trap over the
  /// box last evaluated (values in `v`), or -1; its description in `what`.
  /// Counts in `blame` the undecided leaves under the result of the box
  /// last evaluated.
  void blameUndecided(std::vector<int64_t> &blame) const;
  int32_t firstPossibleTrap(const std::vector<AbstractInt> &v,
                            std::string &what) const;
  int searchTrap(int64_t q0, int64_t q1, int64_t k0, int64_t k1,
                 PredicateTrap &trap, int64_t &budget) const;

  std::vector<PredInstr> code_;
  std::vector<std::string> names_;
  std::vector<AbstractInt> constants_; ///< Per instruction, for Const/Symbol.
  /// Per instruction: its value is a boolean of comparisons (logic, select
  /// of booleans), whose undecided operands blameUndecided() follows.
  std::vector<uint8_t> logical_;
  std::vector<std::shared_ptr<const Array>> arrays_; ///< Per name.
  int32_t result_ = -1;
  PositionMap qMap_, kMap_;
};

} // namespace maskjit

#endif
