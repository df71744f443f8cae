// Row masks: the kernels mask PARTIAL tiles with code generated from the
// schedule's DNF instead of the predicate, so that DNF must be the
// predicate exactly wherever a row mask is generated. Checked here point by
// point against the reference evaluator (the generated CUDA itself runs in
// bench/gpu_tests.sh against the CPU reference).
#include "RandomPatterns.h"
#include "SymbolicUtil.h"
#include "TestUtil.h"

#include "maskjit/codegen/RowMask.h"
#include "maskjit/compiler/MaskDialect.h"
#include "maskjit/compiler/Pipeline.h"
#include "maskjit/compiler/SymbolicSchedule.h"

#include <random>
#include <sstream>

using namespace maskjit;
using namespace maskjit::dsl;

namespace {

/// The symbolic schedule of `name` with compile-time values `bindings`.
mask::SymbolicSchedule scheduleWith(const test::Loaded &l,
                                    const std::string &name,
                                    const std::vector<std::string> &bindings) {
  mask::CompileOptions opts;
  opts.constants = test::constants(bindings);
  return test::symbolicFor(l, name, opts);
}

bool hasCongruence(const mask::SymbolicSchedule &s) {
  for (const mask::SymClause &c : s.clauses)
    for (const mask::SymAtom &t : c)
      if (t.modulus > 0)
        return true;
  return false;
}

/// Every (q, k) of an Lq x Lk grid: the bound DNF decides it (FULL or
/// EMPTY on the point; congruences may say PARTIAL), as the evaluator does.
/// Returns the number of points checked.
int64_t
checkPoints(const mask::SymbolicSchedule &sym, const MaskEvaluator &e,
            std::map<std::string, int64_t> values, int64_t lq, int64_t lk,
            const std::string &what,
            const std::map<std::string, std::vector<int64_t>> &sets = {}) {
  std::string error;
  auto s = mask::bindSchedule(sym, values, lq, lk, 64, 64, error, sets);
  EXPECT_TRUE(s.has_value()) << what << ": " << error;
  if (!s)
    return 0;
  const bool congruence = hasCongruence(sym);
  std::vector<uint8_t> row(lk);
  int64_t n = 0;
  for (int64_t q = 0; q < lq; ++q) {
    e.row(q, row.data());
    for (int64_t k = 0; k < lk; ++k, ++n) {
      TileKind got = s->classify(q, q, k, k);
      if (got == TileKind::Partial && congruence)
        continue;
      EXPECT_EQ(got, row[k] ? TileKind::Full : TileKind::Empty)
          << what << " Lq=" << lq << " Lk=" << lk << " q=" << q << " k=" << k;
      if (got != (row[k] ? TileKind::Full : TileKind::Empty))
        return n;
    }
  }
  return n;
}

} // namespace

TEST(RowMask, ShippedPatternsThatHaveOne) {
  struct Example {
    const char *file, *name;
    bool rowMask;
    std::vector<std::string> bindings = {};
  } examples[] = {{"causal", "causal_only", true},
                  {"sliding_window", "sliding_window", true},
                  {"a_shape", "a_shape", true},
                  {"strided", "strided", true},
                  {"vertical_slash", "vertical_slash", true},
                  {"mixed", "mixed", true},
                  // Document ids compared at q and k: a key range per row.
                  {"document", "document", true},
                  // Block top-k: the chosen key blocks of the row's
                  // query block, a few ranges per row.
                  {"block_topk", "block_topk", true},
                  // 2-D neighbourhood: 16 atoms on key blocks (image rows),
                  // too many for the kernels' registers; dilated, its
                  // congruences have no row mask either.
                  {"neighborhood_2d", "neighborhood_2d", false, {"width=64"}},
                  {"neighborhood_2d",
                   "neighborhood_2d",
                   false,
                   {"width=64", "dilation=2"}}};
  for (const Example &ex : examples) {
    test::Loaded l = test::loadFile(std::string(MASKJIT_PATTERNS_DIR) + "/" +
                                    ex.file + ".mask");
    ASSERT_NE(l.program, nullptr) << l.diagnostics;
    std::string why;
    std::string code = codegen::rowMaskFunction(
        scheduleWith(l, ex.name, ex.bindings), l.pattern(ex.name), &why);
    EXPECT_EQ(!code.empty(), ex.rowMask) << ex.name << ": " << why;
    if (code.empty())
      EXPECT_FALSE(why.empty()) << ex.name;
    else
      EXPECT_NE(code.find("maskjit_row_mask"), std::string::npos);
  }
}

TEST(RowMask, DnfIsThePredicateOnShippedPatterns) {
  std::mt19937_64 rng(7);
  for (const char *name : {"causal_only", "sliding_window", "a_shape",
                           "strided", "neighborhood_2d"}) {
    const std::string file =
        std::string(name) == "causal_only" ? "causal" : name;
    test::Loaded l = test::loadFile(std::string(MASKJIT_PATTERNS_DIR) + "/" +
                                    file + ".mask");
    ASSERT_NE(l.program, nullptr) << l.diagnostics;
    // Small params, so that every atom's boundary falls inside the grid.
    std::vector<std::string> b;
    if (std::string(name) == "sliding_window")
      b = {"window=37"};
    if (std::string(name) == "a_shape")
      b = {"sink=5", "window=29"};
    if (std::string(name) == "strided")
      b = {"stride=7", "local=19"};
    if (std::string(name) == "neighborhood_2d")
      b = {"width=13", "radius=2"};
    auto sym = scheduleWith(l, name, b);
    ParamBindings params;
    for (const std::string &kv : b)
      params[kv.substr(0, kv.find('='))] =
          ParamValue::integer(std::stoll(kv.substr(kv.find('=') + 1)));
    for (int i = 0; i < 4; ++i) {
      int64_t lq = 1 + rng() % 150, lk = 1 + rng() % 150;
      MaskEvaluator e(*l.program, l.pattern(name), params, {}, {lq, lk, 0, 0});
      EXPECT_GT(checkPoints(sym, e, {{"h", 0}, {"b", 0}}, lq, lk, name), 0);
    }
  }
  // Chosen sets, and the per-head mixture (each head its arm).
  test::Loaded vs =
      test::loadFile(std::string(MASKJIT_PATTERNS_DIR) + "/mixed.mask");
  ASSERT_NE(vs.program, nullptr) << vs.diagnostics;
  for (const char *name : {"vertical_slash", "mixed"}) {
    auto sym = scheduleWith(vs, name, {});
    for (int i = 0; i < 4; ++i) {
      int64_t lq = 1 + rng() % 150, lk = 1 + rng() % 150;
      std::vector<int64_t> cols, diags;
      for (int j = rng() % 20; j > 0; --j)
        cols.push_back(static_cast<int64_t>(rng() % lk));
      for (int j = rng() % 8; j > 0; --j)
        diags.push_back(static_cast<int64_t>(rng() % 200) - 40);
      Selections sel;
      sel.columns = cols;
      sel.diagonals = diags;
      for (int64_t h : {0, 7, 8, 20}) {
        MaskEvaluator e(*vs.program, vs.pattern(name), {}, sel, {lq, lk, h, 0});
        EXPECT_GT(
            checkPoints(sym, e, {{"h", h}, {"b", 0}}, lq, lk,
                        std::string(name) + " h=" + std::to_string(h),
                        {{"topk_columns", cols}, {"topk_diagonals", diags}}),
            0);
      }
    }
  }
}

TEST(RowMask, DnfIsThePredicateOnRandomPatterns) {
  test::RandomPatternGen gen(20261123);
  int withRowMask = 0;
  for (int iter = 0; iter < 300; ++iter) {
    const int64_t w = gen.pickOf(9) - 3;
    std::string src = "pattern p(w: int = 0) {\n  let m = " + gen.intExpr(2) +
                      "\n  " + gen.boolExpr(4) + "\n}\n";
    test::Loaded l = test::load(src);
    if (!l.program)
      continue;
    mask::SymbolicSchedule sym;
    try {
      sym = scheduleWith(l, "p", {"w=" + std::to_string(w)});
    } catch (const std::exception &) {
      continue; // E.g. a division by a zero constant after binding w.
    }
    if (codegen::rowMaskFunction(sym, l.pattern("p")).empty())
      continue;
    const int64_t lq = 1 + gen.pickOf(40), lk = 1 + gen.pickOf(120);
    MaskEvaluator e(*l.program, l.pattern("p"), {{"w", ParamValue::integer(w)}},
                    {}, {lq, lk, 0, 0});
    try {
      std::vector<uint8_t> row(lk);
      for (int64_t q = 0; q < lq; ++q)
        e.row(q, row.data());
    } catch (const MaskError &) {
      continue; // Traps (division by zero at run time): not a mask.
    }
    ++withRowMask;
    checkPoints(sym, e, {{"h", 0}, {"b", 0}}, lq, lk, src);
  }
  // The generator reaches patterns with row masks often enough to matter.
  EXPECT_GT(withRowMask, 60);
}

// A chosen-block atom that is the DNF's only way in, over blocks the tiles
// divide, is decided by the schedule: every tile it visits is one (query
// block, key block) pair whose key block was chosen. The row mask then
// drops it (no bitmap load); checked here on
// the bound schedules with random chosen lists, Lq != Lk, several blocks
// and tiles, and that two clauses, a negated atom or unaligned blocks keep
// the atom.
TEST(RowMask, ChosenBlockAtomDecidedByTheSchedule) {
  test::Loaded l = test::load(R"(
pattern bt(keep: int = 3, block: int = 64) {
  causal and k / block in topk_blocks(keep, block)
}
pattern bt_or(keep: int = 3, block: int = 64) {
  causal and (k / block in topk_blocks(keep, block) or q - k < 8)
}
pattern bt_not(keep: int = 3, block: int = 64) {
  q >= k and not (k / block in topk_blocks(keep, block))
}
)");
  ASSERT_NE(l.program, nullptr) << l.diagnostics;
  std::mt19937_64 rng(21);
  int checkedTiles = 0;
  for (int iter = 0; iter < 48; ++iter) {
    const int64_t block = std::vector<int64_t>{64, 128, 256, 100}[iter % 4];
    const codegen::RowMaskTiles tiles = std::vector<codegen::RowMaskTiles>{
        {64, 64}, {128, 128}, {128, 64}}[(iter / 4) % 3];
    const std::string bind = "block=" + std::to_string(block);
    for (const char *name : {"bt", "bt_or", "bt_not"}) {
      mask::SymbolicSchedule sym = scheduleWith(l, name, {bind});
      const mask::SymAtom *atom = nullptr;
      for (const mask::SymClause &c : sym.clauses)
        for (const mask::SymAtom &t : c)
          if (t.setBlock > 0)
            atom = &t;
      ASSERT_NE(atom, nullptr) << name;
      const bool aligned = block % tiles.tileM == 0 && block % tiles.tileN == 0;
      const bool decided =
          codegen::blockAtomDecidedBySchedule(sym, *atom, tiles);
      const std::string what = std::string(name) + " " + bind + " tiles " +
                               std::to_string(tiles.tileM) + "x" +
                               std::to_string(tiles.tileN);
      EXPECT_EQ(decided, std::string(name) == "bt" && aligned) << what;
      const std::string code =
          codegen::rowMaskFunction(sym, l.pattern(name), nullptr, tiles);
      EXPECT_EQ(code.find("mj_rm_keep_block_set") == std::string::npos, decided)
          << what;
      if (!decided)
        continue;
      const int64_t lq = 1 + rng() % 1500, lk = 1 + rng() % 1500;
      const int64_t qBlocks = (lq + block - 1) / block,
                    kBlocks = (lk + block - 1) / block;
      std::vector<std::vector<int64_t>> rows(qBlocks);
      for (auto &row : rows)
        for (int i = rng() % 5; i > 0; --i)
          row.push_back(static_cast<int64_t>(rng() % (kBlocks + 1)));
      std::string error;
      auto s = mask::bindSchedule(
          sym, {{"block", block}, {"keep", 3}}, lq, lk, tiles.tileM,
          tiles.tileN, error, {{"topk_blocks", mask::flattenBlockSets(rows)}});
      ASSERT_TRUE(s.has_value()) << what << ": " << error;
      std::vector<std::string> map = blockRows(*s);
      for (size_t qt = 0; qt < map.size(); ++qt)
        for (size_t kt = 0; kt < map[qt].size(); ++kt) {
          if (map[qt][kt] == '.')
            continue;
          ++checkedTiles;
          const int64_t qb = int64_t(qt) * tiles.tileM / block,
                        kb = int64_t(kt) * tiles.tileN / block;
          const std::vector<int64_t> &chosen = rows[qb];
          EXPECT_NE(std::find(chosen.begin(), chosen.end(), kb), chosen.end())
              << what << " Lq=" << lq << " Lk=" << lk << ": tile (" << qt
              << ", " << kt << ") visited, key block " << kb
              << " not chosen by query block " << qb;
        }
    }
  }
  EXPECT_GT(checkedTiles, 100);
}
