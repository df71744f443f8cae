//===- ScheduleBinding.cpp - From the symbolic schedule to kernel tables --===//
#include "maskjit/schedule/ScheduleBinding.h"

#include "BoxFeasibility.h"

#include <algorithm>
#include <cstdlib>
#include <functional>
#include <limits>
#include <memory>
#include <numeric>
#include <thread>

namespace maskjit::mask {

namespace {
/// Where the closed forms are not exact, the mask's predicate decides their
/// PARTIAL tiles again. Patterns with sets chosen at run time keep the
/// closed forms (their tables may be built on the GPU from those alone).
void bindExactMask(const SymbolicSchedule &s,
                   const std::map<std::string, int64_t> &values, int64_t lq,
                   int64_t lk,
                   const std::map<std::string, std::vector<int64_t>> &arrays,
                   KvSchedule &out) {
  if (s.predicate.empty() || out.closedFormsExact())
    return;
  for (const std::vector<SymClause> *dnf : {&s.clauses, &s.complement})
    for (const SymClause &c : *dnf)
      for (const SymAtom &t : c)
        if (!t.setName.empty())
          return;
  std::map<std::string, int64_t> bound = values;
  bound["Lq"] = lq;
  bound["Lk"] = lk;
  std::string missing;
  out.exactMask = TileMask::bind(s.predicate, bound, arrays, missing);
  if (out.exactMask)
    out.exactStats = std::make_shared<TileDecisionStats>();
}
} // namespace

std::optional<std::string>
predicateTrap(const SymbolicSchedule &s,
              const std::map<std::string, int64_t> &values, int64_t lq,
              int64_t lk,
              const std::map<std::string, std::vector<int64_t>> &arrays) {
  if (s.predicate.empty() || lq <= 0 || lk <= 0)
    return std::nullopt;
  std::map<std::string, int64_t> bound = values;
  bound["Lq"] = lq;
  bound["Lk"] = lk;
  std::string missing;
  auto mask = TileMask::bind(s.predicate, bound, arrays, missing);
  PredicateTrap trap;
  if (!mask || mask->findTrap(0, lq - 1, 0, lk - 1, trap) != 1)
    return std::nullopt;
  std::string where;
  if (trap.instr < static_cast<int32_t>(s.predicate.locations.size()))
    where = s.predicate.locations[trap.instr];
  return (where.empty() ? "" : where + ": ") + trap.what +
         " at q=" + std::to_string(trap.q) + ", k=" + std::to_string(trap.k) +
         " (Lq=" + std::to_string(lq) + ", Lk=" + std::to_string(lk) + ")";
}

std::optional<KvSchedule>
bindSchedule(const SymbolicSchedule &s,
             const std::map<std::string, int64_t> &values, int64_t lq,
             int64_t lk, int64_t tileQ, int64_t tileK, std::string &error,
             const std::map<std::string, std::vector<int64_t>> &arrays) {
  if (auto trap = predicateTrap(s, values, lq, lk, arrays)) {
    error = *trap;
    return std::nullopt;
  }
  // Each runtime array compared at q and k is checked (and indexed) once.
  std::map<std::string, std::shared_ptr<const RunArray>> runs;
  auto runArray =
      [&](const std::string &name) -> std::shared_ptr<const RunArray> {
    auto it = runs.find(name);
    if (it != runs.end())
      return it->second;
    auto a = arrays.find(name);
    auto r = a == arrays.end() ? nullptr : RunArray::make(a->second);
    runs[name] = r;
    return r;
  };
  // Each set (a selector's choice, an index array) is sorted once.
  std::map<std::string, std::shared_ptr<const std::vector<int64_t>>> sets;
  auto sortedSet = [&](const std::string &name)
      -> std::shared_ptr<const std::vector<int64_t>> {
    auto it = sets.find(name);
    if (it != sets.end())
      return it->second;
    auto a = arrays.find(name);
    std::shared_ptr<std::vector<int64_t>> s;
    if (a != arrays.end()) {
      s = std::make_shared<std::vector<int64_t>>(a->second);
      std::sort(s->begin(), s->end());
      s->erase(std::unique(s->begin(), s->end()), s->end());
    }
    sets[name] = s;
    return s;
  };
  // Lists per query block, each sorted without duplicates, from their flat
  // form (flattenBlockSets); null when absent or malformed.
  std::map<std::string,
           std::shared_ptr<const std::vector<std::vector<int64_t>>>>
      blockLists;
  auto blockSets = [&](const std::string &name)
      -> std::shared_ptr<const std::vector<std::vector<int64_t>>> {
    if (auto it = blockLists.find(name); it != blockLists.end())
      return it->second;
    std::shared_ptr<std::vector<std::vector<int64_t>>> rows;
    if (auto a = arrays.find(name); a != arrays.end() && !a->second.empty()) {
      const std::vector<int64_t> &f = a->second;
      rows = std::make_shared<std::vector<std::vector<int64_t>>>();
      size_t at = 1;
      for (int64_t r = 0; r < f[0] && rows; ++r) {
        if (at >= f.size() || f[at] < 0 ||
            static_cast<uint64_t>(f[at]) > f.size() - at - 1) {
          rows = nullptr;
          break;
        }
        std::vector<int64_t> row(f.begin() + at + 1,
                                 f.begin() + at + 1 + f[at]);
        at += 1 + f[at];
        std::sort(row.begin(), row.end());
        row.erase(std::unique(row.begin(), row.end()), row.end());
        rows->push_back(std::move(row));
      }
    }
    blockLists[name] = rows;
    return rows;
  };
  KvSchedule out;
  out.lq = lq;
  out.lk = lk;
  out.tileQ = tileQ;
  out.tileK = tileK;
  out.hasComplement = s.hasComplement;
  // c + sum(coef * value); false (and `error`) when a symbol is unbound,
  // nullopt-like overflow reported through `overflow`.
  // Derived symbols (`@N`: instruction N of the predicate, free of q and k)
  // are computed by the predicate itself, bound once.
  std::shared_ptr<const TileMask> derived;
  bool derivedBound = false;
  auto derivedValue = [&](const std::string &name, int64_t &v,
                          bool &overflow) -> bool {
    if (!derivedBound) {
      derivedBound = true;
      std::map<std::string, int64_t> bound = values;
      bound["Lq"] = lq;
      bound["Lk"] = lk;
      std::string missing;
      derived = TileMask::bind(s.predicate, bound, arrays, missing);
      if (!derived)
        error = "the schedule needs a value for `" + missing + "`";
    }
    if (!derived)
      return false;
    const int64_t n = std::strtoll(name.c_str() + 1, nullptr, 10);
    AbstractInt x = derived->valueOf(static_cast<int32_t>(n));
    if (x.isConstant())
      v = x.lo;
    else
      overflow = true; // sound: the atom becomes opaque
    return true;
  };
  auto eval = [&](const SymExpr &e, int64_t &out, bool &overflow) -> bool {
    out = e.constant;
    for (auto &[name, coef] : e.terms) {
      int64_t v = 0;
      if (!name.empty() && name[0] == '@') {
        if (!derivedValue(name, v, overflow))
          return false;
      } else if (name == "Lq")
        v = lq;
      else if (name == "Lk")
        v = lk;
      else if (auto it = values.find(name); it != values.end())
        v = it->second;
      else {
        error = "the schedule needs a value for `" + name + "`";
        return false;
      }
      int64_t prod;
      if (__builtin_mul_overflow(coef, v, &prod) ||
          __builtin_add_overflow(out, prod, &out))
        overflow = true;
    }
    return true;
  };
  auto bindDnf = [&](const std::vector<SymClause> &dnf,
                     std::vector<Clause> &dst) -> bool {
    for (const SymClause &c : dnf) {
      Clause clause;
      for (const SymAtom &t : c) {
        LinearAtom atom;
        if (t.setBlock > 0) {
          // Chosen per query block; unknown until given: opaque (sound).
          atom.blockSets = blockSets(t.setName);
          atom.setBlock = t.setBlock;
          atom.negated = t.negated;
          atom.opaque = !atom.blockSets;
          clause.atoms.push_back(atom);
          continue;
        }
        if (!t.setName.empty()) {
          // Unknown until given: an opaque atom (sound).
          atom.set = sortedSet(t.setName);
          atom.onDiagonal = t.setOnDiagonal;
          atom.negated = t.negated;
          atom.opaque = !atom.set;
          clause.atoms.push_back(atom);
          continue;
        }
        if (!t.runArray.empty()) {
          // Unknown or not sorted: an opaque atom (sound).
          atom.runs = runArray(t.runArray);
          atom.negated = t.negated;
          atom.opaque = !atom.runs;
          clause.atoms.push_back(atom);
          continue;
        }
        atom.opaque = t.opaque;
        atom.where = t.where;
        atom.residue = t.residue;
        atom.negated = t.residue > 0 && t.negated;
        atom.a = t.a;
        atom.b = t.b;
        bool overflow = false;
        int64_t rhs = 0, offset = 0;
        if (!eval(t.rhs, rhs, overflow) || !eval(t.offset, offset, overflow))
          return false;
        atom.modulus = t.modulus;
        atom.offset = offset;
        atom.aQ = t.aQ;
        atom.qDiv = t.qDiv;
        atom.qOff = t.qOff;
        atom.bK = t.bK;
        atom.kDiv = t.kDiv;
        atom.kOff = t.kOff;
        if (overflow) { // Sound: an unknown atom.
          atom.opaque = true;
          atom.modulus = 0;
        }
        atom.rhs = rhs;
        clause.atoms.push_back(atom);
      }
      dst.push_back(std::move(clause));
    }
    return true;
  };
  if (!bindDnf(s.clauses, out.clauses) ||
      !bindDnf(s.complement, out.complement))
    return std::nullopt;
  bindExactMask(s, values, lq, lk, arrays, out);
  return out;
}

namespace {
using box::floorDiv;

/// Atom `t` over class r's indices: q = r + d*i, k = r + d*j.
LinearAtom residueAtom(const LinearAtom &t, int64_t d, int64_t r) {
  LinearAtom unknown;
  unknown.opaque = true;
  if (t.opaque || t.isRun() || t.isSet() || t.isBlockSet())
    return unknown;
  LinearAtom u = t;
  // floor((r + d*i + off) / div) = floor((i + floor((r + off) / d)) /
  // (div / d)) when d divides div.
  auto mapBlock = [&](int64_t coef, int64_t &div, int64_t &off) {
    if (coef == 0)
      return true;
    int64_t shifted;
    if (div % d != 0 || __builtin_add_overflow(r, off, &shifted))
      return false;
    off = floorDiv(shifted, d);
    div /= d;
    return true;
  };
  if (!mapBlock(t.aQ, u.qDiv, u.qOff) || !mapBlock(t.bK, u.kDiv, u.kOff))
    return unknown;
  if (t.isCongruence())
    // A progression of keys changes with the class; one of block indices
    // alone only needed its blocks mapped.
    return t.b == 0 ? u : unknown;
  // a*q + b*k = d*(a*i + b*j) + (a + b)*r; then the whole atom is divided
  // by the gcd of its coefficients (the right side rounded down: the left
  // side is an integer).
  int64_t a, b, sum, shift, rhs;
  if (__builtin_mul_overflow(t.a, d, &a) ||
      __builtin_mul_overflow(t.b, d, &b) ||
      __builtin_add_overflow(t.a, t.b, &sum) ||
      __builtin_mul_overflow(sum, r, &shift) ||
      __builtin_sub_overflow(t.rhs, shift, &rhs))
    return unknown;
  int64_t g = 0;
  for (int64_t c : {a, b, t.aQ, t.bK}) {
    if (c == std::numeric_limits<int64_t>::min())
      return unknown;
    g = std::gcd(g, std::abs(c));
  }
  u.rhs = g > 0 ? floorDiv(rhs, g) : rhs;
  g = std::max<int64_t>(g, 1);
  u.a = a / g;
  u.b = b / g;
  u.aQ = t.aQ / g;
  u.bK = t.bK / g;
  return u;
}
} // namespace

int64_t scheduleDilation(const SymbolicSchedule &s) {
  // Beyond this many classes a class is a handful of positions.
  constexpr int64_t kMaxDilation = 4096;
  int64_t d = 0;
  for (const SymClause &c : s.clauses) {
    int64_t mine = 0;
    for (const SymAtom &t : c) {
      if (!t.runArray.empty() || !t.setName.empty())
        return 1;
      if (t.opaque && t.residue > 1 && !t.negated && mine == 0)
        mine = t.residue;
    }
    if (mine == 0)
      return 1;
    d = std::gcd(d, mine);
  }
  return d >= 2 && d <= kMaxDilation ? d : 1;
}

KvSchedule residueSchedule(const KvSchedule &s, int64_t d, int64_t r) {
  KvSchedule out;
  auto positions = [&](int64_t n) { return n > r ? (n - r + d - 1) / d : 0; };
  out.lq = positions(s.lq);
  out.lk = positions(s.lk);
  out.tileQ = s.tileQ;
  out.tileK = s.tileK;
  out.hasComplement = s.hasComplement;
  auto map = [&](const std::vector<Clause> &in, std::vector<Clause> &dst) {
    for (const Clause &c : in) {
      Clause mapped;
      bool never = false;
      for (const LinearAtom &t : c.atoms) {
        if (t.opaque && t.residue == d)
          never = never || t.negated; // true, or false when negated
        else
          mapped.atoms.push_back(residueAtom(t, d, r));
      }
      if (!never)
        dst.push_back(std::move(mapped));
    }
  };
  map(s.clauses, out.clauses);
  map(s.complement, out.complement);
  if (s.exactMask)
    out.exactMask = s.exactMask->mapped({d, r}, {d, r});
  out.exactStats = s.exactStats;
  return out;
}

namespace {
/// One head's tables, with offsets relative to its own start.
struct HeadTables {
  std::vector<int> segPtr, segs, gatherPtr, gatherKeys;
  int64_t visitedTiles = 0, queryTiles = 0;
  std::string error;
  bool ok = false;
};

void buildHeadTables(const KvSchedule &sched, int64_t queryTiles,
                     HeadTables &out, int threads) {
  out.queryTiles = queryTiles;
  out.segPtr.push_back(0);
  out.gatherPtr.push_back(0);
  const int64_t n = sched.queryTiles();
  std::vector<std::vector<KvSegment>> segments(static_cast<size_t>(n));
  std::vector<std::vector<KeyRun>> runs(static_cast<size_t>(n));
  auto rows = [&](const KvSchedule &s, int64_t first, int64_t step) {
    for (int64_t qt = first; qt < n; qt += step) {
      segments[qt] = s.kernelSegments(qt);
      runs[qt] = s.gather(qt, &segments[qt]);
    }
  };
  if (threads > 1 && sched.exactMask && n > 1) {
    // The exact tiers cost per query tile: rows in parallel, each thread
    // with its own counters.
    std::vector<KvSchedule> copies(static_cast<size_t>(threads), sched);
    std::vector<std::thread> pool;
    for (int t = 0; t < threads; ++t) {
      copies[t].exactStats = std::make_shared<TileDecisionStats>();
      if (sched.exactStats)
        copies[t].exactStats->blame.resize(sched.exactStats->blame.size());
      pool.emplace_back([&, t] { rows(copies[t], t, threads); });
    }
    for (std::thread &th : pool)
      th.join();
    if (sched.exactStats)
      for (const KvSchedule &c : copies)
        sched.exactStats->merge(*c.exactStats);
  } else {
    rows(sched, 0, 1);
  }
  for (int64_t qt = 0; qt < n; ++qt) {
    for (const KvSegment &seg : segments[qt]) {
      out.segs.push_back(static_cast<int>(seg.begin));
      out.segs.push_back(static_cast<int>(seg.end));
      out.segs.push_back(seg.kind == TileKind::Full ? 1 : 0);
      out.visitedTiles += seg.end - seg.begin;
    }
    // Keys every row may see first: the kernels then know a chunk needs no
    // mask from its last entry.
    for (bool full : {true, false})
      for (const KeyRun &r : runs[qt])
        for (int64_t i = 0; r.full == full && i < r.count; ++i) {
          const int key = static_cast<int>(r.start + i * r.step);
          out.gatherKeys.push_back(full ? key : gatheredPartialKey(key));
        }
    out.segPtr.push_back(static_cast<int>(out.segs.size() / 3));
    out.gatherPtr.push_back(static_cast<int>(out.gatherKeys.size()));
  }
  // Query tiles past this schedule's own (a class of fewer positions):
  // nothing to visit.
  for (int64_t qt = sched.queryTiles(); qt < queryTiles; ++qt) {
    out.segPtr.push_back(out.segPtr.back());
    out.gatherPtr.push_back(out.gatherPtr.back());
  }
}
} // namespace

KeyMajorTables keyMajorTables(const KernelTables &t, int64_t tileK,
                              int64_t lk) {
  KeyMajorTables out;
  out.schedules = t.heads * t.dilation;
  out.keyTiles = static_cast<int>((lk + tileK - 1) / tileK);
  const size_t cells = size_t(out.schedules) * size_t(out.keyTiles);
  out.tilePtr.assign(cells + 1, 0);
  out.gatherPtr.assign(cells + 1, 0);
  const int rows = t.queryTiles;
  auto keyTileOf = [&](int stored) {
    const int key = stored >= 0 ? stored : -stored - 2;
    return static_cast<int>(key / tileK);
  };
  // Counting sort in two passes: sizes, then entries; rows (query tiles)
  // are walked in order, so each key tile's list is in query order.
  for (int pass = 0; pass < 2; ++pass) {
    std::vector<int> tileAt, gatherAt;
    if (pass == 1) {
      for (size_t i = 0; i < cells; ++i) {
        out.tilePtr[i + 1] += out.tilePtr[i];
        out.gatherPtr[i + 1] += out.gatherPtr[i];
      }
      out.tiles.resize(size_t(out.tilePtr[cells]) * 2);
      out.gathers.resize(size_t(out.gatherPtr[cells]) * 2);
      tileAt.assign(out.tilePtr.begin(), out.tilePtr.end() - 1);
      gatherAt.assign(out.gatherPtr.begin(), out.gatherPtr.end() - 1);
    }
    for (int sched = 0; sched < out.schedules; ++sched)
      for (int qt = 0; qt < rows; ++qt) {
        // Each schedule's pointers are rows + 1 entries of their own.
        const int row = sched * (rows + 1) + qt;
        const size_t base = size_t(sched) * size_t(out.keyTiles);
        for (int g = t.segPtr[row]; g < t.segPtr[row + 1]; ++g)
          for (int kt = t.segs[3 * g]; kt < t.segs[3 * g + 1]; ++kt) {
            if (pass == 0) {
              ++out.tilePtr[base + kt + 1];
              continue;
            }
            const int at = tileAt[base + kt]++;
            out.tiles[2 * at] = qt;
            out.tiles[2 * at + 1] = t.segs[3 * g + 2];
          }
        for (int g = t.gatherPtr[row]; g < t.gatherPtr[row + 1]; ++g) {
          const int kt = keyTileOf(t.gatherKeys[g]);
          if (pass == 0) {
            ++out.gatherPtr[base + kt + 1];
            continue;
          }
          const int at = gatherAt[base + kt]++;
          out.gathers[2 * at] = qt;
          out.gathers[2 * at + 1] = t.gatherKeys[g];
        }
      }
  }
  return out;
}

KeyTileVisits keyTileVisits(const KernelTables &t, int64_t tileK, int64_t lk) {
  const KeyMajorTables k = keyMajorTables(t, tileK, lk);
  KeyTileVisits out;
  out.schedules = k.schedules;
  out.keyTiles = k.keyTiles;
  const size_t cells = size_t(k.schedules) * size_t(k.keyTiles);
  out.ptr.reserve(cells + 1);
  out.ptr.push_back(0);
  out.visits.reserve(k.tiles.size() / 2 + k.gathers.size() / 2);
  for (size_t c = 0; c < cells; ++c) {
    // Both lists are in query order: merge them, a query tile once (FULL
    // only when its segment says so and it gathers nothing here).
    int i = k.tilePtr[c], j = k.gatherPtr[c];
    const int iEnd = k.tilePtr[c + 1], jEnd = k.gatherPtr[c + 1];
    while (i < iEnd || j < jEnd) {
      const int qi =
          i < iEnd ? k.tiles[2 * i] : std::numeric_limits<int>::max();
      const int qj =
          j < jEnd ? k.gathers[2 * j] : std::numeric_limits<int>::max();
      const int qt = std::min(qi, qj);
      bool full = qi == qt && qj != qt && k.tiles[2 * i + 1] != 0;
      while (i < iEnd && k.tiles[2 * i] == qt)
        ++i;
      while (j < jEnd && k.gathers[2 * j] == qt)
        ++j;
      out.visits.push_back(qt << 1 | (full ? 1 : 0));
    }
    out.ptr.push_back(static_cast<int>(out.visits.size()));
  }
  return out;
}

std::string scheduleFingerprint(const KvSchedule &s) {
  // Only schedules whose tables and masks are functions of what is written
  // here: no sets, runs or chosen blocks (bound per head from arrays), and
  // no opaque atom unless the predicate (with all its values) decides it.
  // (Plain C++: `maskc aot` ships this file in its kernels.)
  std::string out;
  auto put = [&](int64_t v) { out += std::to_string(v) + ' '; };
  for (int64_t v : {s.lq, s.lk, s.tileQ, s.tileK, int64_t{s.hasComplement}})
    put(v);
  for (const std::vector<Clause> *dnf : {&s.clauses, &s.complement}) {
    for (const Clause &c : *dnf) {
      for (const LinearAtom &t : c.atoms) {
        if (t.isRun() || t.isSet() || t.isBlockSet() ||
            (t.opaque && !s.exactMask))
          return "";
        for (int64_t v : {t.a, t.b, t.rhs, int64_t{t.opaque}, t.modulus,
                          t.offset, t.aQ, t.qDiv, t.qOff, t.bK, t.kDiv, t.kOff,
                          int64_t{t.negated}, t.residue, int64_t{t.onDiagonal}})
          put(v);
        out += ';';
      }
      out += '/';
    }
    out += '|';
  }
  if (s.exactMask) {
    const std::string mask = s.exactMask->fingerprint();
    if (mask.empty())
      return "";
    out += mask;
  }
  return out;
}

bool buildKernelTables(
    const SymbolicSchedule &s, const std::map<std::string, int64_t> &values,
    const std::vector<std::map<std::string, int64_t>> &perHead, int heads,
    int64_t lq, int64_t lk, int64_t tileQ, int64_t tileK,
    const std::map<std::string, std::vector<int64_t>> &arrays,
    KernelTables &out, std::string &error,
    const std::vector<std::map<std::string, std::vector<int64_t>>>
        &perHeadArrays) {
  const int64_t dilation = scheduleDilation(s);
  // Class 0 has the most positions.
  const int64_t queryTiles =
      ((lq + dilation - 1) / dilation + tileQ - 1) / tileQ;
  const int units = std::max(heads, 0) * static_cast<int>(dilation);
  std::vector<HeadTables> parts(static_cast<size_t>(units));
  const int cores = std::clamp<int>(std::thread::hardware_concurrency(), 1, 16);
  // Heads are independent: several at once when there are many (a head's
  // tables for sets chosen at run time take milliseconds).
  auto parallel = [&](const std::function<void(int)> &fn) {
    const int threads = std::min(units, cores);
    if (threads <= 1) {
      for (int u = 0; u < units; ++u)
        fn(u);
      return;
    }
    std::vector<std::thread> pool;
    for (int t = 0; t < threads; ++t)
      pool.emplace_back([&, t] {
        for (int u = t; u < units; u += threads)
          fn(u);
      });
    for (std::thread &th : pool)
      th.join();
  };
  std::vector<std::optional<KvSchedule>> scheds(static_cast<size_t>(units));
  std::vector<std::string> prints(static_cast<size_t>(units));
  parallel([&](int unit) {
    const int h = unit / static_cast<int>(dilation);
    const int64_t r = unit % dilation;
    const std::map<std::string, int64_t> bound = headValues(values, perHead, h);
    std::optional<KvSchedule> &sched = scheds[unit];
    std::string &error = parts[unit].error;
    if (h < static_cast<int>(perHeadArrays.size())) {
      std::map<std::string, std::vector<int64_t>> own = arrays;
      for (auto &[name, v] : perHeadArrays[h])
        own[name] = v;
      sched = bindSchedule(s, bound, lq, lk, tileQ, tileK, error, own);
    } else {
      sched = bindSchedule(s, bound, lq, lk, tileQ, tileK, error, arrays);
    }
    if (sched && dilation > 1)
      sched = residueSchedule(*sched, dilation, r);
    else if (sched)
      prints[unit] = scheduleFingerprint(*sched);
  });
  // Heads whose bound schedules are the same (S2's `h % 8`: 8 of 32) share
  // one head's tables: built once, their rows pointing at its entries.
  std::vector<int> sameAs(static_cast<size_t>(units), -1);
  std::map<std::string, int> firstWith;
  int unique = 0;
  for (int u = 0; u < units; ++u) {
    if (!prints[u].empty()) {
      auto [it, fresh] = firstWith.emplace(prints[u], u);
      if (!fresh)
        sameAs[u] = it->second;
    }
    unique += sameAs[u] < 0;
  }
  // Few units: each spreads its query tiles over the cores left.
  const int innerThreads = std::max(1, cores / std::max(unique, 1));
  parallel([&](int unit) {
    if (!scheds[unit] || sameAs[unit] >= 0)
      return;
    buildHeadTables(*scheds[unit], queryTiles, parts[unit], innerThreads);
    parts[unit].ok = true;
  });
  out = KernelTables{};
  out.heads = heads;
  out.dilation = static_cast<int>(dilation);
  std::vector<std::pair<int, int>> bases(static_cast<size_t>(units));
  for (int u = 0; u < units; ++u) {
    const int owner = sameAs[u] >= 0 ? sameAs[u] : u;
    const HeadTables &part = parts[owner];
    if (!part.ok) {
      error = parts[u].error;
      return false;
    }
    // Each head's CSR offsets are relative to the whole table; a head with
    // another's schedule points at that one's entries.
    if (owner == u)
      bases[u] = {static_cast<int>(out.segs.size() / 3),
                  static_cast<int>(out.gatherKeys.size())};
    const auto [segBase, keyBase] = bases[owner];
    for (int v : part.segPtr)
      out.segPtr.push_back(segBase + v);
    for (int v : part.gatherPtr)
      out.gatherPtr.push_back(keyBase + v);
    out.visitedTiles += part.visitedTiles;
    out.queryTiles = static_cast<int>(part.queryTiles);
    if (owner != u)
      continue;
    out.segs.insert(out.segs.end(), part.segs.begin(), part.segs.end());
    out.gatherKeys.insert(out.gatherKeys.end(), part.gatherKeys.begin(),
                          part.gatherKeys.end());
  }
  out.gatheredKeys = static_cast<int64_t>(out.gatherKeys.size());
  return true;
}

TmaLayout tmaLayout(int64_t lk, int64_t kvHeads, int64_t batch,
                    const int64_t strides[3], int64_t headDimSize,
                    int64_t tileK) {
  struct Dim {
    uint64_t extent, stride; // stride in elements
    int which;               // 0 sequence, 1 head, 2 batch
  };
  // A dimension of extent 1 gets a large stride so that it sorts last (its
  // stride is never used).
  Dim dims[3] = {
      {static_cast<uint64_t>(lk), static_cast<uint64_t>(strides[1]), 0},
      {static_cast<uint64_t>(kvHeads), static_cast<uint64_t>(strides[2]), 1},
      {static_cast<uint64_t>(batch), static_cast<uint64_t>(strides[0]), 2}};
  for (Dim &d : dims)
    if (d.extent == 1)
      d.stride = uint64_t{1} << 35;
  std::stable_sort(dims, dims + 3, [](const Dim &x, const Dim &y) {
    return x.stride < y.stride;
  });
  TmaLayout t{};
  t.extents[0] = static_cast<uint64_t>(headDimSize);
  t.box[0] = 64;
  for (int i = 0; i < 3; ++i) {
    t.extents[i + 1] = dims[i].extent;
    t.strideBytes[i] = dims[i].stride * 2;
    t.box[i + 1] = dims[i].which == 0 ? static_cast<uint32_t>(tileK) : 1;
    (dims[i].which == 0   ? t.seqDim
     : dims[i].which == 1 ? t.headDim
                          : t.batchDim) = i + 1;
  }
  return t;
}

std::vector<int64_t>
flattenBlockSets(const std::vector<std::vector<int64_t>> &rows) {
  std::vector<int64_t> out{static_cast<int64_t>(rows.size())};
  for (const std::vector<int64_t> &row : rows) {
    out.push_back(static_cast<int64_t>(row.size()));
    out.insert(out.end(), row.begin(), row.end());
  }
  return out;
}

} // namespace maskjit::mask
