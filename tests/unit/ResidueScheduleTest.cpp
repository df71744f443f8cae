// Dilated patterns run as one problem per class of positions (r, r + d,
// r + 2d, ...): the dilation is found only where every allowed pair has
// q ≡ k (mod d), and each class's schedule is sound against the reference
// evaluator on the positions it stands for, and exact for dilated windows.
#include "DilatedPatterns.h"
#include "RandomPatterns.h"
#include "SymbolicUtil.h"
#include "TestUtil.h"

#include "maskjit/dsl/Evaluator.h"
#include "maskjit/schedule/ScheduleBinding.h"

#include <gtest/gtest.h>

#include <cstdio>

#include <chrono>
#include <random>

using namespace maskjit;
using namespace maskjit::dsl;

namespace {

const char *kPatterns = test::kDilatedPatterns;

mask::SymbolicSchedule symbolic(const test::Loaded &l, const std::string &name,
                                const std::map<std::string, int64_t> &values,
                                int64_t tile = 64) {
  mask::CompileOptions opts;
  for (auto &[n, v] : values)
    opts.constants[n] = v;
  opts.tileM = opts.tileN = tile;
  return test::symbolicFor(l, name, opts);
}

ParamBindings bindings(const std::map<std::string, int64_t> &values) {
  ParamBindings p;
  for (auto &[n, v] : values)
    p[n] = ParamValue::integer(v);
  return p;
}

/// What checkClasses asks beyond soundness: that every visited tile holds
/// an allowed pair, and also that PARTIAL tiles are mixed.
enum class Check { Sound, TouchedOnly, Exact };

/// Checks every class's schedule against the evaluator on the positions it
/// stands for: FULL tiles all allowed, EMPTY ones none (sound), then what
/// `check` asks. Also that no allowed pair lies outside the
/// classes (q ≢ k). `d` 0: the dilation the compiler finds. Returns the
/// tiles the classes visit.
int64_t checkClasses(const test::Loaded &l, const std::string &name,
                     const std::map<std::string, int64_t> &values, int64_t lq,
                     int64_t lk, int64_t tile, int64_t d, Check check) {
  const std::string what = name + " Lq=" + std::to_string(lq) +
                           " Lk=" + std::to_string(lk) +
                           " tile=" + std::to_string(tile);
  mask::SymbolicSchedule sym = symbolic(l, name, values, tile);
  if (d == 0) // Whatever the compiler finds (random patterns).
    d = mask::scheduleDilation(sym);
  EXPECT_EQ(mask::scheduleDilation(sym), d) << what;
  std::string error;
  auto s =
      mask::bindSchedule(sym, {{"h", 0}, {"b", 0}}, lq, lk, tile, tile, error);
  MaskEvaluator e(*l.program, l.pattern(name), bindings(values), {},
                  {lq, lk, 0, 0});
  if (!s && error.find(" at q=") != std::string::npos) {
    // A trap at a pair of this shape: the evaluator must stop there too.
    int64_t q = -1, k = -1;
    std::sscanf(error.c_str() + error.find(" at q="), " at q=%ld, k=%ld", &q,
                &k);
    EXPECT_THROW((void)e.allowed(q, k), dsl::MaskError) << what << error;
    throw dsl::MaskError(error);
  }
  EXPECT_TRUE(s) << error;
  if (!s)
    return 0;
  std::vector<uint8_t> row(static_cast<size_t>(lk));
  for (int64_t q = 0; q < lq; ++q) {
    e.row(q, row.data());
    for (int64_t k = 0; k < lk; ++k)
      if (row[k] && (q - k) % d != 0) {
        ADD_FAILURE() << what << ": (" << q << "," << k << ") outside";
        return 0;
      }
  }
  int64_t visited = 0;
  for (int64_t r = 0; r < d; ++r) {
    KvSchedule c = mask::residueSchedule(*s, d, r);
    EXPECT_EQ(c.lq, lq > r ? (lq - r + d - 1) / d : 0) << what;
    EXPECT_EQ(c.lk, lk > r ? (lk - r + d - 1) / d : 0) << what;
    for (int64_t qt = 0; qt < c.queryTiles(); ++qt) {
      std::vector<KvSegment> segs = c.segments(qt);
      for (const KvSegment &seg : c.kernelSegments(qt))
        visited += seg.end - seg.begin;
      for (int64_t kt = 0; kt < c.keyTiles(); ++kt) {
        TileKind kind = TileKind::Empty;
        for (const KvSegment &seg : segs)
          if (kt >= seg.begin && kt < seg.end)
            kind = seg.kind;
        int64_t allowed = 0, pairs = 0;
        for (int64_t i = qt * tile; i < std::min(c.lq, (qt + 1) * tile); ++i)
          for (int64_t j = kt * tile; j < std::min(c.lk, (kt + 1) * tile);
               ++j) {
            allowed += e.allowed(r + d * i, r + d * j);
            ++pairs;
          }
        const std::string at = what + " class " + std::to_string(r) +
                               " tile (" + std::to_string(qt) + "," +
                               std::to_string(kt) + ")";
        // Every tile visited holds an allowed pair.
        if (check != Check::Sound && kind != TileKind::Empty)
          EXPECT_GT(allowed, 0) << at;
        if (kind == TileKind::Full)
          EXPECT_EQ(allowed, pairs) << at;
        if (kind == TileKind::Empty)
          EXPECT_EQ(allowed, 0) << at;
        if (check == Check::Exact && kind == TileKind::Partial)
          EXPECT_TRUE(allowed > 0 && allowed < pairs) << at;
      }
    }
  }
  return visited;
}

} // namespace

TEST(ResidueSchedule, FindsTheDilation) {
  test::Loaded l = test::load(kPatterns);
  ASSERT_NE(l.program, nullptr) << l.diagnostics;
  EXPECT_EQ(mask::scheduleDilation(symbolic(l, "dilated_window", {})), 4);
  EXPECT_EQ(mask::scheduleDilation(symbolic(l, "dilated_both_ways", {})), 3);
  EXPECT_EQ(mask::scheduleDilation(symbolic(l, "dilated_or_sink", {})), 2);
  // q - k ≡ 1: not q ≡ k; a clause without the congruence; dilation 1
  // folds away.
  EXPECT_EQ(mask::scheduleDilation(symbolic(l, "shifted", {})), 1);
  EXPECT_EQ(mask::scheduleDilation(symbolic(l, "dilated_some", {})), 1);
  EXPECT_EQ(
      mask::scheduleDilation(symbolic(l, "dilated_window", {{"dilation", 1}})),
      1);
  // The 2-D neighbourhood's columns are a class of positions only when the
  // width is a multiple of the dilation.
  test::Loaded n = test::loadFile(std::string(MASKJIT_PATTERNS_DIR) +
                                  "/neighborhood_2d.mask");
  ASSERT_NE(n.program, nullptr) << n.diagnostics;
  EXPECT_EQ(mask::scheduleDilation(symbolic(n, "neighborhood_2d",
                                            {{"width", 40}, {"dilation", 2}})),
            2);
  EXPECT_EQ(mask::scheduleDilation(symbolic(n, "neighborhood_2d",
                                            {{"width", 41}, {"dilation", 2}})),
            1);
  EXPECT_EQ(
      mask::scheduleDilation(symbolic(n, "neighborhood_2d", {{"width", 40}})),
      1);
}

TEST(ResidueSchedule, WindowsAreExactPerClass) {
  test::Loaded l = test::load(kPatterns);
  ASSERT_NE(l.program, nullptr) << l.diagnostics;
  std::mt19937_64 rng(7);
  struct Shape {
    int64_t lq, lk, tile;
  };
  const Shape shapes[] = {{1000, 1000, 64}, {300, 1000, 64}, {1000, 300, 64},
                          {777, 777, 128},  {65, 65, 16},    {1, 1, 64}};
  for (const Shape &sh : shapes)
    for (int trial = 0; trial < 3; ++trial) {
      const int64_t d = 2 + static_cast<int64_t>(rng() % 6);
      const int64_t window = 1 + static_cast<int64_t>(rng() % 400);
      const std::map<std::string, int64_t> v = {{"window", window},
                                                {"dilation", d}};
      checkClasses(l, "dilated_window", v, sh.lq, sh.lk, sh.tile, d,
                   Check::Exact);
      checkClasses(l, "dilated_both_ways", v, sh.lq, sh.lk, sh.tile, d,
                   Check::Exact);
      // A sink whose end is not a multiple of d nor of the tile: where it
      // ends differs between classes.
      std::map<std::string, int64_t> sink = v;
      sink["sink"] = sh.tile * d + 1 + static_cast<int64_t>(rng() % d);
      checkClasses(l, "dilated_or_sink", sink, sh.lq, sh.lk, sh.tile, d,
                   Check::Exact);
    }
}

// A dilated window's classes visit about 1/d of the tiles the undilated
// schedule does (all of them PARTIAL there).
TEST(ResidueSchedule, DilatedWindowVisitsFewerTiles) {
  test::Loaded l = test::load(kPatterns);
  ASSERT_NE(l.program, nullptr) << l.diagnostics;
  const std::map<std::string, int64_t> v = {{"window", 1024}, {"dilation", 4}};
  const int64_t classes =
      checkClasses(l, "dilated_window", v, 4096, 4096, 64, 4, Check::Exact);
  std::string error;
  auto s = mask::bindSchedule(symbolic(l, "dilated_window", v),
                              {{"h", 0}, {"b", 0}}, 4096, 4096, 64, 64, error);
  ASSERT_TRUE(s) << error;
  int64_t plain = 0;
  for (int64_t qt = 0; qt < s->queryTiles(); ++qt)
    for (const KvSegment &seg : s->kernelSegments(qt))
      plain += seg.end - seg.begin;
  EXPECT_LT(classes * 3, plain) << classes << " vs " << plain;
}

// Dilated 2-D neighbourhoods (width a multiple of the dilation): sound per
// class, and each class visits only tiles the mask touches.
TEST(ResidueSchedule, DilatedNeighbourhoodsVisitOnlyTouchedTilesPerClass) {
  test::Loaded n = test::loadFile(std::string(MASKJIT_PATTERNS_DIR) +
                                  "/neighborhood_2d.mask");
  ASSERT_NE(n.program, nullptr) << n.diagnostics;
  for (int64_t width : {40, 96})
    for (int64_t d : {2, 4}) {
      const std::map<std::string, int64_t> v = {
          {"width", width}, {"radius", 2}, {"dilation", d}};
      checkClasses(n, "neighborhood_2d", v, 1000, 1000, 64, d,
                   Check::TouchedOnly);
      checkClasses(n, "neighborhood_2d", v, 300, 1000, 64, d,
                   Check::TouchedOnly);
    }
}

// The kernel tables hold one schedule per (head, class), each padded to the
// same number of query tiles.
TEST(ResidueSchedule, KernelTablesPerHeadAndClass) {
  test::Loaded l = test::load(kPatterns);
  ASSERT_NE(l.program, nullptr) << l.diagnostics;
  const auto sym = symbolic(l, "dilated_window", {{"dilation", 3}});
  mask::KernelTables t;
  std::string error;
  ASSERT_TRUE(
      mask::buildKernelTables(sym, {}, {}, 2, 1000, 1000, 64, 64, {}, t, error))
      << error;
  EXPECT_EQ(t.dilation, 3);
  EXPECT_EQ(t.heads, 2);
  EXPECT_EQ(t.queryTiles, (334 + 63) / 64);
  EXPECT_EQ(t.segPtr.size(), size_t(2 * 3 * (t.queryTiles + 1)));
  // Class 2 has 333 positions, one fewer than class 0: same tile count.
  for (int unit = 0; unit < 6; ++unit) {
    const int *ptr = t.segPtr.data() + unit * (t.queryTiles + 1);
    for (int qt = 0; qt < t.queryTiles; ++qt)
      EXPECT_GT(ptr[qt + 1], ptr[qt]) << "unit " << unit << " tile " << qt;
  }
}

// Lq = Lk = 2^20 with dilation 16: the kernel tables of all 16 classes
// (8192 query tiles of 128 in all) come from each query tile's segments,
// as for an undilated pattern: no per-pair or per-key-tile work.
TEST(ResidueSchedule, MillionTokensPerClassWithoutQuadraticWork) {
  test::Loaded l = test::load(kPatterns);
  ASSERT_NE(l.program, nullptr) << l.diagnostics;
  const int64_t n = int64_t{1} << 20, d = 16;
  const auto sym =
      symbolic(l, "dilated_window", {{"window", 32768}, {"dilation", d}}, 128);
  auto start = std::chrono::steady_clock::now();
  mask::KernelTables t;
  std::string error;
  ASSERT_TRUE(
      mask::buildKernelTables(sym, {}, {}, 1, n, n, 128, 128, {}, t, error))
      << error;
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start)
          .count();
  EXPECT_EQ(t.dilation, d);
  EXPECT_EQ(t.queryTiles, n / d / 128);
  // Per class a window of 2048 positions: 16 tiles of 128 plus the
  // diagonal one, fewer in the first rows.
  int64_t expected = 0;
  for (int64_t qt = 0; qt < t.queryTiles; ++qt)
    expected += std::min<int64_t>(qt + 1, 17);
  int64_t visited = 0;
  for (size_t i = 0; i + 2 < t.segs.size(); i += 3)
    visited += t.segs[i + 1] - t.segs[i];
  EXPECT_EQ(visited, d * expected);
  EXPECT_LT(seconds, 5.0) << "tables of 16 classes took " << seconds << " s";
}

// Random conditions (every operator, params, lengths) conjoined with a
// congruence that puts q and k in one class: the compiler finds a dilation
// dividing its modulus, and every class's schedule is sound.
TEST(ResidueSchedule, RandomDilatedPatternsAreSoundPerClass) {
  test::RandomPatternGen gen(29);
  int checked = 0;
  for (int iter = 0; iter < 300; ++iter) {
    const int64_t d = 2 + gen.pickOf(4);
    const std::string width = std::to_string(d * (1 + gen.pickOf(20)));
    static const char *forms[] = {"q - k", "k - q", "2 * d + q - k",
                                  "q % W - k % W", "(d + 1) * q - k"};
    std::string form = forms[gen.pickOf(5)];
    for (auto [from, to] : {std::pair<std::string, std::string>{"W", width},
                            {"d", std::to_string(d)}})
      for (size_t at; (at = form.find(from)) != std::string::npos;)
        form.replace(at, 1, to);
    const std::string src =
        "pattern p(w: int, m: int) {\n  let c = " + gen.boolExpr(3) +
        "\n  c and (" + form + ") % " + std::to_string(d) + " == 0\n}\n";
    test::Loaded l = test::load(src);
    if (!l.program)
      continue; // A constant division by zero, rejected by Sema.
    const std::map<std::string, int64_t> v = {{"w", gen.pickOf(9) - 3},
                                              {"m", gen.pickOf(7) + 1}};
    const int64_t lq = 1 + gen.pickOf(200), lk = 1 + gen.pickOf(200);
    const int64_t tile = gen.pickOf(2) ? 16 : 32;
    try {
      const int64_t found = mask::scheduleDilation(symbolic(l, "p", v, tile));
      if (found == 1)
        continue; // No clause left (a false condition), or none marked.
      EXPECT_EQ(d % found, 0) << src;
      checkClasses(l, "p", v, lq, lk, tile, 0, Check::Sound);
      ++checked;
    } catch (const dsl::MaskError &) {
      continue; // Traps for these values: nothing to compare.
    }
  }
  EXPECT_GT(checked, 150);
}
