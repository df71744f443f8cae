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

enum class Feasible { No, Maybe, Yes };

/// Is some integer point of the box in the clause?
Feasible feasible(const Clause &c, int64_t q0, int64_t q1, int64_t k0,
                  int64_t k1) {
  int64_t ql = q0, qh = q1, kl = k0, kh = k1, dl = -kInf, dh = kInf;
  bool maybe = false;
  for (const LinearAtom &t : c.atoms) {
    if (t.opaque) {
      maybe = true;
    } else if (t.b == 0 && t.a == 0) {
      if (0 > t.rhs)
        return Feasible::No;
    } else if (t.b == 0) {
      if (t.a > 0)
        qh = std::min(qh, floorDiv(t.rhs, t.a));
      else
        ql = std::max(ql, ceilDiv(t.rhs, t.a));
    } else if (t.a == 0) {
      if (t.b > 0)
        kh = std::min(kh, floorDiv(t.rhs, t.b));
      else
        kl = std::max(kl, ceilDiv(t.rhs, t.b));
    } else if (t.a == -t.b) {
      // a*(q - k) <= rhs.
      if (t.a > 0)
        dh = std::min(dh, floorDiv(t.rhs, t.a));
      else
        dl = std::max(dl, ceilDiv(t.rhs, t.a));
    } else {
      maybe = true; // Checked alone below.
    }
  }
  if (ql > qh || kl > kh || dl > dh)
    return Feasible::No;
  if (std::max(dl, ql - kh) > std::min(dh, qh - kl))
    return Feasible::No;
  // Atoms of other forms: each must be satisfiable somewhere in the box.
  for (const LinearAtom &t : c.atoms)
    if (!t.opaque && t.a != 0 && t.b != 0 && t.a != -t.b &&
        minOver(t, ql, qh, kl, kh) > t.rhs)
      return Feasible::No;
  return maybe ? Feasible::Maybe : Feasible::Yes;
}

/// Does every point of the box satisfy the clause?
bool holdsEverywhere(const Clause &c, int64_t q0, int64_t q1, int64_t k0,
                     int64_t k1) {
  for (const LinearAtom &t : c.atoms)
    if (t.opaque || maxOver(t, q0, q1, k0, k1) > t.rhs)
      return false;
  return true;
}

} // namespace

bool KvSchedule::exact() const {
  for (const std::vector<Clause> *dnf : {&clauses, &complement})
    for (const Clause &c : *dnf)
      for (const LinearAtom &t : c.atoms)
        if (t.opaque || (t.a != 0 && t.b != 0 && t.a != -t.b))
          return false;
  return hasComplement;
}

TileKind KvSchedule::classify(int64_t q0, int64_t q1, int64_t k0,
                              int64_t k1) const {
  bool any = false, certain = false;
  for (const Clause &c : clauses) {
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
  const int64_t q0 = qt * tileQ, q1 = std::min(lq, q0 + tileQ) - 1;
  const int64_t nk = keyTiles();
  // Key tiles where some atom's boundary crosses this query tile: there the
  // class may change. Each atom a*q + b*k <= r with b != 0 has its boundary
  // at k = (r - a*q) / b for q in [q0, q1].
  std::vector<std::pair<int64_t, int64_t>> cuts; // Tile ranges [lo, hi].
  for (const std::vector<Clause> *dnf : {&clauses, &complement})
    for (const Clause &c : *dnf)
      for (const LinearAtom &t : c.atoms) {
        if (t.opaque || t.b == 0)
          continue;
        int64_t e0 = clampAdd(t.rhs, -clampMul(t.a, q0));
        int64_t e1 = clampAdd(t.rhs, -clampMul(t.a, q1));
        int64_t lo = std::min(e0, e1), hi = std::max(e0, e1);
        int64_t klo = t.b > 0 ? floorDiv(lo, t.b) : floorDiv(hi, t.b);
        int64_t khi = t.b > 0 ? ceilDiv(hi, t.b) : ceilDiv(lo, t.b);
        klo = clampAdd(klo, -1);
        khi = clampAdd(khi, 1);
        if (khi < 0 || klo >= lk)
          continue;
        cuts.push_back(
            {std::max<int64_t>(0, klo) / tileK, std::min(lk - 1, khi) / tileK});
      }
  std::sort(cuts.begin(), cuts.end());
  std::vector<std::pair<int64_t, int64_t>> merged;
  for (auto c : cuts) {
    if (!merged.empty() && c.first <= merged.back().second + 1)
      merged.back().second = std::max(merged.back().second, c.second);
    else
      merged.push_back(c);
  }
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
    TileKind kind = classify(q0, q1, k0, k1);
    if (kind == TileKind::Partial && end - begin > 1) {
      // A uniform run is partial only through opaque atoms or q-only atoms;
      // every tile of it is then partial or the run is mixed: look closer.
      TileKind first = classifyTile(qt, begin);
      bool same = first == classifyTile(qt, end - 1);
      if (!same || first != TileKind::Partial) {
        for (int64_t t = begin; t < end; ++t)
          emit(t, t + 1, classifyTile(qt, t));
        return;
      }
    }
    emit(begin, end, kind);
  };
  int64_t next = 0;
  for (auto [lo, hi] : merged) {
    run(next, lo);
    for (int64_t t = lo; t <= hi; ++t)
      emit(t, t + 1, classifyTile(qt, t));
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

std::string blockRowsJson(const KvSchedule &s) {
  std::string out = "{\"tile\":[" + std::to_string(s.tileQ) + "," +
                    std::to_string(s.tileK) + "],\"rows\":[";
  std::vector<std::string> rows = blockRows(s);
  for (size_t i = 0; i < rows.size(); ++i)
    out += (i ? ",\"" : "\"") + rows[i] + "\"";
  return out + "]}";
}

} // namespace maskjit
