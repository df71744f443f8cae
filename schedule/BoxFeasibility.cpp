//===- BoxFeasibility.cpp - Deciding a clause on a box of (q, k) ----------===//
//
// Interval reasoning over q, k and q - k, block terms split into the pairs
// of blocks a box spans, runs, sets and chosen blocks: what KvSchedule's
// classification asks of one clause on one box.
//
//===----------------------------------------------------------------------===//
#include "BoxFeasibility.h"

#include <algorithm>
#include <limits>

namespace maskjit::box {
constexpr int64_t kInf = std::numeric_limits<int64_t>::max() / 4;

int64_t floorDiv(int64_t a, int64_t b) {
  int64_t q = a / b;
  return (a % b != 0 && ((a < 0) != (b < 0))) ? q - 1 : q;
}
int64_t ceilDiv(int64_t a, int64_t b) { return -floorDiv(-a, b); }
int64_t clampAdd(int64_t a, int64_t b) {
  int64_t r;
  if (__builtin_add_overflow(a, b, &r))
    return (b > 0) ? kInf : -kInf;
  return std::clamp(r, -kInf, kInf);
}
int64_t clampMul(int64_t a, int64_t b) {
  int64_t r;
  if (__builtin_mul_overflow(a, b, &r))
    return ((a > 0) == (b > 0)) ? kInf : -kInf;
  return std::clamp(r, -kInf, kInf);
}

/// max of a*q + b*k over the box.
static int64_t maxOver(const LinearAtom &t, int64_t q0, int64_t q1, int64_t k0,
                       int64_t k1) {
  return clampAdd(clampMul(t.a, t.a >= 0 ? q1 : q0),
                  clampMul(t.b, t.b >= 0 ? k1 : k0));
}
static int64_t minOver(const LinearAtom &t, int64_t q0, int64_t q1, int64_t k0,
                       int64_t k1) {
  return clampAdd(clampMul(t.a, t.a >= 0 ? q0 : q1),
                  clampMul(t.b, t.b >= 0 ? k0 : k1));
}

namespace {
/// Interval bounds on q, k and d = q - k, tightened atom by atom. Exact for
/// atoms over those three forms; other atoms are left to the caller.
struct Bounds {
  int64_t ql, qh, kl, kh, dl = -kInf, dh = kInf;

  /// Returns false when `t` is not over q, k or q - k alone.
  bool tighten(const LinearAtom &t) {
    if (t.b == 0 && t.a != 0) {
      if (t.a > 0)
        qh = std::min(qh, floorDiv(t.rhs, t.a));
      else
        ql = std::max(ql, ceilDiv(t.rhs, t.a));
    } else if (t.a == 0 && t.b != 0) {
      if (t.b > 0)
        kh = std::min(kh, floorDiv(t.rhs, t.b));
      else
        kl = std::max(kl, ceilDiv(t.rhs, t.b));
    } else if (t.a == -t.b && t.a != 0) {
      // a*(q - k) <= rhs.
      if (t.a > 0)
        dh = std::min(dh, floorDiv(t.rhs, t.a));
      else
        dl = std::max(dl, ceilDiv(t.rhs, t.a));
    } else {
      return false;
    }
    return true;
  }
  bool emptyAxes() const { return ql > qh || kl > kh || dl > dh; }
};
} // namespace

/// How many elements of a sorted set lie in [lo, hi].
static int64_t countIn(const std::vector<int64_t> &s, int64_t lo, int64_t hi) {
  if (lo > hi)
    return 0;
  return std::upper_bound(s.begin(), s.end(), hi) -
         std::lower_bound(s.begin(), s.end(), lo);
}

/// Whether a set atom can hold (`all` false) or holds everywhere (`all`
/// true) on the values its index takes: k in [kl, kh], or q - k in
/// [dl, dh].
static bool setAtomOn(const LinearAtom &t, int64_t lo, int64_t hi, bool all) {
  const int64_t n = countIn(*t.set, lo, hi), width = hi - lo + 1;
  if (lo > hi)
    return all;
  const bool some = n > 0, every = n == width;
  if (!t.negated)
    return all ? every : some;
  return all ? !some : !every;
}

/// Whether a block-set atom can hold (`all` false) or holds everywhere
/// (`all` true) on rows [q0, q1] and keys [k0, k1]: the few query blocks
/// of the rows, each against the key blocks of the keys.
static bool blockSetOn(const LinearAtom &t, int64_t q0, int64_t q1, int64_t k0,
                       int64_t k1, bool all) {
  if (q0 > q1 || k0 > k1)
    return all;
  const std::vector<std::vector<int64_t>> &rows = *t.blockSets;
  const int64_t b = t.setBlock, kb0 = floorDiv(k0, b), kb1 = floorDiv(k1, b);
  bool some = false, every = true;
  for (int64_t qb = floorDiv(q0, b); qb <= floorDiv(q1, b); ++qb) {
    const int64_t n = qb >= 0 && qb < static_cast<int64_t>(rows.size())
                          ? countIn(rows[qb], kb0, kb1)
                          : 0;
    some = some || n > 0;
    every = every && n == kb1 - kb0 + 1;
  }
  if (!t.negated)
    return all ? every : some;
  return all ? !some : !every;
}

/// Is some integer point of the box in the clause? (No block terms.)
static Feasible feasiblePlain(const Clause &c, int64_t q0, int64_t q1,
                              int64_t k0, int64_t k1) {
  Bounds bd{q0, q1, k0, k1};
  bool maybe = false;
  for (const LinearAtom &t : c.atoms) {
    if (t.isRun() || t.isSet() || t.isBlockSet()) {
      continue; // Decided below, on the tightened box.
    } else if (t.isCongruence()) {
      if (t.rhs < 0 || t.rhs >= t.modulus)
        return Feasible::No; // A floor modulo is in [0, modulus).
      maybe = true;
    } else if (t.opaque) {
      maybe = true;
    } else if (t.b == 0 && t.a == 0) {
      if (0 > t.rhs)
        return Feasible::No;
    } else if (!bd.tighten(t)) {
      maybe = true; // Checked alone below.
    }
  }
  const int64_t ql = bd.ql, qh = bd.qh, kl = bd.kl, kh = bd.kh, dl = bd.dl,
                dh = bd.dh;
  if (ql > qh || kl > kh || dl > dh)
    return Feasible::No;
  if (std::max(dl, ql - kh) > std::min(dh, qh - kl))
    return Feasible::No;
  // Atoms of other forms: each must be satisfiable somewhere in the box.
  for (const LinearAtom &t : c.atoms)
    if (!t.opaque && !t.isCongruence() && !t.isSet() && !t.isBlockSet() &&
        t.a != 0 && t.b != 0 && t.a != -t.b &&
        minOver(t, ql, qh, kl, kh) > t.rhs)
      return Feasible::No;
  // Block sets: some chosen key block among the box's (its bounding box:
  // sound).
  for (const LinearAtom &t : c.atoms) {
    if (!t.isBlockSet())
      continue;
    if (!blockSetOn(t, ql, qh, std::max(kl, ql - dh), std::min(kh, qh - dl),
                    false))
      return Feasible::No;
    maybe = true;
  }
  // Set atoms: some index of the set among the values the box allows
  // (exact for one set atom with interval atoms; `maybe` otherwise).
  for (const LinearAtom &t : c.atoms) {
    if (!t.isSet())
      continue;
    const bool possible =
        t.onDiagonal
            ? setAtomOn(t, std::max(dl, ql - kh), std::min(dh, qh - kl), false)
            : setAtomOn(t, std::max(kl, ql - dh), std::min(kh, qh - dl), false);
    if (!possible)
      return Feasible::No;
    maybe = true;
  }
  for (const LinearAtom &t : c.atoms) {
    if (!t.isRun())
      continue;
    const std::vector<int64_t> &v = t.runs->values;
    const int64_t n = static_cast<int64_t>(v.size());
    if (ql < 0 || kl < 0 || qh >= n || kh >= n) {
      maybe = true;
      continue;
    }
    const bool disjoint = v[qh] < v[kl] || v[kh] < v[ql];
    const bool single = v[ql] == v[qh] && v[kl] == v[kh] && v[ql] == v[kl];
    if (t.negated ? single : disjoint)
      return Feasible::No;
    if (!(t.negated ? disjoint : single))
      maybe = true;
  }
  return maybe ? Feasible::Maybe : Feasible::Yes;
}

/// Does every point of the box satisfy the clause? (No block terms.)
static bool holdsPlain(const Clause &c, int64_t q0, int64_t q1, int64_t k0,
                       int64_t k1) {
  for (const LinearAtom &t : c.atoms) {
    if (t.isBlockSet()) {
      if (!blockSetOn(t, q0, q1, k0, k1, true))
        return false;
      continue;
    }
    if (t.isRun()) {
      const std::vector<int64_t> &v = t.runs->values;
      const int64_t n = static_cast<int64_t>(v.size());
      if (q0 < 0 || k0 < 0 || q1 >= n || k1 >= n)
        return false;
      const bool disjoint = v[q1] < v[k0] || v[k1] < v[q0];
      const bool single = v[q0] == v[q1] && v[k0] == v[k1] && v[q0] == v[k0];
      if (!(t.negated ? disjoint : single))
        return false;
      continue;
    }
    if (t.isSet()) {
      const bool all = t.onDiagonal ? setAtomOn(t, q0 - k1, q1 - k0, true)
                                    : setAtomOn(t, k0, k1, true);
      if (!all)
        return false;
      continue;
    }
    if (t.opaque || t.isCongruence() || maxOver(t, q0, q1, k0, k1) > t.rhs)
      return false;
  }
  return true;
}

BlockRange blockRange(int64_t coef, int64_t div, int64_t off, int64_t v0,
                      int64_t v1) {
  if (coef == 0 || div <= 0)
    return {};
  return {floorDiv(clampAdd(v0, off), div), floorDiv(clampAdd(v1, off), div)};
}

/// Calls fn(clause without block terms, sub-box) for each pair of blocks the
/// box spans. Returns false when the clause's atoms disagree on the blocks
/// or there are too many pairs.
template <typename Fn>
static bool forEachBlockPair(const Clause &c, int64_t q0, int64_t q1,
                             int64_t k0, int64_t k1, Fn fn) {
  int64_t qDiv = 0, qOff = 0, kDiv = 0, kOff = 0;
  for (const LinearAtom &t : c.atoms) {
    if (t.aQ != 0) {
      if (qDiv != 0 && (qDiv != t.qDiv || qOff != t.qOff))
        return false;
      qDiv = t.qDiv;
      qOff = t.qOff;
    }
    if (t.bK != 0) {
      if (kDiv != 0 && (kDiv != t.kDiv || kOff != t.kOff))
        return false;
      kDiv = t.kDiv;
      kOff = t.kOff;
    }
  }
  BlockRange qr = blockRange(qDiv, qDiv, qOff, q0, q1);
  BlockRange kr = blockRange(kDiv, kDiv, kOff, k0, k1);
  if (qr.count() * kr.count() > kMaxBlockPairs)
    return false;
  for (int64_t qv = qr.lo; qv <= qr.hi; ++qv)
    for (int64_t kv = kr.lo; kv <= kr.hi; ++kv) {
      int64_t sq0 = q0, sq1 = q1, sk0 = k0, sk1 = k1;
      if (qDiv) {
        sq0 = std::max(q0, qv * qDiv - qOff);
        sq1 = std::min(q1, (qv + 1) * qDiv - 1 - qOff);
      }
      if (kDiv) {
        sk0 = std::max(k0, kv * kDiv - kOff);
        sk1 = std::min(k1, (kv + 1) * kDiv - 1 - kOff);
      }
      Clause plain = c;
      for (LinearAtom &t : plain.atoms) {
        if (t.isCongruence() && t.hasBlocks()) {
          // floormod(aQ * qv + bK * kv + offset, m) == rhs: a constant on
          // this pair of blocks (a dilated neighbourhood's row distance),
          // so the atom holds everywhere in the part or nowhere.
          const int64_t v = clampAdd(
              clampAdd(clampMul(t.aQ, qv), clampMul(t.bK, kv)), t.offset);
          LinearAtom decided;
          if (v <= -kInf || v >= kInf) {
            decided.opaque = true; // Out of range: unknown, sound.
          } else {
            const int64_t r = v - t.modulus * floorDiv(v, t.modulus);
            decided.rhs = r == t.rhs ? 0 : -1; // 0 <= rhs
          }
          t = decided;
          continue;
        }
        t.rhs =
            clampAdd(t.rhs, -clampAdd(clampMul(t.aQ, qv), clampMul(t.bK, kv)));
        t.aQ = t.bK = 0;
      }
      if (!fn(plain, sq0, sq1, sk0, sk1))
        break;
    }
  return true;
}

static bool hasBlocks(const Clause &c) {
  for (const LinearAtom &t : c.atoms)
    if (t.hasBlocks())
      return true;
  return false;
}

/// The clause with its block atoms made opaque (when they cannot be split).
static Clause withoutBlocks(const Clause &c) {
  Clause out = c;
  for (LinearAtom &t : out.atoms)
    if (t.hasBlocks()) {
      t.opaque = true;
      t.modulus = 0; // A congruence on blocks says nothing of q and k.
    }
  return out;
}

Feasible feasible(const Clause &c, int64_t q0, int64_t q1, int64_t k0,
                  int64_t k1) {
  if (!hasBlocks(c))
    return feasiblePlain(c, q0, q1, k0, k1);
  Feasible best = Feasible::No;
  bool split = forEachBlockPair(
      c, q0, q1, k0, k1,
      [&](const Clause &p, int64_t a, int64_t b, int64_t x, int64_t y) {
        Feasible f = feasiblePlain(p, a, b, x, y);
        if (f == Feasible::Yes)
          best = Feasible::Yes;
        else if (f == Feasible::Maybe)
          best = Feasible::Maybe;
        return best != Feasible::Yes;
      });
  if (!split)
    return feasiblePlain(withoutBlocks(c), q0, q1, k0, k1);
  return best;
}

bool holdsEverywhere(const Clause &c, int64_t q0, int64_t q1, int64_t k0,
                     int64_t k1) {
  if (!hasBlocks(c))
    return holdsPlain(c, q0, q1, k0, k1);
  bool all = true;
  bool split = forEachBlockPair(
      c, q0, q1, k0, k1,
      [&](const Clause &p, int64_t a, int64_t b, int64_t x, int64_t y) {
        all = all && holdsPlain(p, a, b, x, y);
        return all;
      });
  return split && all;
}

/// Inclusive range [lo, hi] of a clause's keys over query rows [q0, q1]:
/// exact for atoms over q, k and q - k (others are ignored: wider, sound).
/// Empty (lo > hi) when the clause holds nowhere there.
std::pair<int64_t, int64_t> keyRange(const Clause &c, int64_t q0, int64_t q1,
                                     int64_t lk) {
  Bounds bd{q0, q1, 0, lk - 1};
  for (const LinearAtom &t : c.atoms)
    if (!t.opaque && !t.isCongruence() && !t.hasBlocks() && !t.isRun() &&
        !t.isSet() && !t.isBlockSet()) {
      if (t.a == 0 && t.b == 0 && t.rhs < 0)
        return {1, 0}; // False on every key (another head's arm).
      bd.tighten(t);
    }
  const int64_t ql = bd.ql, qh = bd.qh, kl = bd.kl, kh = bd.kh, dl = bd.dl,
                dh = bd.dh;
  if (ql > qh || dl > dh)
    return {1, 0};
  return {std::max(kl, clampAdd(ql, -dh)), std::min(kh, clampAdd(qh, -dl))};
}

/// The keys k for which every plain linear atom of `c` holds at all q in
/// [q0, q1] (the gathered clause's other conditions): its source atom then
/// decides alone, and such a gathered key needs no predicate.
std::pair<int64_t, int64_t> fullKeyRange(const Clause &c, int64_t q0,
                                         int64_t q1, int64_t lk) {
  int64_t kl = 0, kh = lk - 1;
  for (const LinearAtom &t : c.atoms) {
    if (t.isSet() || t.isCongruence())
      continue;
    if (t.opaque || t.hasBlocks() || t.isRun() || t.isBlockSet())
      return {1, 0};
    // b*k <= rhs - max over q of a*q.
    const int64_t rest = clampAdd(t.rhs, -clampMul(t.a, t.a >= 0 ? q1 : q0));
    if (t.b > 0)
      kh = std::min(kh, floorDiv(rest, t.b));
    else if (t.b < 0)
      kl = std::max(kl, ceilDiv(rest, t.b));
    else if (rest < 0)
      return {1, 0};
  }
  return {kl, kh};
}

} // namespace maskjit::box
