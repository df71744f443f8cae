//===- SetSchedule.cpp - Schedules of set patterns, built on the GPU ------===//
#include "maskjit/schedule/SetSchedule.h"

#include <algorithm>

namespace maskjit::mask {

namespace {
/// The complement without its set conditions holds on more pairs than the
/// complement: a tile where none of it can hold is still FULL (sound).
std::vector<SymClause> withoutSets(const std::vector<SymClause> &complement) {
  std::vector<SymClause> out;
  for (const SymClause &c : complement) {
    SymClause kept;
    for (const SymAtom &t : c)
      if (t.setName.empty())
        kept.push_back(t);
    out.push_back(std::move(kept));
  }
  return out;
}

SetSchedulePlan emptyPlan(int64_t lq, int64_t lk, int64_t tileQ,
                          int64_t tileK) {
  SetSchedulePlan plan;
  plan.lq = lq;
  plan.lk = lk;
  plan.tileQ = tileQ;
  plan.tileK = tileK;
  return plan;
}

bool isPlainLinear(const SymAtom &t) {
  return t.setName.empty() && t.runArray.empty() && !t.opaque &&
         t.modulus == 0 && t.aQ == 0 && t.bK == 0;
}
/// Sets chosen per query block: every clause must have the same one (a
/// conjunct of the whole mask), and no other set. nullopt with neither
/// `whyNot` nor `error` when the pattern has no block sets.
std::optional<SetSchedulePlan>
planBlockSchedule(const SymbolicSchedule &s,
                  const std::map<std::string, int64_t> &values,
                  const std::vector<std::map<std::string, int64_t>> &perHead,
                  int heads, int64_t lq, int64_t lk, int64_t tileQ,
                  int64_t tileK, std::string &whyNot, std::string &error) {
  const SymAtom *first = nullptr;
  for (const SymClause &c : s.clauses)
    for (const SymAtom &t : c)
      if (t.setBlock > 0 && !first)
        first = &t;
  if (!first)
    return std::nullopt;
  SymbolicSchedule rest;
  rest.hasComplement = s.hasComplement;
  for (const SymClause &c : s.clauses) {
    SymClause kept;
    int found = 0;
    for (const SymAtom &t : c) {
      if (t.setBlock > 0 && t.setName == first->setName &&
          t.setBlock == first->setBlock && !t.negated) {
        ++found;
        continue;
      }
      if (!t.setName.empty()) {
        whyNot = "a clause with sets chosen per query block has another set";
        return std::nullopt;
      }
      kept.push_back(t);
    }
    if (found != 1) {
      whyNot = "not every clause is in the blocks chosen per query block";
      return std::nullopt;
    }
    rest.clauses.push_back(std::move(kept));
  }
  rest.complement = withoutSets(s.complement);
  SetSchedulePlan plan = emptyPlan(lq, lk, tileQ, tileK);
  plan.blockSet = first->setName;
  plan.block = first->setBlock;
  plan.heads.resize(heads);
  if (!buildKernelTables(rest, values, perHead, heads, lq, lk, tileQ, tileK, {},
                         plan.staticTables, error))
    return std::nullopt;
  if (plan.staticTables.gatheredKeys > 0) {
    whyNot = "the clauses gather keys besides their chosen blocks";
    return std::nullopt;
  }
  return plan;
}

} // namespace

std::optional<SetSchedulePlan>
planSetSchedule(const SymbolicSchedule &s,
                const std::map<std::string, int64_t> &values,
                const std::vector<std::map<std::string, int64_t>> &perHead,
                int heads, int64_t lq, int64_t lk, int64_t tileQ, int64_t tileK,
                std::string &whyNot, std::string &error) {
  SymbolicSchedule setPart, staticPart;
  std::vector<const SymAtom *> setAtoms;
  if (std::optional<SetSchedulePlan> blocks = planBlockSchedule(
          s, values, perHead, heads, lq, lk, tileQ, tileK, whyNot, error);
      blocks || !error.empty() || !whyNot.empty())
    return blocks;
  for (const SymClause &c : s.clauses) {
    const SymAtom *set = nullptr;
    bool plain = true;
    for (const SymAtom &t : c) {
      if (!t.setName.empty()) {
        if (t.negated) {
          whyNot = "a clause has `not in` a set";
          return std::nullopt;
        }
        if (set) {
          whyNot = "a clause has two set conditions";
          return std::nullopt;
        }
        set = &t;
      } else if (!isPlainLinear(t)) {
        plain = false;
      }
    }
    if (!set) {
      staticPart.clauses.push_back(c);
      continue;
    }
    if (!plain) {
      whyNot = "a clause with a set has a condition that is not linear in q "
               "and k";
      return std::nullopt;
    }
    setPart.clauses.push_back(c);
    setAtoms.push_back(set);
  }
  if (setPart.clauses.empty()) {
    whyNot = "no clause has a set";
    return std::nullopt;
  }
  staticPart.hasComplement = s.hasComplement;
  staticPart.complement = withoutSets(s.complement);

  SetSchedulePlan plan = emptyPlan(lq, lk, tileQ, tileK);
  for (const SymAtom *t : setAtoms)
    if (std::find(plan.setNames.begin(), plan.setNames.end(), t->setName) ==
        plan.setNames.end())
      plan.setNames.push_back(t->setName);
  for (int h = 0; h < heads; ++h) {
    const std::map<std::string, int64_t> bound = headValues(values, perHead, h);
    std::optional<KvSchedule> sched =
        bindSchedule(setPart, bound, lq, lk, tileQ, tileK, error);
    if (!sched)
      return std::nullopt;
    std::vector<BoundSetClause> clauses;
    int columnClauses = 0;
    for (size_t ci = 0; ci < sched->clauses.size(); ++ci) {
      BoundSetClause bc;
      bc.diagonal = setAtoms[ci]->setOnDiagonal;
      bc.set =
          static_cast<int>(std::find(plan.setNames.begin(), plan.setNames.end(),
                                     setAtoms[ci]->setName) -
                           plan.setNames.begin());
      bool alive = true;
      for (size_t ai = 0; ai < sched->clauses[ci].atoms.size(); ++ai) {
        const SymAtom &sym = setPart.clauses[ci][ai];
        if (!sym.setName.empty())
          continue;
        const LinearAtom &t = sched->clauses[ci].atoms[ai];
        if (t.opaque) {
          whyNot = "a bound condition overflows";
          return std::nullopt;
        }
        if (t.a == 0 && t.b == 0) {
          // A condition on the head or the lengths only: decided now.
          alive = alive && t.rhs >= 0;
          continue;
        }
        bc.atoms.push_back({t.a, t.b, t.rhs});
      }
      if (!alive)
        continue;
      columnClauses += !bc.diagonal;
      clauses.push_back(std::move(bc));
    }
    if (columnClauses > 1) {
      whyNot = "a head has two clauses with column sets";
      return std::nullopt;
    }
    plan.heads.push_back(std::move(clauses));
  }
  if (!buildKernelTables(staticPart, values, perHead, heads, lq, lk, tileQ,
                         tileK, {}, plan.staticTables, error))
    return std::nullopt;
  if (plan.staticTables.gatheredKeys > 0) {
    whyNot = "a clause without a set gathers keys too";
    return std::nullopt;
  }
  return plan;
}

std::string compareTables(const KernelTables &exact, const KernelTables &approx,
                          int64_t keyTiles) {
  if (exact.heads != approx.heads || exact.queryTiles != approx.queryTiles)
    return "different numbers of heads or query tiles";
  const int qts = exact.queryTiles;
  auto expand = [&](const KernelTables &t, size_t row) {
    std::vector<char> kinds(static_cast<size_t>(keyTiles), '.');
    for (int i = t.segPtr[row]; i < t.segPtr[row + 1]; ++i)
      for (int kt = t.segs[3 * i]; kt < t.segs[3 * i + 1]; ++kt)
        if (kt >= 0 && kt < keyTiles)
          kinds[kt] = t.segs[3 * i + 2] ? 'F' : 'P';
    return kinds;
  };
  for (int h = 0; h < exact.heads; ++h)
    for (int qt = 0; qt < qts; ++qt) {
      const size_t row = static_cast<size_t>(h) * (qts + 1) + qt;
      const std::string where = "head " + std::to_string(h) + ", query tile " +
                                std::to_string(qt) + ": ";
      const std::vector<char> e = expand(exact, row), a = expand(approx, row);
      for (int64_t kt = 0; kt < keyTiles; ++kt) {
        if ((e[kt] == '.') != (a[kt] == '.'))
          return where + "key tile " + std::to_string(kt) + " is '" + e[kt] +
                 "' and '" + a[kt] + "'";
        if (a[kt] == 'F' && e[kt] != 'F')
          return where + "key tile " + std::to_string(kt) +
                 " is FULL but should be PARTIAL";
      }
      auto keys = [&](const KernelTables &t) {
        return std::vector<int>(t.gatherKeys.begin() + t.gatherPtr[row],
                                t.gatherKeys.begin() + t.gatherPtr[row + 1]);
      };
      if (keys(exact) != keys(approx))
        return where + "gathers " + std::to_string(keys(exact).size()) +
               " and " + std::to_string(keys(approx).size()) +
               " keys (or others, or in another order)";
    }
  return "";
}

} // namespace maskjit::mask
