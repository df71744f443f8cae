// The host's part of the GPU schedule builder (compiler/SetSchedule.h): which
// patterns qualify, the clauses bound per head, and that the plan holds all
// the GPU needs: the builder's rule, run here in plain C++ for every query
// tile, gives the same tables as the host build (compareTables), tile kinds
// aside. The CUDA builder itself is compared with the host build on the GPU
// (`maskc run --check`, bench/gpu_tests.sh).
#include "PtxasUtil.h"
#include "SymbolicUtil.h"
#include "TestUtil.h"

#include "maskjit/runtime/GpuScheduleBuilder.h"
#include "maskjit/schedule/SetSchedule.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <random>

using namespace maskjit;
using namespace maskjit::mask;

namespace {
SymbolicSchedule scheduleOf(const std::string &file, const std::string &name,
                            std::vector<std::string> bindings = {}) {
  test::Loaded l =
      test::loadFile(std::string(MASKJIT_PATTERNS_DIR) + "/" + file + ".mask");
  EXPECT_NE(l.program, nullptr) << l.diagnostics;
  CompileOptions opts;
  opts.constants = test::constants(bindings);
  return test::symbolicFor(l, name, opts);
}

int64_t floorDiv(int64_t a, int64_t b) {
  return a / b - ((a % b != 0) && ((a < 0) != (b < 0)));
}

/// The rows of [lo, hi] where c*q <= r.
void bound(int64_t c, int64_t r, int64_t &lo, int64_t &hi) {
  if (c > 0)
    hi = std::min(hi, floorDiv(r, c));
  else if (c < 0)
    lo = std::max(lo, -floorDiv(r, -c));
  else if (r < 0)
    hi = lo - 1;
}

/// What codegen/kernels/schedule_build.cuh computes, one query tile at a
/// time: static tiles, tiles the diagonals reach (PARTIAL), then the
/// columns outside them, full ones first.
KernelTables
emulate(const SetSchedulePlan &plan,
        const std::vector<std::vector<std::vector<int64_t>>> &sets) {
  KernelTables out;
  out.heads = static_cast<int>(plan.heads.size());
  const int64_t qts = (plan.lq + plan.tileQ - 1) / plan.tileQ,
                kts = (plan.lk + plan.tileK - 1) / plan.tileK;
  out.queryTiles = static_cast<int>(qts);
  const KernelTables &st = plan.staticTables;
  for (int h = 0; h < out.heads; ++h)
    for (int64_t qt = 0; qt <= qts; ++qt) {
      out.segPtr.push_back(static_cast<int>(out.segs.size() / 3));
      out.gatherPtr.push_back(static_cast<int>(out.gatherKeys.size()));
      if (qt == qts)
        break;
      const int64_t q0 = qt * plan.tileQ,
                    q1 = std::min(plan.lq, q0 + plan.tileQ) - 1;
      std::vector<char> kind(kts, '.');
      const size_t row = h * (qts + 1) + qt;
      for (int i = st.segPtr[row]; i < st.segPtr[row + 1]; ++i)
        for (int kt = st.segs[3 * i]; kt < st.segs[3 * i + 1]; ++kt)
          kind[kt] = st.segs[3 * i + 2] ? 'F' : 'P';
      const BoundSetClause *columns = nullptr;
      for (const BoundSetClause &c : plan.heads[h]) {
        if (!c.diagonal) {
          columns = &c;
          continue;
        }
        for (int64_t d : sets[c.set][h]) {
          int64_t lo = std::max(q0, d), hi = std::min(q1, d + plan.lk - 1);
          for (const BoundAtom &t : c.atoms)
            bound(t.a + t.b, t.rhs + t.b * d, lo, hi);
          for (int64_t kt = lo - d; lo <= hi && kt <= hi - d; ++kt)
            if (kind[kt / plan.tileK] == '.')
              kind[kt / plan.tileK] = 'P';
        }
      }
      for (int64_t kt = 0; kt < kts; ++kt) {
        if (kind[kt] == '.')
          continue;
        const bool full = kind[kt] == 'F';
        const int last = static_cast<int>(out.segs.size()) - 3;
        if (last >= 0 && out.segs[last + 1] == kt &&
            out.segs[last + 2] == full &&
            static_cast<int>(out.segs.size() / 3) > out.segPtr.back())
          ++out.segs[last + 1];
        else
          out.segs.insert(
              out.segs.end(),
              {static_cast<int>(kt), static_cast<int>(kt + 1), full ? 1 : 0});
        out.visitedTiles += 1;
      }
      if (!columns)
        continue;
      std::vector<int64_t> keys = sets[columns->set][h];
      std::sort(keys.begin(), keys.end());
      keys.erase(std::unique(keys.begin(), keys.end()), keys.end());
      for (bool wantFull : {true, false})
        for (int64_t k : keys) {
          if (k < 0 || k >= plan.lk || kind[k / plan.tileK] != '.')
            continue;
          int64_t lo = q0, hi = q1;
          for (const BoundAtom &t : columns->atoms)
            bound(t.a, t.rhs - t.b * k, lo, hi);
          if (lo <= hi && (lo == q0 && hi == q1) == wantFull)
            out.gatherKeys.push_back(wantFull ? static_cast<int>(k)
                                              : gatheredPartialKey(k));
        }
    }
  out.gatheredKeys = static_cast<int64_t>(out.gatherKeys.size());
  return out;
}

} // namespace

TEST(SetSchedule, VerticalSlashClausesBoundPerHead) {
  const SymbolicSchedule s = scheduleOf("vertical_slash", "vertical_slash");
  std::string whyNot, error;
  auto plan = planSetSchedule(s, {}, {}, 3, 300, 1000, 128, 64, whyNot, error);
  ASSERT_TRUE(plan) << whyNot << error;
  EXPECT_EQ(plan->heads.size(), 3u);
  ASSERT_EQ(plan->setNames.size(), 2u);
  for (const std::vector<BoundSetClause> &head : plan->heads) {
    ASSERT_EQ(head.size(), 2u);
    EXPECT_NE(head[0].diagonal, head[1].diagonal);
    for (const BoundSetClause &c : head) {
      EXPECT_EQ(plan->setNames[c.set],
                c.diagonal ? "topk_diagonals" : "topk_columns");
      // Causal with Lq < Lk (bottom right): k - q <= 700, one atom.
      ASSERT_EQ(c.atoms.size(), 1u);
      for (int64_t q : {0, 299})
        for (int64_t k : {0, 699, 700, 999})
          EXPECT_EQ(c.atoms[0].a * q + c.atoms[0].b * k <= c.atoms[0].rhs,
                    k - q <= 700)
              << q << " " << k;
    }
  }
  EXPECT_EQ(plan->staticTables.segs.size(), 0u);
  EXPECT_EQ(plan->staticTables.segPtr.size(), 3u * (3 + 1));
}

TEST(SetSchedule, PatternsThatDoNotQualify) {
  std::string whyNot, error;
  // No sets: nothing for the GPU to add.
  EXPECT_FALSE(planSetSchedule(scheduleOf("causal", "causal_only"), {}, {}, 1,
                               256, 256, 128, 128, whyNot, error));
  EXPECT_FALSE(whyNot.empty());
  EXPECT_TRUE(error.empty());
  // `not in` a set, and two sets in one clause.
  for (const char *text :
       {"pattern p(c: int[]) { causal and not (k in c) }",
        "pattern p(c: int[], d: int[]) { k in c and q - k in d }"}) {
    test::Loaded l = test::load(text);
    ASSERT_NE(l.program, nullptr) << l.diagnostics;
    whyNot.clear();
    EXPECT_FALSE(planSetSchedule(test::symbolicFor(l, "p", {}), {}, {}, 1, 256,
                                 256, 128, 128, whyNot, error))
        << text;
    EXPECT_FALSE(whyNot.empty()) << text;
  }
}

// For random sets and shapes (Lq != Lk, lengths not multiples of the tile),
// the builder's rule over the plan gives the host's tables.
TEST(SetSchedule, BuilderRuleGivesTheHostTables) {
  std::mt19937_64 rng(11);
  struct Case {
    const char *file, *name;
    int heads;
  };
  for (const Case &c : {Case{"vertical_slash", "vertical_slash", 2},
                        Case{"mixed", "mixed", 12}}) {
    const SymbolicSchedule s = scheduleOf(c.file, c.name);
    for (int round = 0; round < 6; ++round) {
      const int64_t lq = 1 + rng() % 700, lk = 1 + rng() % 700;
      const int64_t tileQ = round % 2 ? 64 : 128, tileK = round % 3 ? 64 : 128;
      std::string whyNot, error;
      auto plan = planSetSchedule(s, {}, {}, c.heads, lq, lk, tileQ, tileK,
                                  whyNot, error);
      ASSERT_TRUE(plan) << c.name << ": " << whyNot << error;
      std::vector<std::vector<std::vector<int64_t>>> sets(
          plan->setNames.size());
      std::vector<std::map<std::string, std::vector<int64_t>>> perHead(c.heads);
      for (size_t i = 0; i < sets.size(); ++i)
        for (int h = 0; h < c.heads; ++h) {
          const bool diagonal = plan->setNames[i] == "topk_diagonals";
          sets[i].push_back(diagonal ? test::randomSet(rng, 6, 1 - lk, lq - 1)
                                     : test::randomSet(rng, 40, 0, lk - 1));
          perHead[h][plan->setNames[i]] = sets[i].back();
        }
      KernelTables host;
      ASSERT_TRUE(buildKernelTables(s, {}, {}, c.heads, lq, lk, tileQ, tileK,
                                    {}, host, error, perHead))
          << error;
      const KernelTables gpuRule = emulate(*plan, sets);
      const int64_t keyTiles = (lk + tileK - 1) / tileK;
      EXPECT_EQ(compareTables(host, gpuRule, keyTiles), "")
          << c.name << " Lq=" << lq << " Lk=" << lk << " tiles " << tileQ << "x"
          << tileK;
      EXPECT_GT(host.visitedTiles + host.gatheredKeys, 0);
    }
  }
}

/// Query tile qt of schedule row r (no dilation): its segments, then its
/// gathered keys.
std::vector<int> rowTile(const KernelTables &t, int r, int qt) {
  const int at = r * (t.queryTiles + 1) + qt;
  std::vector<int> out(t.segs.begin() + 3 * t.segPtr[at],
                       t.segs.begin() + 3 * t.segPtr[at + 1]);
  out.push_back(-1);
  out.insert(out.end(), t.gatherKeys.begin() + t.gatherPtr[at],
             t.gatherKeys.begin() + t.gatherPtr[at + 1]);
  return out;
}

// Sets estimated for a batch give each (sequence, head) row its schedule;
// the launcher binds row r's own head and sequence (h = r % heads, b = r /
// heads) through the per-row values. With per-head dispatch (mixed: heads
// 0-7 A-shape, 8-11 vertical-slash), row r must get head r % 12's schedule
// under its own sets, both from the host build and from the GPU builder's
// rule over the plan.
TEST(SetSchedule, RowsOfABatchBindTheirOwnHead) {
  std::mt19937_64 rng(5);
  const SymbolicSchedule s = scheduleOf("mixed", "mixed");
  const int heads = 12, batch = 2, rows = batch * heads;
  const int64_t lq = 700, lk = 900, tile = 64;
  std::vector<std::map<std::string, int64_t>> perRow(rows);
  for (int r = 0; r < rows; ++r)
    perRow[r] = {{"h", r % heads}, {"b", r / heads}};
  std::string whyNot, error;
  auto plan =
      planSetSchedule(s, {}, perRow, rows, lq, lk, tile, tile, whyNot, error);
  ASSERT_TRUE(plan) << whyNot << error;
  std::vector<std::vector<std::vector<int64_t>>> sets(plan->setNames.size());
  std::vector<std::map<std::string, std::vector<int64_t>>> rowSets(rows);
  for (size_t i = 0; i < sets.size(); ++i)
    for (int r = 0; r < rows; ++r) {
      const bool diagonal = plan->setNames[i] == "topk_diagonals";
      sets[i].push_back(diagonal ? test::randomSet(rng, 6, 1 - lk, lq - 1)
                                 : test::randomSet(rng, 40, 0, lk - 1));
      rowSets[r][plan->setNames[i]] = sets[i].back();
    }
  KernelTables host;
  ASSERT_TRUE(buildKernelTables(s, {}, perRow, rows, lq, lk, tile, tile, {},
                                host, error, rowSets))
      << error;
  EXPECT_EQ(compareTables(host, emulate(*plan, sets), (lk + tile - 1) / tile),
            "");
  // Each sequence's rows, built as the heads of one sequence.
  for (int b = 0; b < batch; ++b) {
    std::vector<std::map<std::string, std::vector<int64_t>>> one(
        rowSets.begin() + b * heads, rowSets.begin() + (b + 1) * heads);
    KernelTables single;
    ASSERT_TRUE(buildKernelTables(s, {}, {}, heads, lq, lk, tile, tile, {},
                                  single, error, one))
        << error;
    ASSERT_EQ(single.queryTiles, host.queryTiles);
    for (int h = 0; h < heads; ++h)
      for (int qt = 0; qt < host.queryTiles; ++qt)
        EXPECT_EQ(rowTile(host, b * heads + h, qt), rowTile(single, h, qt))
            << "sequence " << b << " head " << h << " query tile " << qt;
  }
  // Without its own h, a second-sequence row would take the A-shape heads
  // for vertical-slash ones (h = 12..19): the rows above differ from that.
  KernelTables unbound;
  ASSERT_TRUE(buildKernelTables(s, {}, {}, rows, lq, lk, tile, tile, {},
                                unbound, error, rowSets))
      << error;
  bool differs = false;
  for (int qt = 0; qt < host.queryTiles; ++qt)
    differs |= rowTile(host, heads, qt) != rowTile(unbound, heads, qt);
  EXPECT_TRUE(differs);
}

TEST(SetSchedule, CompareTablesFindsDifferences) {
  KernelTables a;
  a.heads = 1;
  a.queryTiles = 1;
  a.segPtr = {0, 2};
  a.segs = {0, 2, 1, 3, 4, 0};
  a.gatherPtr = {0, 2};
  a.gatherKeys = {300, gatheredPartialKey(400)};
  KernelTables b = a;
  EXPECT_EQ(compareTables(a, b, 8), "");
  // FULL called PARTIAL: allowed one way only.
  b.segs = {0, 1, 1, 1, 2, 0, 3, 4, 0};
  b.segPtr = {0, 3};
  EXPECT_EQ(compareTables(a, b, 8), "");
  EXPECT_NE(compareTables(b, a, 8), "");
  // A tile more, a key less, a flag changed.
  KernelTables c = a;
  c.segs[4] = 5;
  EXPECT_NE(compareTables(a, c, 8), "");
  c = a;
  c.gatherKeys = {300};
  c.gatherPtr = {0, 1};
  EXPECT_NE(compareTables(a, c, 8), "");
  c = a;
  c.gatherKeys[0] = gatheredPartialKey(300);
  EXPECT_NE(compareTables(a, c, 8), "");
}

TEST(SetSchedule, BuilderSourceCompilesWithNvrtc) {
  if (!runtime::Nvrtc::available())
    GTEST_SKIP() << "no NVRTC on this machine";
  for (const char *arch : {"sm_80", "sm_90a"}) {
    runtime::Nvrtc::Output o;
    ASSERT_NO_THROW(
        o = runtime::Nvrtc::get().compile(runtime::GpuScheduleBuilder::source(),
                                          "sb.cu", arch, {}))
        << arch;
    EXPECT_FALSE(o.cubin.empty());
    for (const char *kernel : {"mj_sb_build", "mj_sb_scan"})
      EXPECT_NE(o.ptx.find(kernel), std::string::npos) << kernel;
    const std::string ptxas = test::findPtxas();
    if (ptxas.empty())
      continue;
    test::PtxasResult r = test::assemble(ptxas, o.ptx, arch);
    EXPECT_TRUE(r.ok) << r.output;
    EXPECT_EQ(r.functions, 2) << r.output;
    EXPECT_EQ(r.spilling, 0) << arch << "\n" << r.output;
  }
}
