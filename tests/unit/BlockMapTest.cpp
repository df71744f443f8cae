#include "TestUtil.h"

#include "maskjit/dsl/BlockMap.h"

using namespace maskjit;
using namespace maskjit::dsl;

TEST(BlockMap, ClassifiesAgainstDirectCounts) {
  test::Loaded l = test::load("pattern p { causal and (k < 5 or q - k < 20) }");
  ASSERT_NE(l.program, nullptr);
  for (auto [lq, lk, bm, bn] :
       std::vector<std::array<int64_t, 4>>{{100, 100, 16, 16},
                                           {77, 130, 32, 8},
                                           {130, 77, 8, 32},
                                           {5, 5, 64, 64}}) {
    MaskEvaluator e(*l.program, l.pattern("p"), {}, {}, {lq, lk});
    BlockMap map = computeBlockMap(e, bm, bn);
    ASSERT_EQ(map.rows, (lq + bm - 1) / bm);
    ASSERT_EQ(map.cols, (lk + bn - 1) / bn);
    int64_t total = 0;
    for (int64_t r = 0; r < map.rows; ++r)
      for (int64_t c = 0; c < map.cols; ++c) {
        int64_t n = 0, in = 0;
        for (int64_t q = r * bm; q < std::min(lq, (r + 1) * bm); ++q)
          for (int64_t k = c * bn; k < std::min(lk, (c + 1) * bn); ++k) {
            n += e.allowed(q, k);
            ++in;
          }
        total += n;
        TileClass want = n == 0    ? TileClass::Empty
                         : n == in ? TileClass::Full
                                   : TileClass::Partial;
        EXPECT_EQ(map.at(r, c), want) << "tile " << r << "," << c;
      }
    EXPECT_EQ(map.allowedPairs, total);
  }
}

TEST(BlockMap, RowStringsAndMergedRendering) {
  test::Loaded l = test::load("pattern p { causal }");
  ASSERT_NE(l.program, nullptr);
  MaskEvaluator e(*l.program, l.pattern("p"), {}, {}, {8, 8});
  BlockMap map = computeBlockMap(e, 2, 2);
  EXPECT_EQ(map.rowStrings(),
            (std::vector<std::string>{"P...", "FP..", "FFP.", "FFFP"}));
  EXPECT_EQ(renderBlockMap(map, 2, 2),
            "(each character is 2x2 tiles)\nP.\nFP\n");
  EXPECT_EQ(map.count(TileClass::Full), 6);
}

TEST(BlockMap, DensityGrid) {
  test::Loaded l = test::load("pattern p { causal }");
  ASSERT_NE(l.program, nullptr);
  MaskEvaluator e(*l.program, l.pattern("p"), {}, {}, {4, 4});
  DensityGrid grid;
  grid.rows = 2;
  grid.cols = 2;
  computeBlockMap(e, 2, 2, &grid);
  EXPECT_EQ(grid.cellQ, 2);
  EXPECT_EQ(grid.allowed, (std::vector<int64_t>{3, 0, 4, 3}));
}
