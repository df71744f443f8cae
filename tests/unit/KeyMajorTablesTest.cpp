//===- KeyMajorTablesTest.cpp - The forward schedule read by key tile -----===//
//
// The key-major tables a backward pass reads must visit exactly the
// (query, key) pairs the forward tables do, each key tile's query tiles in
// order, and so hold every pair the reference evaluator allows (FULL
// entries only allowed pairs). Checked on patterns with whole tiles,
// gathered keys (strided), a runtime array (documents), per-head values,
// and Lq != Lk.
//
//===----------------------------------------------------------------------===//
#include "SymbolicUtil.h"

#include "maskjit/schedule/ScheduleBinding.h"

#include <gtest/gtest.h>

#include <set>
#include <tuple>

using namespace maskjit;

namespace {

const char *kPatterns = R"(
pattern sw(w: int) { causal and q - k < w }
pattern strided(stride: int, local: int) {
  causal and (q - k < local or k % stride == stride - 1)
}
pattern docs(doc: int[]) { causal and doc[q] == doc[k] }
pattern per_head(w: int[heads]) { causal and q - k < w[h] }
)";

struct Case {
  std::string name;
  std::map<std::string, int64_t> constants;
  int64_t lq, lk, tile, heads;
};

void checkCase(const test::Loaded &l, const Case &c) {
  const std::string what =
      c.name + " Lq=" + std::to_string(c.lq) + " Lk=" + std::to_string(c.lk);
  mask::CompileOptions opts;
  opts.constants = c.constants;
  opts.tileM = opts.tileN = c.tile;
  mask::SymbolicSchedule sym = test::symbolicFor(l, c.name, opts);
  std::vector<int64_t> doc(size_t(c.lq > c.lk ? c.lq : c.lk));
  for (size_t i = 0; i < doc.size(); ++i)
    doc[i] = int64_t(i) / 37;
  std::map<std::string, std::vector<int64_t>> arrays;
  std::vector<std::map<std::string, int64_t>> perHead;
  dsl::ParamBindings values;
  for (auto &[n, v] : c.constants)
    values[n] = dsl::ParamValue::integer(v);
  if (c.name == "docs") {
    arrays["doc"] = doc;
    values["doc"] = dsl::ParamValue::ints(doc);
  }
  std::vector<int64_t> windows;
  if (c.name == "per_head") {
    for (int64_t h = 0; h < c.heads; ++h) {
      windows.push_back(5 + 40 * h);
      perHead.push_back({{"w", windows.back()}, {"h", h}});
    }
    values["w"] = dsl::ParamValue::ints(windows);
    arrays["w"] = windows;
    values["w"].type = dsl::Type::HeadArray;
  }
  mask::KernelTables t;
  std::string error;
  ASSERT_TRUE(mask::buildKernelTables(sym, {{"b", 0}, {"h", 0}}, perHead,
                                      int(c.heads), c.lq, c.lk, c.tile, c.tile,
                                      arrays, t, error))
      << what << ": " << error;
  mask::KeyMajorTables k = mask::keyMajorTables(t, c.tile, c.lk);
  ASSERT_EQ(k.schedules, t.heads) << what;
  ASSERT_EQ(k.keyTiles, (c.lk + c.tile - 1) / c.tile) << what;
  for (int s = 0; s < t.heads; ++s) {
    // The forward tables' pairs of this schedule.
    std::set<std::tuple<int, int, int>> fwdTiles, keyTiles;
    std::set<std::pair<int, int>> fwdGathers, keyGathers;
    for (int qt = 0; qt < t.queryTiles; ++qt) {
      // Each schedule's rows start a pointer array of their own.
      const int row = s * (t.queryTiles + 1) + qt;
      for (int g = t.segPtr[row]; g < t.segPtr[row + 1]; ++g)
        for (int kt = t.segs[3 * g]; kt < t.segs[3 * g + 1]; ++kt)
          fwdTiles.insert({qt, kt, t.segs[3 * g + 2]});
      for (int g = t.gatherPtr[row]; g < t.gatherPtr[row + 1]; ++g)
        fwdGathers.insert({qt, t.gatherKeys[g]});
    }
    for (int kt = 0; kt < k.keyTiles; ++kt) {
      const int cell = s * k.keyTiles + kt;
      int lastQ = -1;
      for (int i = k.tilePtr[cell]; i < k.tilePtr[cell + 1]; ++i) {
        EXPECT_GT(k.tiles[2 * i], lastQ) << what << " key tile " << kt;
        lastQ = k.tiles[2 * i];
        keyTiles.insert({k.tiles[2 * i], kt, k.tiles[2 * i + 1]});
      }
      lastQ = -1;
      for (int i = k.gatherPtr[cell]; i < k.gatherPtr[cell + 1]; ++i) {
        const int stored = k.gathers[2 * i + 1];
        const int key = stored >= 0 ? stored : -stored - 2;
        EXPECT_EQ(key / c.tile, kt) << what;
        EXPECT_GE(k.gathers[2 * i], lastQ) << what;
        lastQ = k.gathers[2 * i];
        keyGathers.insert({k.gathers[2 * i], stored});
      }
    }
    EXPECT_EQ(keyTiles, fwdTiles) << what << " head " << s;
    EXPECT_EQ(keyGathers, fwdGathers) << what << " head " << s;
    // Against the reference: every allowed pair is visited, FULL tiles
    // hold allowed pairs only, and a gathered key every row may see is
    // allowed for every row of its query tile.
    dsl::MaskEvaluator e(*l.program, l.pattern(c.name), values, {},
                         {c.lq, c.lk, s, 0});
    std::set<std::pair<int, int>> gatheredKeys;
    for (auto &[qt, stored] : keyGathers)
      gatheredKeys.insert({qt, stored >= 0 ? stored : -stored - 2});
    std::set<std::pair<int, int>> visited;
    std::set<std::pair<int, int>> full;
    for (auto &[qt, kt, f] : keyTiles) {
      visited.insert({qt, kt});
      if (f)
        full.insert({qt, kt});
    }
    int64_t allowed = 0;
    for (int64_t q = 0; q < c.lq; ++q)
      for (int64_t key = 0; key < c.lk; ++key) {
        const int qt = int(q / c.tile), kt = int(key / c.tile);
        const bool ok = e.allowed(q, key);
        allowed += ok;
        if (ok)
          EXPECT_TRUE(visited.count({qt, kt}) ||
                      gatheredKeys.count({qt, int(key)}))
              << what << " head " << s << ": (" << q << ", " << key
              << ") allowed, not visited";
        if (full.count({qt, kt}))
          EXPECT_TRUE(ok) << what << ": (" << q << ", " << key
                          << ") in a FULL tile, not allowed";
      }
    EXPECT_GT(allowed, 0) << what;

    // The backward's merged visits: each cell's query tiles once, in
    // order; every allowed pair in a visited pair of tiles, FULL ones
    // holding allowed pairs only.
    mask::KeyTileVisits v = mask::keyTileVisits(t, c.tile, c.lk);
    ASSERT_EQ(v.ptr.size(), size_t(v.schedules) * v.keyTiles + 1) << what;
    std::set<std::pair<int, int>> visitPairs, visitFull;
    for (int kt = 0; kt < v.keyTiles; ++kt) {
      const int cell = s * v.keyTiles + kt;
      int lastQ = -1;
      for (int i = v.ptr[cell]; i < v.ptr[cell + 1]; ++i) {
        const int qt = v.visits[i] >> 1;
        EXPECT_GT(qt, lastQ) << what << " key tile " << kt;
        lastQ = qt;
        visitPairs.insert({qt, kt});
        if (v.visits[i] & 1)
          visitFull.insert({qt, kt});
      }
    }
    for (int64_t q = 0; q < c.lq; ++q)
      for (int64_t key = 0; key < c.lk; ++key) {
        const std::pair<int, int> tiles{int(q / c.tile), int(key / c.tile)};
        const bool ok = e.allowed(q, key);
        if (ok)
          EXPECT_TRUE(visitPairs.count(tiles))
              << what << " head " << s << ": (" << q << ", " << key
              << ") allowed, not in the backward's visits";
        if (visitFull.count(tiles))
          EXPECT_TRUE(ok) << what << ": (" << q << ", " << key
                          << ") in a FULL visit, not allowed";
      }
  }
}

TEST(KeyMajorTables, VisitTheForwardPairsByKeyTile) {
  test::Loaded l = test::load(kPatterns);
  ASSERT_NE(l.program, nullptr) << l.diagnostics;
  for (const Case &c : std::vector<Case>{
           {"sw", {{"w", 50}}, 300, 300, 64, 1},
           {"sw", {{"w", 50}}, 130, 300, 64, 1},
           {"strided", {{"stride", 16}, {"local", 40}}, 320, 320, 64, 1},
           {"strided", {{"stride", 16}, {"local", 40}}, 200, 333, 64, 1},
           {"docs", {}, 300, 300, 64, 1},
           {"per_head", {}, 256, 256, 64, 3}})
    checkCase(l, c);
}

TEST(KeyMajorTables, AKnownAnswerWithLqBelowLk) {
  test::Loaded l = test::load(kPatterns);
  ASSERT_NE(l.program, nullptr) << l.diagnostics;
  mask::CompileOptions opts;
  opts.constants = {{"w", 10}};
  opts.tileM = opts.tileN = 64;
  mask::KernelTables t;
  std::string error;
  ASSERT_TRUE(mask::buildKernelTables(test::symbolicFor(l, "sw", opts),
                                      {{"b", 0}, {"h", 0}}, {}, 1, 64, 256, 64,
                                      64, {}, t, error))
      << error;
  // Lq 64 < Lk 256: `causal` aligns the last query with the last key
  // (k <= q + 192) while the window counts q and k from 0 (q - k < 10): query
  // q sees keys q - 9 to q + 192. Key tile 0 and 3 are PARTIAL, 1 and 2
  // FULL, each listing the one query tile.
  mask::KeyMajorTables k = mask::keyMajorTables(t, 64, 256);
  ASSERT_EQ(k.keyTiles, 4);
  EXPECT_EQ(k.tilePtr, (std::vector<int>{0, 1, 2, 3, 4}));
  EXPECT_EQ(k.tiles, (std::vector<int>{0, 0, 0, 1, 0, 1, 0, 0}));
  EXPECT_EQ(k.gatherPtr, (std::vector<int>{0, 0, 0, 0, 0}));
}

} // namespace
