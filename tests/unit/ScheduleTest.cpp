// The compiler's KV schedule against the reference evaluator: never a tile
// called FULL or EMPTY wrongly (soundness), and for affine patterns no tile
// called PARTIAL that is really FULL or EMPTY (exactness).
#include "RandomPatterns.h"
#include "SymbolicUtil.h"
#include "TestUtil.h"

#include "maskjit/compiler/MaskDialect.h"
#include "maskjit/compiler/Pipeline.h"
#include "maskjit/compiler/SymbolicSchedule.h"
#include "maskjit/dsl/BlockMap.h"

#include <chrono>
#include <random>
#include <sstream>

using namespace maskjit;
using namespace maskjit::dsl;

namespace {

struct Case {
  int64_t lq, lk, bm, bn;
};

/// The schedule for `pattern` with compile-time values `bindings` and
/// runtime values `runtime`.
KvSchedule
scheduleFor(const test::Loaded &l, const std::string &name,
            const std::map<std::string, int64_t> &bindings,
            std::map<std::string, int64_t> runtime, Case c, int64_t head = 0,
            const std::map<std::string, std::vector<int64_t>> &arrays = {}) {
  mask::CompileOptions opts;
  for (auto &[n, v] : bindings)
    opts.constants[n] = v;
  opts.head = head;
  opts.tileM = c.bm;
  opts.tileN = c.bn;
  auto sym = test::symbolicFor(l, name, opts);
  runtime["h"] = head;
  runtime["b"] = 0;
  std::string error;
  auto s =
      mask::bindSchedule(sym, runtime, c.lq, c.lk, c.bm, c.bn, error, arrays);
  if (!s)
    throw std::runtime_error(error);
  return *s;
}

std::vector<std::string> truthRows(const test::Loaded &l,
                                   const std::string &name,
                                   const ParamBindings &params, Case c,
                                   int64_t head = 0) {
  MaskEvaluator e(*l.program, l.pattern(name), params, {},
                  {c.lq, c.lk, head, 0});
  return computeBlockMap(e, c.bm, c.bn).rowStrings();
}

/// Fails on any unsound tile; returns the number of inexact ones.
int64_t compare(const std::vector<std::string> &got,
                const std::vector<std::string> &truth,
                const std::string &what) {
  EXPECT_EQ(got.size(), truth.size()) << what;
  int64_t inexact = 0;
  for (size_t r = 0; r < std::min(got.size(), truth.size()); ++r)
    for (size_t c = 0; c < truth[r].size(); ++c) {
      char g = got[r][c], t = truth[r][c];
      if (g == 'F' || g == '.')
        EXPECT_EQ(g, t) << what << ": unsound tile (" << r << "," << c << ")";
      else
        inexact += t != 'P';
    }
  return inexact;
}

const Case kCases[] = {{1000, 1000, 64, 64},   {300, 1000, 64, 64},
                       {1000, 300, 128, 64},   {777, 777, 128, 128},
                       {4096, 4096, 128, 128}, {130, 2049, 64, 128},
                       {1, 1, 64, 64},         {65, 65, 16, 48}};

} // namespace

TEST(Schedule, ExamplePatternsAreExact) {
  struct Example {
    const char *file, *name;
    std::map<std::string, int64_t> params;
  };
  const Example examples[] = {
      {"causal.mask", "causal_only", {}},
      {"sliding_window.mask", "sliding_window", {{"window", 300}}},
      {"sliding_window.mask", "sliding_window", {{"window", 1}}},
      {"a_shape.mask", "a_shape", {{"sink", 70}, {"window", 200}}},
      {"a_shape.mask", "a_shape", {}},
  };
  for (const Example &ex : examples) {
    test::Loaded l =
        test::loadFile(std::string(MASKJIT_PATTERNS_DIR) + "/" + ex.file);
    ASSERT_NE(l.program, nullptr) << l.diagnostics;
    ParamBindings params;
    for (auto &[n, v] : ex.params)
      params[n] = ParamValue::integer(v);
    for (const Case &c : kCases) {
      KvSchedule s = scheduleFor(l, ex.name, ex.params, {}, c);
      EXPECT_TRUE(s.exact()) << ex.name;
      std::string what = std::string(ex.name) + " Lq=" + std::to_string(c.lq) +
                         " Lk=" + std::to_string(c.lk) + " tile " +
                         std::to_string(c.bm) + "x" + std::to_string(c.bn);
      EXPECT_EQ(compare(blockRows(s), truthRows(l, ex.name, params, c), what),
                0)
          << what;
    }
  }
}

TEST(Schedule, AffineFamiliesAreExact) {
  // Bidirectional window (abs), prefix-LM, chunked (block indices), blocked
  // local windows, and conditionals of these.
  const char *sources[] = {
      "pattern p { q / 256 == k / 256 }",
      "pattern p { causal and q / 300 == k / 300 }",
      "pattern p { causal and (q / 64 == k / 64 or q - k < 100) }",
      "pattern p { causal and k / 128 >= q / 128 - 2 }",
      "pattern p { (q + 7) / 50 == (k + 7) / 50 and abs(q - k) < 40 }",
      "pattern p(w: int = 100) { abs(q - k) <= w }",
      "pattern p(prefix: int = 200) { k < prefix or causal }",
      "pattern p(w: int = 64) { if q < 300 then abs(q - k) < w else causal and "
      "q - k < 2 * w }",
      "pattern p { max(q, k) - min(q, k) < 50 or k == 0 }",
  };
  for (const char *src : sources) {
    test::Loaded l = test::load(src);
    ASSERT_NE(l.program, nullptr) << l.diagnostics;
    for (const Case &c : kCases) {
      KvSchedule s = scheduleFor(l, "p", {}, {}, c);
      EXPECT_TRUE(s.exact()) << src;
      EXPECT_EQ(compare(blockRows(s), truthRows(l, "p", {}, c), src), 0)
          << src << " Lq=" << c.lq << " Lk=" << c.lk;
    }
  }
}

TEST(Schedule, ModularAndDataPatternsAreSound) {
  struct Example {
    const char *file, *name;
    ParamBindings params;
    std::map<std::string, int64_t> bindings;
  };
  std::vector<int64_t> doc(5000);
  for (size_t i = 0; i < doc.size(); ++i)
    doc[i] = static_cast<int64_t>(i / 300);
  const Example examples[] = {
      {"strided.mask",
       "strided",
       {{"stride", ParamValue::integer(64)},
        {"local", ParamValue::integer(200)}},
       {{"stride", 64}, {"local", 200}}},
      {"neighborhood_2d.mask",
       "neighborhood_2d",
       {{"width", ParamValue::integer(40)},
        {"radius", ParamValue::integer(3)},
        {"dilation", ParamValue::integer(2)}},
       {{"width", 40}, {"radius", 3}, {"dilation", 2}}},
      {"document.mask", "document", {{"doc", ParamValue::ints(doc)}}, {}},
  };
  for (const Example &ex : examples) {
    test::Loaded l =
        test::loadFile(std::string(MASKJIT_PATTERNS_DIR) + "/" + ex.file);
    ASSERT_NE(l.program, nullptr) << l.diagnostics;
    for (const Case &c : kCases) {
      KvSchedule s = scheduleFor(l, ex.name, ex.bindings, {}, c);
      compare(blockRows(s), truthRows(l, ex.name, ex.params, c), ex.name);
    }
  }
  // The strided pattern's local window is still skipped exactly: far
  // below the diagonal only partial tiles remain, none full.
  test::Loaded l =
      test::loadFile(std::string(MASKJIT_PATTERNS_DIR) + "/strided.mask");
  KvSchedule s = scheduleFor(l, "strided", {{"stride", 64}, {"local", 200}}, {},
                             {1024, 1024, 64, 64});
  EXPECT_EQ(blockRows(s)[15].substr(0, 8), "PPPPPPPP");
}

// 2-D neighbourhoods, dilated or not, narrower and wider than a tile: the
// column distance `q % w - k % w` is linear on each pair of image rows a
// tile spans and the dilation's `dy % d == 0` is decided per pair, so the
// schedule visits only the tiles the evaluator finds touched.
TEST(Schedule, NeighbourhoodsVisitOnlyTouchedTiles) {
  test::Loaded l = test::loadFile(std::string(MASKJIT_PATTERNS_DIR) +
                                  "/neighborhood_2d.mask");
  ASSERT_NE(l.program, nullptr) << l.diagnostics;
  for (int64_t width : {40, 300})
    for (int64_t dilation : {1, 2, 3}) {
      const std::map<std::string, int64_t> b = {
          {"width", width}, {"radius", 3}, {"dilation", dilation}};
      ParamBindings params;
      for (auto &[n, v] : b)
        params[n] = ParamValue::integer(v);
      for (const Case &c : kCases) {
        const std::string what = "width=" + std::to_string(width) +
                                 " dilation=" + std::to_string(dilation) +
                                 " Lq=" + std::to_string(c.lq) +
                                 " Lk=" + std::to_string(c.lk);
        KvSchedule s = scheduleFor(l, "neighborhood_2d", b, {}, c);
        const auto got = blockRows(s);
        const auto truth = truthRows(l, "neighborhood_2d", params, c);
        compare(got, truth, what); // Sound.
        // No untouched tile visited. (A touched tile may stay PARTIAL
        // where it is FULL: a dilated column distance is a congruence of
        // q - k, decided per element.)
        for (size_t r = 0; r < got.size(); ++r)
          for (size_t t = 0; t < got[r].size(); ++t)
            if (truth[r][t] == '.')
              EXPECT_EQ(got[r][t], '.')
                  << what << " tile (" << r << "," << t << ")";
      }
    }
}

namespace {

/// Random affine patterns over q, k, q - k, the lengths and params.
class AffineGen {
public:
  explicit AffineGen(uint64_t seed) : rng_(seed) {}
  int pick(int n) { return std::uniform_int_distribution<int>(0, n - 1)(rng_); }
  std::string lin() {
    static const char *forms[] = {
        "q",         "k",     "q - k", "k - q", "Lk - Lq + q - k",
        "q - k + w", "k + r", "Lq - q"};
    return std::string(forms[pick(8)]);
  }
  std::string num() { return std::to_string(pick(400) - 100); }
  std::string atom() {
    static const char *ops[] = {"<", "<=", ">", ">=", "==", "!="};
    if (pick(8) == 0)
      return "causal";
    return "(" + lin() + " " + ops[pick(6)] + " " + num() + ")";
  }
  std::string cond(int depth) {
    if (depth == 0)
      return atom();
    switch (pick(5)) {
    case 0:
      return "(" + cond(depth - 1) + " and " + cond(depth - 1) + ")";
    case 1:
      return "(" + cond(depth - 1) + " or " + cond(depth - 1) + ")";
    case 2:
      return "not " + cond(depth - 1);
    case 3:
      return "(if " + atom() + " then " + cond(depth - 1) + " else " +
             cond(depth - 1) + ")";
    default:
      return atom();
    }
  }

private:
  std::mt19937_64 rng_;
};

} // namespace

TEST(Schedule, RandomAffinePatternsAreSoundAndExact) {
  AffineGen gen(7);
  int exactCount = 0;
  for (int iter = 0; iter < 150; ++iter) {
    std::string src = "pattern p(w: int = 5, r: runtime int = 0) {\n  " +
                      gen.cond(3) + "\n}\n";
    test::Loaded l = test::load(src);
    ASSERT_NE(l.program, nullptr) << src << l.diagnostics;
    int64_t w = gen.pick(300) - 50, r = gen.pick(300) - 50;
    Case c{1 + gen.pick(700), 1 + gen.pick(700), gen.pick(2) ? 64 : 128,
           gen.pick(2) ? 64 : 128};
    if (gen.pick(4) == 0)
      c.bn = 16 * (1 + gen.pick(8));
    KvSchedule s = scheduleFor(l, "p", {{"w", w}}, {{"r", r}}, c);
    auto truth = truthRows(
        l, "p", {{"w", ParamValue::integer(w)}, {"r", ParamValue::integer(r)}},
        c);
    int64_t inexact = compare(blockRows(s), truth, src);
    if (s.exact()) {
      ++exactCount;
      EXPECT_EQ(inexact, 0)
          << src << "w=" << w << " r=" << r << " Lq=" << c.lq << " Lk=" << c.lk
          << " tile " << c.bm << "x" << c.bn;
    }
  }
  EXPECT_GT(exactCount, 140);
}

class RandomGeneral : public ::testing::TestWithParam<bool> {};

TEST_P(RandomGeneral, PatternsAreSoundAndExact) {
  // Any operator, modular terms included (and clamp, in the second run):
  // never a tile called FULL or EMPTY wrongly.
  test::RandomPatternGen gen(99, /*withClamp=*/GetParam());
  int checked = 0;
  for (int iter = 0; iter < 300; ++iter) {
    std::string src = "pattern p(w: int = 3) {\n  let m = " + gen.intExpr(2) +
                      "\n  " + gen.boolExpr(4) + "\n}\n";
    test::Loaded l = test::load(src);
    if (!l.program)
      continue; // A constant division by zero, rejected by Sema.
    int64_t w = gen.pickOf(9) - 3;
    Case c{1 + gen.pickOf(300), 1 + gen.pickOf(300), gen.pickOf(2) ? 16 : 64,
           gen.pickOf(2) ? 16 : 32};
    std::vector<std::string> truth;
    try {
      truth = truthRows(l, "p", {{"w", ParamValue::integer(w)}}, c);
    } catch (const MaskError &) {
      continue; // Traps for these values: nothing to compare.
    }
    KvSchedule s = scheduleFor(l, "p", {{"w", w}}, {}, c);
    // With the predicate's tiers the map is exact too, whatever the form.
    ASSERT_TRUE(s.exact()) << src;
    EXPECT_EQ(compare(blockRows(s), truth, src + " w=" + std::to_string(w)), 0)
        << src << " w=" << w << " Lq=" << c.lq << " Lk=" << c.lk << " tile "
        << c.bm << "x" << c.bn;
    ++checked;
  }
  EXPECT_GT(checked, 150);
}
INSTANTIATE_TEST_SUITE_P(Schedule, RandomGeneral, ::testing::Bool());

TEST(Schedule, PairEvaluationMatchesTheDomainAndTheEvaluator) {
  // The exact tier's cheap single-pair evaluation against the abstract
  // domain on a one-pair box and against the reference evaluator: the same
  // value wherever the evaluator gives one, never a value the domain
  // contradicts. Positions near the int64 ends make operations overflow.
  test::RandomPatternGen gen(7, /*withClamp=*/true);
  std::mt19937_64 rng(11);
  int64_t compared = 0, unknown = 0;
  for (int iter = 0; iter < 200; ++iter) {
    std::string src = "pattern p(w: int = 3) {\n  let m = " + gen.intExpr(2) +
                      "\n  " + gen.boolExpr(4) + "\n}\n";
    test::Loaded l = test::load(src);
    if (!l.program)
      continue;
    const int64_t w = gen.pickOf(9) - 3;
    const bool huge = iter % 4 == 3;
    const int64_t len = huge ? std::numeric_limits<int64_t>::max() / 2 : 300;
    mask::CompileOptions opts;
    opts.constants["w"] = w;
    mask::SymbolicSchedule sym;
    try {
      sym = test::symbolicFor(l, "p", opts);
    } catch (const std::runtime_error &) {
      continue; // a trap the bound values make certain: rejected
    }
    std::string missing;
    auto bound = TileMask::bind(sym.predicate,
                                {{"Lq", len}, {"Lk", len}, {"h", 0}, {"b", 0}},
                                {}, missing);
    ASSERT_TRUE(bound) << src << missing;
    MaskEvaluator e(*l.program, l.pattern("p"), {{"w", ParamValue::integer(w)}},
                    {}, {len, len, 0, 0});
    for (int i = 0; i < 50; ++i) {
      const int64_t q =
          static_cast<int64_t>(rng() % static_cast<uint64_t>(len));
      const int64_t k =
          static_cast<int64_t>(rng() % static_cast<uint64_t>(len));
      int64_t pair = 0;
      const bool known = bound->evaluatePair(q, k, pair);
      const AbstractInt box = bound->evaluate(q, q, k, k);
      if (known) {
        ASSERT_TRUE(box.isConstant()) << src << " q=" << q << " k=" << k;
        ASSERT_EQ(box.lo, pair) << src << " q=" << q << " k=" << k;
      }
      bool truth = false;
      try {
        truth = e.allowed(q, k);
      } catch (const MaskError &) {
        continue; // the evaluator traps here: nothing to compare
      }
      if (!known) {
        ++unknown;
        continue;
      }
      ASSERT_EQ(pair != 0, truth) << src << " q=" << q << " k=" << k;
      ++compared;
    }
  }
  EXPECT_GT(compared, 4000);
  // "Unknown" only past an overflow the evaluator itself steps around.
  EXPECT_LT(unknown, compared / 20);
}

TEST(Schedule, HeadsWithTheSameScheduleShareTables) {
  // S2-style shards: heads h and h + 4 see the same keys, so their tables
  // are built once and shared; `k % 16 == h` differs for every head. Each
  // head's rows are what a build for that head alone gives.
  const std::pair<const char *, bool> cases[] = {
      {"pattern s() { causal and (q - k < 100 or k % 4 == h % 4) }", true},
      {"pattern s() { causal and (q - k < 100 or k % 16 == h) }", false},
      {"pattern s() { causal and (q - k < 50 or q % 16 == h % 4) }", true}};
  for (auto [src, shares] : cases) {
    test::Loaded l = test::load(src);
    ASSERT_TRUE(l.program) << src;
    mask::CompileOptions opts;
    opts.tileM = opts.tileN = 64;
    const mask::SymbolicSchedule sym = test::symbolicFor(l, "s", opts);
    const int heads = 8;
    const int64_t lq = 1000, lk = 900;
    mask::KernelTables all;
    std::string error;
    ASSERT_TRUE(mask::buildKernelTables(sym, {}, {}, heads, lq, lk, 64, 64, {},
                                        all, error))
        << error;
    int64_t ownSegs = 0;
    for (int h = 0; h < heads; ++h) {
      mask::KernelTables one;
      ASSERT_TRUE(mask::buildKernelTables(sym, {}, {{{"h", h}}}, 1, lq, lk, 64,
                                          64, {}, one, error))
          << error;
      ownSegs += static_cast<int64_t>(one.segs.size());
      const int q = one.queryTiles;
      ASSERT_EQ(all.queryTiles, q);
      for (int qt = 0; qt < q; ++qt) {
        const size_t at = static_cast<size_t>(h) * (q + 1) + qt;
        std::vector<int> got(all.segs.begin() + 3 * all.segPtr[at],
                             all.segs.begin() + 3 * all.segPtr[at + 1]);
        std::vector<int> want(one.segs.begin() + 3 * one.segPtr[qt],
                              one.segs.begin() + 3 * one.segPtr[qt + 1]);
        ASSERT_EQ(got, want) << src << " head " << h << " query tile " << qt;
        std::vector<int> gotKeys(all.gatherKeys.begin() + all.gatherPtr[at],
                                 all.gatherKeys.begin() +
                                     all.gatherPtr[at + 1]);
        std::vector<int> wantKeys(one.gatherKeys.begin() + one.gatherPtr[qt],
                                  one.gatherKeys.begin() +
                                      one.gatherPtr[qt + 1]);
        ASSERT_EQ(gotKeys, wantKeys) << src << " head " << h << " tile " << qt;
      }
    }
    // Shared: half the heads' entries are stored; otherwise all of them.
    if (shares)
      EXPECT_EQ(static_cast<int64_t>(all.segs.size()) * 2, ownSegs) << src;
    else
      EXPECT_EQ(static_cast<int64_t>(all.segs.size()), ownSegs) << src;
  }
}

namespace {
/// Masks the closed forms cannot read, from published methods: each must
/// come out exact (the tiles with an allowed pair, FULL where all are).
struct ExactCase {
  const char *name, *source;
  std::map<std::string, std::vector<int64_t>> arrays;
};

std::vector<ExactCase> unseenMasks() {
  std::vector<int64_t> img(700, 0), global(700, 0);
  for (int64_t i = 0; i < 700; ++i)
    img[i] = (i / 37) % 3 == 1 ? 1 + i / 111 : 0;
  for (int64_t i = 3; i < 700; i += 97)
    global[i] = 1;
  return {
      {"natten_clamp",
       "pattern p(w: int = 24, rows: int = 30, half: int = 3) {\n"
       "  let cy = clamp(q / w, half, rows - 1 - half)\n"
       "  let cx = clamp(q % w, half, w - 1 - half)\n"
       "  abs(k / w - cy) <= half and abs(k % w - cx) <= half\n}\n",
       {}},
      {"video3d",
       "pattern p(w: int = 8, plane: int = 64, r: int = 2) {\n"
       "  let dt = q / plane - k / plane\n"
       "  let dy = (q % plane) / w - (k % plane) / w\n"
       "  let dx = q % w - k % w\n"
       "  abs(dt) <= 1 and abs(dy) <= r and abs(dx) <= r\n}\n",
       {}},
      {"video3d_causal_time",
       "pattern p(w: int = 8, plane: int = 64, r: int = 1) {\n"
       "  let dt = q / plane - k / plane\n"
       "  dt >= 0 and dt <= 2 and abs((q % plane) / w - (k % plane) / w) <= r\n"
       "    and abs(q % w - k % w) <= r\n}\n",
       {}},
      {"natten_exact",
       "pattern p(side: int = 24, win: int = 7) {\n"
       "  let half = win / 2\n"
       "  let qy = q / side\n  let qx = q % side\n"
       "  let cy = if qy < half then half else if qy > side - 1 - half then "
       "side - 1 - half else qy\n"
       "  let cx = if qx < half then half else if qx > side - 1 - half then "
       "side - 1 - half else qx\n"
       "  abs(k / side - cy) <= half and abs(k % side - cx) <= half\n}\n",
       {}},
      {"natten_dilated_strided",
       "pattern p(side: int = 24, r: int = 2, d: int = 2, s: int = 3) {\n"
       "  let qy = (q / side) / s * s\n  let qx = (q % side) / s * s\n"
       "  let dy = qy - k / side\n  let dx = qx - k % side\n"
       "  abs(dy) <= r * d and abs(dx) <= r * d and dy % d == 0 and dx % d "
       "== 0\n}\n",
       {}},
      {"s2_shards",
       "pattern p(local: int = 96, shards: int = 8) {\n"
       "  causal and (q - k < local or k % shards == h % shards)\n}\n",
       {}},
      {"moa_width",
       "pattern p(alpha: int = 40, beta: int = 90) {\n"
       "  causal and q - k < alpha + beta * Lq / 1000\n}\n",
       {}},
      {"max_width",
       "pattern p(w: int = 30) {\n"
       "  causal and q - k < max(w, q / 8)\n}\n",
       {}},
      {"image_spans",
       "pattern p(img: int[]) {\n"
       "  causal or (img[q] != 0 and img[q] == img[k])\n}\n",
       {{"img", img}}},
      {"scattered_globals",
       "pattern p(g: int[]) {\n"
       "  causal and (q - k < 64 or g[k] == 1 or g[q] == 1)\n}\n",
       {{"g", global}}},
      {"power_of_two",
       "pattern p() {\n"
       "  let d = q - k\n"
       "  causal and (d < 16 or d == 16 or d == 32 or d == 64 or d == 128 or "
       "d == 256)\n}\n",
       {}},
      {"chunked_prefill_offset",
       "pattern p(offset: int = 300, chunk: int = 48) {\n"
       "  (q + offset) / chunk >= k / chunk and q + offset >= k\n}\n",
       {}},
  };
}
} // namespace

TEST(Schedule, UnseenMasksGetExactTileMaps) {
  for (const ExactCase &m : unseenMasks()) {
    test::Loaded l = test::load(m.source);
    ASSERT_NE(l.program, nullptr) << m.name << l.diagnostics;
    for (Case c : {Case{700, 700, 64, 64}, Case{700, 700, 128, 128},
                   Case{513, 700, 64, 64}, Case{700, 390, 128, 128},
                   Case{650, 700, 128, 64}}) {
      for (int64_t head : {0, 3}) {
        KvSchedule s = scheduleFor(l, "p", {}, {}, c, head, m.arrays);
        EXPECT_TRUE(s.exact()) << m.name;
        ParamBindings params;
        for (auto &[n, v] : m.arrays)
          params[n] = ParamValue::ints(v);
        MaskEvaluator e(*l.program, l.pattern("p"), params, {},
                        {c.lq, c.lk, head, 0});
        auto truth = computeBlockMap(e, c.bm, c.bn).rowStrings();
        EXPECT_EQ(compare(blockRows(s), truth, m.name), 0)
            << m.name << " Lq=" << c.lq << " Lk=" << c.lk << " tile " << c.bm
            << "x" << c.bn << " h=" << head;
        // What the kernel visits (tiles and gathered keys) covers exactly
        // the rows' non-empty tiles, never an empty one.
        for (int64_t qt = 0; qt < s.queryTiles(); ++qt)
          for (const KvSegment &seg : s.kernelSegments(qt))
            for (int64_t t = seg.begin; t < seg.end; ++t)
              EXPECT_NE(truth[qt][t], '.')
                  << m.name << " visits an empty tile " << qt << "," << t;
      }
    }
  }
}

TEST(Schedule, MillionTokensWithoutQuadraticWork) {
  // Lq = Lk = 2^20: 8192 x 8192 tiles of 128. The schedule of every query
  // tile comes from its segments, computed per boundary, never per key tile
  // or per (q, k) pair; memory is the segments of one row at a time.
  test::Loaded l =
      test::loadFile(std::string(MASKJIT_PATTERNS_DIR) + "/a_shape.mask");
  ASSERT_NE(l.program, nullptr);
  const int64_t n = int64_t{1} << 20;
  KvSchedule s = scheduleFor(l, "a_shape", {}, {}, {n, n, 128, 128});
  auto start = std::chrono::steady_clock::now();
  int64_t visited = 0, full = 0, segments = 0;
  for (int64_t qt = 0; qt < s.queryTiles(); ++qt)
    for (const KvSegment &seg : s.segments(qt)) {
      visited += seg.end - seg.begin;
      full += seg.kind == TileKind::Full ? seg.end - seg.begin : 0;
      ++segments;
    }
  double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start)
          .count();
  // Sink 128 = one key tile; window 2048 = 16 tiles (+1 diagonal partial).
  // Each row past the start visits 1 sink tile + 17 window tiles.
  EXPECT_EQ(visited, 1 + 2 + 3 + 4 + 5 + 6 + 7 + 8 + 9 + 10 + 11 + 12 + 13 +
                         14 + 15 + 16 + 17 + (s.queryTiles() - 17) * 18);
  EXPECT_GT(full, 15 * (s.queryTiles() - 20));
  EXPECT_LT(segments, 4 * s.queryTiles());
  EXPECT_LT(seconds, 5.0) << "schedule of 8192 query tiles took " << seconds
                          << " s";
}

TEST(Schedule, PackedDocumentsFromTheirRuns) {
  // doc[q] == doc[k] with the document ids given at launch: tiles outside
  // every shared document are skipped, whole same-document tiles are FULL.
  test::Loaded l =
      test::loadFile(std::string(MASKJIT_PATTERNS_DIR) + "/document.mask");
  ASSERT_NE(l.program, nullptr);
  std::mt19937_64 rng(11);
  int64_t skipped = 0;
  for (int iter = 0; iter < 40; ++iter) {
    Case c{1 + static_cast<int64_t>(rng() % 1200),
           1 + static_cast<int64_t>(rng() % 1200), iter % 2 ? 64 : 128,
           iter % 3 ? 64 : 128};
    std::vector<int64_t> doc(std::max(c.lq, c.lk));
    int64_t id = 0;
    for (auto &d : doc) {
      if (rng() % 97 == 0)
        ++id;
      d = id;
    }
    bool unsorted = iter % 10 == 9;
    if (unsorted) // Not non-decreasing: the atom must fall back to opaque.
      std::swap(doc.front(), doc.back());
    KvSchedule s = scheduleFor(l, "document", {}, {}, c, 0, {{"doc", doc}});
    auto truth = truthRows(l, "document", {{"doc", ParamValue::ints(doc)}}, c);
    std::string what =
        "Lq=" + std::to_string(c.lq) + " Lk=" + std::to_string(c.lk);
    compare(blockRows(s), truth, what);
    for (const std::string &row : blockRows(s))
      skipped += std::count(row.begin(), row.end(), '.');
    if (!unsorted) {
      // Every tile the truth calls EMPTY because the documents differ is
      // skipped too (the causal part is exact on its own).
      std::vector<std::string> got = blockRows(s);
      for (size_t r = 0; r < truth.size(); ++r)
        for (size_t k = 0; k < truth[r].size(); ++k)
          if (truth[r][k] == '.' && got[r][k] != '.') {
            // Allowed only where both documents and causality overlap.
            int64_t q0 = r * c.bm,
                    q1 = std::min(c.lq, (int64_t)(r + 1) * c.bm) - 1;
            int64_t k0 = k * c.bn,
                    k1 = std::min(c.lk, (int64_t)(k + 1) * c.bn) - 1;
            EXPECT_FALSE(doc[q1] < doc[k0] || doc[k1] < doc[q0]) << what;
          }
    }
  }
  EXPECT_GT(skipped, 0);
}

namespace {

/// Every allowed (q, k) is in a visited tile or gathered; gathered keys are
/// in order, once, outside visited tiles and allowed for some query of the
/// tile; those marked full are allowed for every query of the tile, the
/// others not. Returns the whole tiles visited per query tile.
std::vector<int64_t> checkCoverage(const KvSchedule &s, const MaskEvaluator &e,
                                   Case c, const std::string &what) {
  std::vector<int64_t> tilesPerQueryTile;
  std::vector<uint8_t> row(c.lk);
  for (int64_t qt = 0; qt < s.queryTiles(); ++qt) {
    std::vector<uint8_t> visited(c.lk, 0), gathered(c.lk, 0), anyQ(c.lk, 0),
        allQ(c.lk, 1), full(c.lk, 0);
    int64_t tiles = 0;
    for (const KvSegment &seg : s.kernelSegments(qt)) {
      tiles += seg.end - seg.begin;
      for (int64_t k = seg.begin * c.bn; k < std::min(c.lk, seg.end * c.bn);
           ++k)
        visited[k] = 1;
    }
    tilesPerQueryTile.push_back(tiles);
    int64_t prev = -1;
    for (const KeyRun &r : s.gather(qt))
      for (int64_t i = 0; i < r.count; ++i) {
        int64_t k = r.start + i * r.step;
        EXPECT_GT(k, prev) << what << ": gathered keys in order, each once";
        EXPECT_LT(k, c.lk) << what;
        EXPECT_FALSE(visited[k])
            << what << ": key " << k << " is gathered and in a visited tile";
        if (k > prev && k < c.lk) {
          gathered[k] = 1;
          full[k] = r.full;
        }
        prev = k;
      }
    for (int64_t q = qt * c.bm; q < std::min(c.lq, (qt + 1) * c.bm); ++q) {
      e.row(q, row.data());
      for (int64_t k = 0; k < c.lk; ++k) {
        anyQ[k] |= row[k];
        allQ[k] &= row[k];
        if (row[k] && !visited[k] && !gathered[k]) {
          ADD_FAILURE() << what << ": allowed (" << q << "," << k
                        << ") is neither visited nor gathered";
          return tilesPerQueryTile;
        }
      }
    }
    for (int64_t k = 0; k < c.lk; ++k) {
      if (!gathered[k])
        continue;
      EXPECT_TRUE(anyQ[k]) << what << ": gathered key " << k
                           << " is allowed for no query of tile " << qt;
      // Full keys skip the predicate in the kernels: that must be sound;
      // and a key every query may see should not pay for it.
      EXPECT_EQ(full[k], allQ[k])
          << what << ": gathered key " << k << " of query tile " << qt
          << (full[k] ? " is marked full but some query may not see it"
                      : " is allowed for every query but not marked full");
    }
  }
  return tilesPerQueryTile;
}

} // namespace

TEST(Schedule, StridedColumnsAreGatheredExactly) {
  test::Loaded l =
      test::loadFile(std::string(MASKJIT_PATTERNS_DIR) + "/strided.mask");
  ASSERT_NE(l.program, nullptr);
  std::mt19937_64 rng(3);
  for (int iter = 0; iter < 30; ++iter) {
    int64_t stride = 1 + rng() % 200, local = 1 + rng() % 600;
    Case c{1 + static_cast<int64_t>(rng() % 1500),
           1 + static_cast<int64_t>(rng() % 1500), iter % 2 ? 64 : 128,
           iter % 3 ? 64 : 128};
    KvSchedule s = scheduleFor(l, "strided",
                               {{"stride", stride}, {"local", local}}, {}, c);
    ASSERT_TRUE(s.isGathered(1)) << "the strided clause is served by GATHER";
    MaskEvaluator e(*l.program, l.pattern("strided"),
                    {{"stride", ParamValue::integer(stride)},
                     {"local", ParamValue::integer(local)}},
                    {}, {c.lq, c.lk, 0, 0});
    std::vector<int64_t> tiles = checkCoverage(
        s, e, c,
        "stride=" + std::to_string(stride) + " local=" + std::to_string(local));
    // Whole tiles are visited only for the local window: keys from
    // q - local + 1 to q + (Lk - Lq), the causal limit.
    for (int64_t t : tiles)
      EXPECT_LE(t,
                (local + std::max<int64_t>(0, c.lk - c.lq) + c.bm) / c.bn + 2);
  }
}

TEST(Schedule, ChosenColumnsAndDiagonals) {
  // Vertical-slash with given sets: columns are gathered, diagonals visit
  // the tiles they cross; the block map is the evaluator's, tile for tile.
  test::Loaded l = test::loadFile(std::string(MASKJIT_PATTERNS_DIR) +
                                  "/vertical_slash.mask");
  ASSERT_NE(l.program, nullptr) << l.diagnostics;
  std::mt19937_64 rng(11);
  for (int iter = 0; iter < 25; ++iter) {
    Case c{1 + static_cast<int64_t>(rng() % 1200),
           1 + static_cast<int64_t>(rng() % 1200), iter % 2 ? 64 : 128,
           iter % 3 ? 64 : 128};
    std::vector<int64_t> cols, diags;
    for (int i = rng() % 40; i > 0; --i)
      cols.push_back(static_cast<int64_t>(rng() % c.lk));
    for (int i = rng() % 12; i > 0; --i)
      diags.push_back(static_cast<int64_t>(rng() % 1300) - 100);
    if (iter % 5 == 0) // Dense runs of columns.
      for (int64_t k = 0; k < std::min<int64_t>(c.lk, 150); ++k)
        cols.push_back(k);
    KvSchedule s =
        scheduleFor(l, "vertical_slash", {}, {}, c, 0,
                    {{"topk_columns", cols}, {"topk_diagonals", diags}});
    Selections sel;
    sel.columns = cols;
    sel.diagonals = diags;
    MaskEvaluator e(*l.program, l.pattern("vertical_slash"), {}, sel,
                    {c.lq, c.lk, 0, 0});
    const std::string what = "vertical_slash lq=" + std::to_string(c.lq) +
                             " lk=" + std::to_string(c.lk);
    std::vector<std::string> truth =
        computeBlockMap(e, c.bm, c.bn).rowStrings();
    EXPECT_EQ(compare(blockRows(s), truth, what), 0) << what;
    checkCoverage(s, e, c, what);
    // Without the chosen sets the schedule stays sound (opaque atoms).
    KvSchedule unknown = scheduleFor(l, "vertical_slash", {}, {}, c);
    compare(blockRows(unknown), truth, what + " (sets unknown)");
  }
}

TEST(Schedule, ChosenKeyBlocksPerQueryBlock) {
  // Block top-k with given lists (one per query block): the tiles no chosen
  // block touches are skipped, and for blocks that align with the tiles
  // the block map is the evaluator's, tile for tile; sound for any block
  // size, negated lists too.
  test::Loaded l = test::load(R"(
pattern bt(keep: int = 3, block: int = 64) {
  causal and k / block in topk_blocks(keep, block)
}
pattern bt_not(keep: int = 3, block: int = 64) {
  not (k / block in topk_blocks(keep, block)) and k <= q + 100
}
)");
  ASSERT_NE(l.program, nullptr) << l.diagnostics;
  std::mt19937_64 rng(12);
  for (int iter = 0; iter < 40; ++iter) {
    Case c{1 + static_cast<int64_t>(rng() % 1100),
           1 + static_cast<int64_t>(rng() % 1100), iter % 2 ? 64 : 128,
           iter % 3 ? 64 : 128};
    const int64_t block = std::vector<int64_t>{16, 64, 128, 100}[iter % 4];
    const int64_t qBlocks = (c.lq + block - 1) / block,
                  kBlocks = (c.lk + block - 1) / block;
    std::vector<std::vector<int64_t>> rows(qBlocks);
    for (auto &row : rows)
      for (int i = rng() % 4; i > 0; --i)
        row.push_back(static_cast<int64_t>(rng() % (kBlocks + 2)));
    Selections sel;
    sel.blocks = rows;
    for (const char *name : {"bt", "bt_not"}) {
      KvSchedule s =
          scheduleFor(l, name, {{"block", block}}, {}, c, 0,
                      {{"topk_blocks", mask::flattenBlockSets(rows)}});
      ParamBindings params;
      params["block"] = ParamValue::integer(block);
      MaskEvaluator e(*l.program, l.pattern(name), params, sel,
                      {c.lq, c.lk, 0, 0});
      const std::string what =
          std::string(name) + " lq=" + std::to_string(c.lq) +
          " lk=" + std::to_string(c.lk) + " block=" + std::to_string(block);
      std::vector<std::string> truth =
          computeBlockMap(e, c.bm, c.bn).rowStrings();
      compare(blockRows(s), truth, what);
      if (std::string(name) == "bt" && c.bm % block == 0 && c.bn % block == 0) {
        // Inexact only where the causal boundary crosses a tile (a chosen
        // block may lie wholly above it: EMPTY, called PARTIAL).
        int64_t offDiagonal = 0;
        std::vector<std::string> got = blockRows(s);
        for (size_t r = 0; r < got.size(); ++r)
          for (size_t k = 0; k < got[r].size(); ++k) {
            const int64_t q0 = int64_t(r) * c.bm,
                          q1 = std::min(c.lq, q0 + c.bm) - 1 + c.lk - c.lq,
                          k0 = int64_t(k) * c.bn,
                          k1 = std::min(c.lk, k0 + c.bn) - 1;
            const bool crossed = k1 > q0 + c.lk - c.lq && k0 <= q1;
            offDiagonal += !crossed && got[r][k] != truth[r][k];
          }
        EXPECT_EQ(offDiagonal, 0) << what;
      }
      checkCoverage(s, e, c, what);
    }
  }
}

TEST(Schedule, UserIndexArraysAreSets) {
  test::Loaded l = test::load(R"(
pattern cols(cols: int[], w: int = 8) {
  causal and (k in cols or q - k < w)
}
pattern notcols(cols: int[]) { q >= k and not (k in cols) }
)");
  ASSERT_NE(l.program, nullptr) << l.diagnostics;
  std::mt19937_64 rng(5);
  for (int iter = 0; iter < 20; ++iter) {
    Case c{1 + static_cast<int64_t>(rng() % 700),
           1 + static_cast<int64_t>(rng() % 700), 64, iter % 2 ? 64 : 128};
    std::vector<int64_t> cols;
    for (int i = rng() % 30; i > 0; --i)
      cols.push_back(static_cast<int64_t>(rng() % c.lk));
    if (iter % 4 == 0)
      for (int64_t k = 0; k < std::min<int64_t>(c.lk, 200); ++k)
        cols.push_back(k);
    for (const char *name : {"cols", "notcols"}) {
      KvSchedule s = scheduleFor(l, name, {}, {}, c, 0, {{"cols", cols}});
      ParamBindings params{{"cols", ParamValue::ints(cols)}};
      MaskEvaluator e(*l.program, l.pattern(name), params, {},
                      {c.lq, c.lk, 0, 0});
      std::vector<std::string> truth =
          computeBlockMap(e, c.bm, c.bn).rowStrings();
      EXPECT_EQ(compare(blockRows(s), truth, name), 0) << name;
      checkCoverage(s, e, c, name);
    }
  }
}
