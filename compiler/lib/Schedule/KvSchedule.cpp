//===- KvSchedule.cpp - Tile classification from a linear DNF -------------===//
#include "maskjit/compiler/KvSchedule.h"

#include <algorithm>
#include <limits>

namespace maskjit {
namespace {

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
int64_t maxOver(const LinearAtom &t, int64_t q0, int64_t q1, int64_t k0,
                int64_t k1) {
  return clampAdd(clampMul(t.a, t.a >= 0 ? q1 : q0),
                  clampMul(t.b, t.b >= 0 ? k1 : k0));
}
int64_t minOver(const LinearAtom &t, int64_t q0, int64_t q1, int64_t k0,
                int64_t k1) {
  return clampAdd(clampMul(t.a, t.a >= 0 ? q0 : q1),
                  clampMul(t.b, t.b >= 0 ? k0 : k1));
}

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

/// How many elements of a sorted set lie in [lo, hi].
int64_t countIn(const std::vector<int64_t> &s, int64_t lo, int64_t hi) {
  if (lo > hi)
    return 0;
  return std::upper_bound(s.begin(), s.end(), hi) -
         std::lower_bound(s.begin(), s.end(), lo);
}

/// Whether a set atom can hold (`all` false) or holds everywhere (`all`
/// true) on the values its index takes: k in [kl, kh], or q - k in
/// [dl, dh].
bool setAtomOn(const LinearAtom &t, int64_t lo, int64_t hi, bool all) {
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
bool blockSetOn(const LinearAtom &t, int64_t q0, int64_t q1, int64_t k0,
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

enum class Feasible { No, Maybe, Yes };

/// Is some integer point of the box in the clause? (No block terms.)
Feasible feasiblePlain(const Clause &c, int64_t q0, int64_t q1, int64_t k0,
                       int64_t k1) {
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
bool holdsPlain(const Clause &c, int64_t q0, int64_t q1, int64_t k0,
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

/// Block indices floor((v + off) / div) of v in [v0, v1] (one dummy block
/// when the axis has no block term).
struct BlockRange {
  int64_t lo = 0, hi = 0;
  int64_t count() const { return hi - lo + 1; }
};
BlockRange blockRange(int64_t coef, int64_t div, int64_t off, int64_t v0,
                      int64_t v1) {
  if (coef == 0 || div <= 0)
    return {};
  return {floorDiv(clampAdd(v0, off), div), floorDiv(clampAdd(v1, off), div)};
}

/// Past this many block pairs in one box, block terms are not enumerated
/// (the atom counts as unknown: sound).
constexpr int64_t kMaxBlockPairs = 4096;

/// Calls fn(clause without block terms, sub-box) for each pair of blocks the
/// box spans. Returns false when the clause's atoms disagree on the blocks
/// or there are too many pairs.
template <typename Fn>
bool forEachBlockPair(const Clause &c, int64_t q0, int64_t q1, int64_t k0,
                      int64_t k1, Fn fn) {
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

bool hasBlocks(const Clause &c) {
  for (const LinearAtom &t : c.atoms)
    if (t.hasBlocks())
      return true;
  return false;
}

/// The clause with its block atoms made opaque (when they cannot be split).
Clause withoutBlocks(const Clause &c) {
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

} // namespace

std::shared_ptr<const RunArray> RunArray::make(std::vector<int64_t> values) {
  auto r = std::make_shared<RunArray>();
  for (size_t i = 0; i < values.size(); ++i) {
    if (i > 0 && values[i] < values[i - 1])
      return nullptr;
    if (i == 0 || values[i] != values[i - 1])
      r->starts.push_back(static_cast<int64_t>(i));
  }
  r->values = std::move(values);
  return r;
}

bool KvSchedule::exact() const {
  for (const std::vector<Clause> *dnf : {&clauses, &complement})
    for (const Clause &c : *dnf)
      for (const LinearAtom &t : c.atoms)
        if (t.opaque || t.isCongruence() || t.isSet() || t.isBlockSet() ||
            (t.a != 0 && t.b != 0 && t.a != -t.b))
          return false;
  return hasComplement;
}

bool KvSchedule::isGathered(size_t i) const {
  // One progression or one set of columns, and otherwise linear atoms.
  int sources = 0;
  for (const LinearAtom &t : clauses[i].atoms) {
    if (t.opaque || t.isRun() || t.hasBlocks() || t.isBlockSet())
      return false;
    if (t.isSet()) {
      if (t.onDiagonal || t.negated)
        return false;
      ++sources;
    }
    if (t.isCongruence()) {
      if (t.b != 1 && t.b != -1)
        return false;
      ++sources;
    }
  }
  return sources == 1;
}

TileKind KvSchedule::classify(int64_t q0, int64_t q1, int64_t k0,
                              int64_t k1) const {
  return classifyImpl(q0, q1, k0, k1, /*skipGathered=*/false);
}

TileKind KvSchedule::classifyImpl(int64_t q0, int64_t q1, int64_t k0,
                                  int64_t k1, bool skipGathered) const {
  bool any = false, certain = false;
  for (size_t i = 0; i < clauses.size(); ++i) {
    if (skipGathered && isGathered(i))
      continue;
    const Clause &c = clauses[i];
    Feasible f = feasible(c, q0, q1, k0, k1);
    if (f == Feasible::No)
      continue;
    any = true;
    certain |= f == Feasible::Yes;
    if (holdsEverywhere(c, q0, q1, k0, k1))
      return TileKind::Full;
  }
  if (!any)
    return TileKind::Empty;
  if (hasComplement && certain) {
    bool hole = false;
    for (const Clause &c : complement)
      if (feasible(c, q0, q1, k0, k1) != Feasible::No) {
        hole = true;
        break;
      }
    if (!hole)
      return TileKind::Full;
  }
  return TileKind::Partial;
}

TileKind KvSchedule::classifyTile(int64_t qt, int64_t kt) const {
  int64_t q0 = qt * tileQ, q1 = std::min(lq, q0 + tileQ) - 1;
  int64_t k0 = kt * tileK, k1 = std::min(lk, k0 + tileK) - 1;
  return classify(q0, q1, k0, k1);
}

std::vector<KvSegment> KvSchedule::segments(int64_t qt) const {
  return segmentsImpl(qt, /*skipGathered=*/false);
}

std::vector<KvSegment> KvSchedule::kernelSegments(int64_t qt) const {
  return segmentsImpl(qt, /*skipGathered=*/true);
}

std::vector<KeyRun>
KvSchedule::gather(int64_t qt, const std::vector<KvSegment> *visited) const {
  const int64_t q0 = qt * tileQ, q1 = std::min(lq, q0 + tileQ) - 1;
  std::vector<KeyRun> runs;
  size_t gatheredClauses = 0;
  for (size_t i = 0; i < clauses.size(); ++i) {
    if (!isGathered(i))
      continue;
    ++gatheredClauses;
    const LinearAtom *cong = nullptr, *set = nullptr;
    for (const LinearAtom &t : clauses[i].atoms) {
      if (t.isCongruence())
        cong = &t;
      if (t.isSet())
        set = &t;
    }
    auto [kl, kh] = keyRange(clauses[i], q0, q1, lk);
    if (kl > kh)
      continue;
    auto [fl, fh] = fullKeyRange(clauses[i], q0, q1, lk);
    auto isFull = [&](int64_t k) { return k >= fl && k <= fh; };
    if (set) {
      // The set's keys in range, consecutive ones of one kind as runs.
      const size_t first = runs.size();
      auto it = std::lower_bound(set->set->begin(), set->set->end(), kl);
      for (; it != set->set->end() && *it <= kh; ++it) {
        const bool full = isFull(*it);
        if (runs.size() > first && runs.back().step == 1 &&
            runs.back().full == full &&
            runs.back().start + runs.back().count == *it)
          ++runs.back().count;
        else
          runs.push_back({*it, 1, 1, full});
      }
      continue;
    }
    if (cong->rhs < 0 || cong->rhs >= cong->modulus)
      continue;
    // floormod(b*k + offset, m) == r  <=>  k == residue (mod m).
    const int64_t m = cong->modulus;
    int64_t residue = cong->b > 0 ? cong->rhs - cong->offset % m
                                  : cong->offset % m - cong->rhs;
    residue = ((residue % m) + m) % m;
    int64_t first = kl + (((residue - kl) % m) + m) % m;
    if (first > kh)
      continue;
    // The progression, cut where its keys become full and stop being so.
    const int64_t last = first + (kh - first) / m * m;
    auto firstAtLeast = [&](int64_t x) {
      return x <= first ? first : first + (x - first + m - 1) / m * m;
    };
    int64_t k = first;
    for (int64_t edge : {fl, clampAdd(fh, 1)}) {
      if (fl > fh)
        break;
      const int64_t to = std::min(firstAtLeast(edge), clampAdd(last, m));
      if (to > k) {
        runs.push_back({k, m, (to - k) / m, isFull(k)});
        k = to;
      }
    }
    if (k <= last)
      runs.push_back({k, m, (last - k) / m + 1, isFull(k)});
  }
  // Keys inside visited tiles are already covered: cut them out.
  if (runs.empty())
    return runs;
  std::vector<KvSegment> computed;
  if (!visited) {
    computed = kernelSegments(qt);
    visited = &computed;
  }
  // Runs and segments both in key order: one walk over the two (a set's
  // keys may be hundreds of runs, its diagonals tens of segments).
  auto byStart = [](const KeyRun &a, const KeyRun &b) {
    return a.start < b.start;
  };
  if (!std::is_sorted(runs.begin(), runs.end(), byStart))
    std::stable_sort(runs.begin(), runs.end(), byStart);
  std::vector<KeyRun> cut;
  size_t firstSeg = 0;
  for (const KeyRun &r : runs) {
    int64_t k = r.start, last = r.start + (r.count - 1) * r.step;
    while (firstSeg < visited->size() && (*visited)[firstSeg].end * tileK <= k)
      ++firstSeg;
    for (size_t si = firstSeg; si < visited->size(); ++si) {
      const KvSegment &seg = (*visited)[si];
      int64_t s0 = seg.begin * tileK, s1 = seg.end * tileK; // [s0, s1)
      if (s0 > last)
        break;
      if (s1 <= k)
        continue;
      if (s0 > k) {
        int64_t n = (s0 - 1 - k) / r.step + 1;
        cut.push_back({k, r.step, n, r.full});
      }
      k += ((s1 - k + r.step - 1) / r.step) * r.step; // First key >= s1.
      if (k > last)
        break;
    }
    if (k <= last)
      cut.push_back({k, r.step, (last - k) / r.step + 1, r.full});
  }
  if (gatheredClauses <= 1)
    return cut;
  // Several progressions may share keys: merge into one ordered key list (a
  // key is full when one of its clauses makes it so).
  std::vector<std::pair<int64_t, bool>> keys;
  for (const KeyRun &r : cut)
    for (int64_t i = 0; i < r.count; ++i)
      keys.push_back({r.start + i * r.step, r.full});
  std::sort(keys.begin(), keys.end());
  std::vector<KeyRun> out;
  for (size_t i = 0; i < keys.size(); ++i) {
    auto [k, full] = keys[i];
    // Sorted by (key, full): the last copy of a key has the largest flag.
    if (i + 1 < keys.size() && keys[i + 1].first == k)
      continue;
    if (!out.empty() && out.back().full == full && out.back().count == 1) {
      out.back().step = k - out.back().start;
      out.back().count = 2;
    } else if (!out.empty() && out.back().full == full &&
               out.back().start + out.back().count * out.back().step == k) {
      ++out.back().count;
    } else {
      out.push_back({k, 1, 1, full});
    }
  }
  return out;
}

std::vector<KvSegment> KvSchedule::segmentsImpl(int64_t qt,
                                                bool skipGathered) const {
  const int64_t q0 = qt * tileQ, q1 = std::min(lq, q0 + tileQ) - 1;
  const int64_t nk = keyTiles();
  // Key tiles where some atom's boundary crosses this query tile: there the
  // class may change. Each atom a*q + b*k <= r with b != 0 has its boundary
  // at k = (r - a*q) / b for q in [q0, q1].
  std::vector<std::pair<int64_t, int64_t>> cuts; // Tile ranges [lo, hi].
  auto addCrossing = [&](int64_t a, int64_t b, int64_t rhs) {
    int64_t e0 = clampAdd(rhs, -clampMul(a, q0));
    int64_t e1 = clampAdd(rhs, -clampMul(a, q1));
    int64_t lo = std::min(e0, e1), hi = std::max(e0, e1);
    int64_t klo = b > 0 ? floorDiv(lo, b) : floorDiv(hi, b);
    int64_t khi = b > 0 ? ceilDiv(hi, b) : ceilDiv(lo, b);
    klo = clampAdd(klo, -1);
    khi = clampAdd(khi, 1);
    if (khi < 0 || klo >= lk)
      return;
    cuts.push_back(
        {std::max<int64_t>(0, klo) / tileK, std::min(lk - 1, khi) / tileK});
  };
  bool cutAll = false;
  for (const std::vector<Clause> *dnf : {&clauses, &complement})
    for (size_t ci = 0; ci < dnf->size(); ++ci) {
      const Clause &c = (*dnf)[ci];
      // A gathered clause is not classified for the kernel's tiles.
      if (skipGathered && dnf == &clauses && isGathered(ci))
        continue;
      for (const LinearAtom &t : c.atoms) {
        if (t.isRun()) {
          // The class can change only at the runs this query tile's values
          // reach: where they start and end among the keys.
          const std::vector<int64_t> &v = t.runs->values;
          if (q1 >= static_cast<int64_t>(v.size()) ||
              lk > static_cast<int64_t>(v.size())) {
            cutAll = true;
            continue;
          }
          auto end = v.begin() + lk;
          int64_t first = std::lower_bound(v.begin(), end, v[q0]) - v.begin();
          int64_t last = std::upper_bound(v.begin(), end, v[q1]) - v.begin();
          auto cutAt = [&](int64_t key) {
            if (key > 0 && key < lk)
              cuts.push_back({(key - 1) / tileK, key / tileK});
          };
          cutAt(first);
          cutAt(last);
          const std::vector<int64_t> &starts = t.runs->starts;
          auto s0 = std::upper_bound(starts.begin(), starts.end(), first);
          auto s1 = std::lower_bound(starts.begin(), starts.end(), last);
          if (s1 - s0 > nk) {
            cutAll = true;
            continue;
          }
          for (auto it = s0; it < s1; ++it)
            cutAt(*it);
          continue;
        }
        if (t.isBlockSet()) {
          // The class can change at every tile a key block chosen for one
          // of this query tile's blocks touches (elsewhere the atom is
          // false, or true when negated, for all its rows).
          const std::vector<std::vector<int64_t>> &rows = *t.blockSets;
          const int64_t b = t.setBlock;
          size_t before = cuts.size();
          for (int64_t qb = floorDiv(q0, b); qb <= floorDiv(q1, b); ++qb) {
            if (qb < 0 || qb >= static_cast<int64_t>(rows.size()))
              continue;
            for (int64_t kb : rows[qb]) {
              const int64_t k0 = std::max<int64_t>(0, clampMul(kb, b));
              const int64_t k1 =
                  std::min(lk - 1, clampAdd(clampMul(kb, b), b - 1));
              if (k0 <= k1)
                cuts.push_back({k0 / tileK, k1 / tileK});
            }
          }
          if (static_cast<int64_t>(cuts.size() - before) > nk)
            cutAll = true;
          continue;
        }
        if (t.isSet() && t.negated && !t.onDiagonal) {
          // `k not in S` can only fail on a tile S covers whole: cut those
          // (found from the runs of consecutive members).
          const std::vector<int64_t> &s = *t.set;
          for (size_t i = 0; i < s.size();) {
            size_t j = i;
            while (j + 1 < s.size() && s[j + 1] == s[j] + 1)
              ++j;
            if (s[j] - s[i] + 1 >= tileK)
              for (int64_t kt = ceilDiv(std::max<int64_t>(0, s[i]), tileK);
                   (kt + 1) * tileK - 1 <= s[j] && kt < nk; ++kt)
                cuts.push_back({kt, kt});
            // The tile holding Lk - 1 may be short: covered from its start.
            const int64_t last = (lk - 1) / tileK;
            if (s[i] <= last * tileK && s[j] >= lk - 1)
              cuts.push_back({last, last});
            i = j + 1;
          }
          continue;
        }
        if (t.isSet()) {
          // The class can change at every tile a member touches: a column
          // cuts its tile, a diagonal the tiles it crosses.
          const std::vector<int64_t> &s = *t.set;
          const int64_t lo = t.onDiagonal ? q0 - (lk - 1) : 0;
          const int64_t hi = t.onDiagonal ? q1 : lk - 1;
          auto a = std::lower_bound(s.begin(), s.end(), lo);
          auto b = std::upper_bound(s.begin(), s.end(), hi);
          if (b - a > nk) {
            cutAll = true;
            continue;
          }
          for (auto it = a; it != b; ++it) {
            if (!t.onDiagonal) {
              cuts.push_back({*it / tileK, *it / tileK});
              continue;
            }
            const int64_t k0 = std::max<int64_t>(0, q0 - *it);
            const int64_t k1 = std::min(lk - 1, q1 - *it);
            if (k0 <= k1)
              cuts.push_back({k0 / tileK, k1 / tileK});
          }
          continue;
        }
        if (t.opaque || t.isCongruence())
          continue;
        if (!t.hasBlocks()) {
          if (t.b != 0)
            addCrossing(t.a, t.b, t.rhs);
          continue;
        }
        // Block terms are constant per block: one crossing per block pair,
        // and a possible change at every key-block boundary.
        BlockRange qr = blockRange(t.aQ, t.qDiv, t.qOff, q0, q1);
        BlockRange kr = blockRange(t.bK, t.kDiv, t.kOff, 0, lk - 1);
        if (qr.count() * kr.count() > kMaxBlockPairs || kr.count() > nk) {
          cutAll = true;
          continue;
        }
        for (int64_t qv = qr.lo; qv <= qr.hi; ++qv)
          for (int64_t kv = kr.lo; kv <= kr.hi; ++kv) {
            int64_t rhs = clampAdd(
                t.rhs, -clampAdd(clampMul(t.aQ, qv), clampMul(t.bK, kv)));
            if (t.b != 0)
              addCrossing(t.a, t.b, rhs);
            if (t.bK != 0) {
              int64_t edge = clampAdd(clampMul(kv, t.kDiv), -t.kOff);
              if (edge > 0 && edge < lk)
                cuts.push_back({(edge - 1) / tileK, edge / tileK});
            }
          }
      }
    }
  if (cutAll)
    cuts.assign(1, {0, nk - 1});
  std::sort(cuts.begin(), cuts.end());
  std::vector<std::pair<int64_t, int64_t>> merged;
  for (auto c : cuts) {
    if (!merged.empty() && c.first <= merged.back().second + 1)
      merged.back().second = std::max(merged.back().second, c.second);
    else
      merged.push_back(c);
  }
  auto tileClass = [&](int64_t kt) {
    int64_t k0 = kt * tileK, k1 = std::min(lk, k0 + tileK) - 1;
    return classifyImpl(q0, q1, k0, k1, skipGathered);
  };
  std::vector<KvSegment> out;
  auto emit = [&](int64_t begin, int64_t end, TileKind kind) {
    if (kind == TileKind::Empty || begin >= end)
      return;
    if (!out.empty() && out.back().kind == kind && out.back().end == begin)
      out.back().end = end;
    else
      out.push_back({begin, end, kind});
  };
  // Between cuts the class is uniform: classify the whole run at once.
  auto run = [&](int64_t begin, int64_t end) {
    if (begin >= end)
      return;
    int64_t k0 = begin * tileK, k1 = std::min(lk, end * tileK) - 1;
    TileKind kind = classifyImpl(q0, q1, k0, k1, skipGathered);
    if (kind == TileKind::Partial && end - begin > 1) {
      // A uniform run is partial only through opaque atoms or q-only atoms;
      // every tile of it is then partial or the run is mixed: look closer.
      TileKind first = tileClass(begin);
      bool same = first == tileClass(end - 1);
      if (!same || first != TileKind::Partial) {
        for (int64_t t = begin; t < end; ++t)
          emit(t, t + 1, tileClass(t));
        return;
      }
    }
    emit(begin, end, kind);
  };
  int64_t next = 0;
  for (auto [lo, hi] : merged) {
    run(next, lo);
    for (int64_t t = lo; t <= hi; ++t)
      emit(t, t + 1, tileClass(t));
    next = hi + 1;
  }
  run(next, nk);
  return out;
}

std::vector<std::string> blockRows(const KvSchedule &s) {
  std::vector<std::string> rows;
  for (int64_t qt = 0; qt < s.queryTiles(); ++qt) {
    std::string row(s.keyTiles(), '.');
    for (const KvSegment &seg : s.segments(qt))
      for (int64_t t = seg.begin; t < seg.end; ++t)
        row[t] = static_cast<char>(seg.kind);
    rows.push_back(std::move(row));
  }
  return rows;
}

int64_t gatheredKeys(const KvSchedule &s, int64_t qt) {
  int64_t n = 0;
  for (const KeyRun &r : s.gather(qt))
    n += r.count;
  return n;
}

std::string blockRowsJson(const KvSchedule &s) {
  std::string out = "{\"tile\":[" + std::to_string(s.tileQ) + "," +
                    std::to_string(s.tileK) + "],\"rows\":[";
  std::vector<std::string> rows = blockRows(s);
  for (size_t i = 0; i < rows.size(); ++i)
    out += (i ? ",\"" : "\"") + rows[i] + "\"";
  out += "],\"kernel_tiles\":[";
  for (int64_t qt = 0; qt < s.queryTiles(); ++qt) {
    int64_t n = 0;
    for (const KvSegment &seg : s.kernelSegments(qt))
      n += seg.end - seg.begin;
    out += (qt ? "," : "") + std::to_string(n);
  }
  out += "],\"gathered_keys\":[";
  for (int64_t qt = 0; qt < s.queryTiles(); ++qt)
    out += (qt ? "," : "") + std::to_string(gatheredKeys(s, qt));
  return out + "]}";
}

} // namespace maskjit
