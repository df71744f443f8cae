//===- KvSchedule.cpp - Tile classification from a linear DNF -------------===//
#include "maskjit/schedule/KvSchedule.h"

#include "BoxFeasibility.h"

#include <algorithm>
#include <limits>

namespace maskjit {
using box::BlockRange;
using box::blockRange;
using box::ceilDiv;
using box::clampAdd;
using box::clampMul;
using box::Feasible;
using box::feasible;
using box::floorDiv;
using box::fullKeyRange;
using box::holdsEverywhere;
using box::keyRange;
using box::kMaxBlockPairs;

/// Crossings per query tile past which a schedule with its exactMask skips
/// the closed forms' per-tile pass.
constexpr int64_t kMaxCutsBeforeRefine = 128;

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

bool KvSchedule::exact() const { return exactMask || closedFormsExact(); }

bool KvSchedule::closedFormsExact() const {
  for (const std::vector<Clause> *dnf : {&clauses, &complement})
    for (const Clause &c : *dnf)
      for (const LinearAtom &t : c.atoms)
        if (t.opaque || t.isCongruence() || t.isSet() || t.isBlockSet() ||
            (t.a != 0 && t.b != 0 && t.a != -t.b))
          return false;
  return hasComplement;
}

bool KvSchedule::refineWholeRows() const {
  // Block terms over many blocks make the closed forms' pass slow and,
  // with opaque atoms beside them, no more exact than the predicate's.
  for (const Clause &c : clauses) {
    bool opaque = false, blocks = false;
    for (const LinearAtom &t : c.atoms) {
      opaque |= t.opaque;
      blocks |= t.hasBlocks();
    }
    if (opaque || blocks)
      return true;
  }
  return false;
}

bool KvSchedule::visitedFormsExact() const {
  // The clauses the kernel visits whole tiles for, and the complement.
  for (size_t i = 0; i < clauses.size(); ++i)
    for (const LinearAtom &t : clauses[i].atoms)
      if (!isGathered(i) &&
          (t.opaque || t.isCongruence() || t.isSet() || t.isBlockSet() ||
           (t.a != 0 && t.b != 0 && t.a != -t.b)))
        return false;
  return true;
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
  TileKind kind = classifyImpl(q0, q1, k0, k1, /*skipGathered=*/false);
  if (kind != TileKind::Partial || !exactMask || q0 > q1 || k0 > k1)
    return kind;
  if (exactStats)
    ++exactStats->refinedTiles;
  const int seen = exactMask->classify(q0, q1, k0, k1, exactStats.get());
  return seen == 1   ? TileKind::Full
         : seen == 2 ? TileKind::Empty
                     : TileKind::Partial;
}

std::vector<KvSegment>
KvSchedule::refineSegments(int64_t qt, const std::vector<KvSegment> &in) const {
  const int64_t q0 = qt * tileQ, q1 = std::min(lq, q0 + tileQ) - 1;
  std::vector<KvSegment> out;
  auto emit = [&](int64_t begin, int64_t end, TileKind kind) {
    if (kind == TileKind::Empty || begin >= end)
      return;
    if (!out.empty() && out.back().kind == kind && out.back().end == begin)
      out.back().end = end;
    else
      out.push_back({begin, end, kind});
  };
  // A run of tiles is looked at whole first (one abstract evaluation can
  // clear a long run), then in halves, then tile by tile with the exact
  // search.
  auto refine = [&](auto &self, int64_t begin, int64_t end) -> void {
    const int64_t k0 = begin * tileK, k1 = std::min(lk, end * tileK) - 1;
    if (end - begin > 1) {
      if (exactStats)
        ++exactStats->boxes;
      const AbstractInt v = exactMask->evaluate(q0, q1, k0, k1);
      if (!v.top && v.lo == v.hi) {
        if (exactStats)
          exactStats->domainTiles += end - begin;
        emit(begin, end, v.lo != 0 ? TileKind::Full : TileKind::Empty);
        return;
      }
      const int64_t mid = begin + (end - begin) / 2;
      self(self, begin, mid);
      self(self, mid, end);
      return;
    }
    const int seen = exactMask->classify(q0, q1, k0, k1, exactStats.get());
    emit(begin, end,
         seen == 1   ? TileKind::Full
         : seen == 2 ? TileKind::Empty
                     : TileKind::Partial);
  };
  for (const KvSegment &seg : in) {
    if (seg.kind == TileKind::Partial && exactStats)
      exactStats->refinedTiles += seg.end - seg.begin;
    if (seg.kind == TileKind::Partial)
      refine(refine, seg.begin, seg.end);
    else
      emit(seg.begin, seg.end, seg.kind);
  }
  return out;
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
    const std::pair<int64_t, int64_t> full =
        fullKeyRange(clauses[i], q0, q1, lk);
    const int64_t fl = full.first, fh = full.second;
    auto isFull = [fl, fh](int64_t k) { return k >= fl && k <= fh; };
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
  // (The predicate is the whole mask: rows of the kernel's tiles with
  // gathered clauses aside keep the closed forms.)
  bool gathers = false;
  for (size_t i = 0; skipGathered && i < clauses.size(); ++i)
    gathers |= isGathered(i);
  if (exactMask && q0 <= q1 && !gathers && refineWholeRows())
    return refineSegments(qt, {{0, nk, TileKind::Partial}});
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
        if (exactMask && !gathers &&
            qr.count() * kr.count() > kMaxCutsBeforeRefine) {
          cutAll = true;
          continue;
        }
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
  // Where the closed forms would look at many tiles one by one, the
  // predicate's tiers do better from the whole row down (halving runs).
  if (exactMask && q0 <= q1 && !gathers &&
      (cutAll || static_cast<int64_t>(cuts.size()) > kMaxCutsBeforeRefine))
    return refineSegments(qt, {{0, nk, TileKind::Partial}});
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
  if (exactMask && q0 <= q1 && !(skipGathered && visitedFormsExact()))
    return refineSegments(qt, out);
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
