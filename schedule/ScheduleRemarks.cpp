//===- ScheduleRemarks.cpp - Which tier decided a schedule's tiles --------===//
#include "maskjit/schedule/ScheduleRemarks.h"

#include <fmt/format.h>

#include <algorithm>
#include <map>

namespace maskjit::mask {
namespace {

/// How the closed forms read one atom, in words.
const char *atomKind(const SymAtom &t) {
  if (t.opaque)
    return t.residue > 0 ? "congruence of q and k" : "opaque";
  if (!t.runArray.empty())
    return "run";
  if (t.setBlock > 0)
    return "key-block set";
  if (!t.setName.empty())
    return "set";
  if (t.modulus > 0)
    return "congruence";
  return "linear";
}

std::string clauseList(const std::vector<size_t> &clauses, size_t n) {
  // Runs of consecutive clauses as first-last.
  std::string list;
  for (size_t i = 0; i < clauses.size();) {
    size_t j = i;
    while (j + 1 < clauses.size() && clauses[j + 1] == clauses[j] + 1)
      ++j;
    list += (i ? ", " : "") + std::to_string(clauses[i] + 1);
    if (j > i)
      list += (j > i + 1 ? "-" : ", ") + std::to_string(clauses[j] + 1);
    i = j + 1;
  }
  return fmt::format("{} {} of {}", clauses.size() == 1 ? "clause" : "clauses",
                     list, n);
}

/// One remark per clause read whole by the closed forms, one per opaque
/// comparison (with the clauses it is in).
void clauseRemarks(const SymbolicSchedule &sym, const KvSchedule &bound,
                   std::vector<ScheduleRemark> &out) {
  const size_t n = sym.clauses.size();
  std::map<std::string, std::vector<size_t>> opaqueAt, overBudgetAt;
  std::vector<size_t> unplaced;
  // Clauses alike (abs, min and max split into several) share one remark.
  std::vector<std::pair<std::string, std::vector<size_t>>> described;
  for (size_t i = 0; i < n; ++i) {
    std::map<std::string, int> kinds;
    bool opaque = false;
    for (size_t j = 0; j < sym.clauses[i].size(); ++j) {
      const SymAtom &t = sym.clauses[i][j];
      // A set, run or block set not given for this shape is opaque here.
      const bool given = i >= bound.clauses.size() ||
                         j >= bound.clauses[i].atoms.size() ||
                         !bound.clauses[i].atoms[j].opaque || t.opaque;
      if (!given) {
        ++kinds[std::string(atomKind(t)) + " not given (opaque)"];
        opaque = true;
        continue;
      }
      ++kinds[atomKind(t)];
      if (t.opaque && t.residue == 0) {
        opaque = true;
        auto &at = t.overBudget ? overBudgetAt : opaqueAt;
        if (t.where.empty())
          unplaced.push_back(i);
        else if (at[t.where].empty() || at[t.where].back() != i)
          at[t.where].push_back(i);
      }
    }
    std::string parts;
    for (auto &[kind, count] : kinds)
      parts += fmt::format("{}{} {}", parts.empty() ? "" : ", ", count, kind);
    if (kinds.empty())
      parts = "no atoms: always true";
    const bool gathered = i < bound.clauses.size() && bound.isGathered(i);
    const std::string text = fmt::format(
        "({}): {}{}", parts,
        !opaque ? "decided by the closed forms"
        : bound.exactMask
            ? "the predicate's tiers decide the tiles its opaque atoms touch"
            : "the tiles its opaque atoms touch stay PARTIAL (no predicate "
              "to decide them)",
        gathered ? "; its keys are gathered" : "");
    auto same = std::find_if(described.begin(), described.end(),
                             [&](auto &d) { return d.first == text; });
    if (same == described.end())
      described.push_back({text, {i}});
    else
      same->second.push_back(i);
  }
  for (auto &[text, clauses] : described)
    out.push_back({"", clauseList(clauses, n) + " " + text});
  for (auto &[where, clauses] : overBudgetAt)
    out.push_back(
        {where, fmt::format("the DNF grows past its budget of clauses here "
                            "({}): the closed forms read none of it, and the "
                            "predicate's tiers decide its tiles",
                            clauseList(clauses, n))});
  for (auto &[where, clauses] : opaqueAt)
    out.push_back(
        {where,
         fmt::format("the closed forms cannot read this comparison ({}): it is "
                     "not linear in q and k, in blocks of them, a congruence, "
                     "a set or a run, so the tiles it touches go to the "
                     "predicate's tiers",
                     clauseList(clauses, n))});
  if (!unplaced.empty())
    out.push_back({"", fmt::format("{} holds an atom past the analysis' "
                                   "budget (clauses or case splits): opaque",
                                   clauseList(unplaced, n))});
}

} // namespace

std::vector<ScheduleRemark> scheduleRemarks(const SymbolicSchedule &sym,
                                            const KvSchedule &bound) {
  std::vector<ScheduleRemark> out;
  clauseRemarks(sym, bound, out);
  // The kernel's tiles, counted afresh.
  KvSchedule s = bound;
  s.exactStats = std::make_shared<TileDecisionStats>();
  if (s.exactMask)
    s.exactStats->blame.resize(sym.predicate.code.size());
  int64_t full = 0, partial = 0, gathered = 0;
  for (int64_t qt = 0; qt < s.queryTiles(); ++qt) {
    const std::vector<KvSegment> segs = s.kernelSegments(qt);
    for (const KvSegment &seg : segs)
      (seg.kind == TileKind::Full ? full : partial) += seg.end - seg.begin;
    for (const KeyRun &r : s.gather(qt, &segs))
      gathered += r.count;
  }
  const int64_t tiles = s.queryTiles() * s.keyTiles();
  const TileDecisionStats &st = *s.exactStats;
  std::string visits = fmt::format(
      "Lq={} Lk={}, tiles {}x{}: the kernel visits {} of {} tiles ({} FULL, {} "
      "PARTIAL){}",
      s.lq, s.lk, s.tileQ, s.tileK, full + partial, tiles, full, partial,
      gathered ? fmt::format(" and gathers {} keys", gathered) : "");
  if (s.exactMask && st.refinedTiles == 0) {
    out.push_back({"", visits + "; the closed forms decided every tile"});
    return out;
  }
  if (!s.exactMask) {
    out.push_back(
        {"",
         visits + (s.exact() ? "; the closed forms decided every tile"
                             : "; the closed forms are not exact here and "
                               "the pattern has no predicate to decide "
                               "their PARTIAL tiles (a dynamic selector "
                               "or a set): some may hold no allowed pair")});
    return out;
  }
  const int64_t exactTiles = st.refinedTiles - st.domainTiles;
  out.push_back(
      {"", fmt::format("{}; the closed forms decided {} tiles, the abstract "
                       "domain {} of the {} they left open, and the exact "
                       "evaluation the other {} ({} abstract evaluations{})",
                       visits, tiles - st.refinedTiles, st.domainTiles,
                       st.refinedTiles, exactTiles, st.boxes,
                       st.pairs ? fmt::format(", {} pairs no domain could "
                                              "know: PARTIAL",
                                              st.pairs)
                                : "")});
  // Where the domain gave up most often.
  std::vector<std::pair<int64_t, size_t>> blamed;
  for (size_t i = 0; i < st.blame.size(); ++i)
    if (st.blame[i] > 0)
      blamed.push_back({st.blame[i], i});
  std::sort(blamed.begin(), blamed.end(),
            [](auto &x, auto &y) { return x.first > y.first; });
  for (size_t j = 0; j < std::min<size_t>(3, blamed.size()); ++j) {
    const size_t i = blamed[j].second;
    const std::string where =
        i < sym.predicate.locations.size() ? sym.predicate.locations[i] : "";
    out.push_back(
        {where, fmt::format("the abstract domain could not decide {} of the "
                            "{} tiles it left to the exact evaluation here: "
                            "over such a tile this value's bounds leave both "
                            "answers possible",
                            blamed[j].first, exactTiles)});
  }
  return out;
}

} // namespace maskjit::mask
