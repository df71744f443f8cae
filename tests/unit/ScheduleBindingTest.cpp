// Binding a symbolic schedule into the kernels' tables, and the TMA layout
// of K/V tensors: plain C++ (no MLIR), shared by the JIT runtime and the
// kernels `maskc aot` writes.
#include "maskjit/schedule/ScheduleBinding.h"
#include "maskjit/runtime/KernelAbi.h"

#include <gtest/gtest.h>

using namespace maskjit;
using namespace maskjit::mask;

namespace {
/// causal and q - k < window (window a runtime symbol), by hand.
SymbolicSchedule slidingWindow() {
  SymAtom causal; // -q + k <= Lk - Lq
  causal.a = -1;
  causal.b = 1;
  causal.rhs.terms = {{"Lk", 1}, {"Lq", -1}};
  SymAtom window; // q - k <= window - 1
  window.a = 1;
  window.b = -1;
  window.rhs.constant = -1;
  window.rhs.terms = {{"window", 1}};
  SymAtom notCausal; // q - k <= Lq - Lk - 1
  notCausal.a = 1;
  notCausal.b = -1;
  notCausal.rhs.constant = -1;
  notCausal.rhs.terms = {{"Lq", 1}, {"Lk", -1}};
  SymAtom notWindow; // -q + k <= -window
  notWindow.a = -1;
  notWindow.b = 1;
  notWindow.rhs.terms = {{"window", -1}};
  SymbolicSchedule s;
  s.clauses = {{causal, window}};
  s.complement = {{notCausal}, {notWindow}};
  return s;
}
} // namespace

TEST(ScheduleBinding, TablesPerQueryTile) {
  KernelTables t;
  std::string error;
  ASSERT_TRUE(buildKernelTables(slidingWindow(), {{"window", 128}}, {}, 1, 384,
                                384, 128, 128, {}, t, error))
      << error;
  EXPECT_EQ(t.queryTiles, 3);
  // Tile 0: the diagonal tile only; tiles 1, 2: the tile before (partial:
  // the window's edge) and the diagonal.
  EXPECT_EQ(t.segPtr, (std::vector<int>{0, 1, 2, 3}));
  EXPECT_EQ(t.segs, (std::vector<int>{0, 1, 0, 0, 2, 0, 1, 3, 0}));
  EXPECT_EQ(t.visitedTiles, 5);
  EXPECT_TRUE(t.gatherKeys.empty());
  EXPECT_EQ(t.gatherPtr, (std::vector<int>{0, 0, 0, 0}));
}

TEST(ScheduleBinding, PerHeadTablesAndMissingSymbols) {
  KernelTables t;
  std::string error;
  ASSERT_TRUE(buildKernelTables(slidingWindow(), {},
                                {{{"window", 1000}}, {{"window", 1}}}, 2, 256,
                                256, 128, 128, {}, t, error))
      << error;
  // Head 0 sees the whole causal triangle (tile 1 of query tile 1 FULL),
  // head 1 only the diagonal; offsets run over both heads.
  EXPECT_EQ(t.heads, 2);
  EXPECT_EQ(t.segPtr, (std::vector<int>{0, 1, 3, 3, 4, 5}));
  EXPECT_EQ(t.segs[3], 0);
  EXPECT_EQ(t.segs[5], 1); // head 0, query tile 1, key tile 0: FULL
  EXPECT_FALSE(buildKernelTables(slidingWindow(), {}, {}, 1, 256, 256, 128, 128,
                                 {}, t, error));
  EXPECT_NE(error.find("`window`"), std::string::npos) << error;
}

TEST(ScheduleBinding, TmaLayoutOrdersDimensionsByStride) {
  // BSHD: batch L*H*D, seq H*D, head D.
  const int64_t L = 1000, H = 8, D = 128, bshd[3] = {L * H * D, H * D, D};
  TmaLayout t = tmaLayout(L, H, 2, bshd, D, 128);
  EXPECT_EQ(t.headDim, 1);
  EXPECT_EQ(t.seqDim, 2);
  EXPECT_EQ(t.batchDim, 3);
  EXPECT_EQ(t.extents[0], 128u);
  EXPECT_EQ(t.extents[2], 1000u);
  EXPECT_EQ(t.strideBytes[0], uint64_t(D * 2));
  EXPECT_EQ(t.box[0], 64u);
  EXPECT_EQ(t.box[2], 128u);
  EXPECT_EQ(t.box[1], 1u);
  // BHSD: batch H*L*D, head L*D, seq D; one head sorts last.
  const int64_t bhsd[3] = {H * L * D, D, L * D};
  t = tmaLayout(L, 1, 2, bhsd, D, 128);
  EXPECT_EQ(t.seqDim, 1);
  EXPECT_EQ(t.batchDim, 2);
  EXPECT_EQ(t.headDim, 3);
  EXPECT_EQ(t.box[1], 128u);
}

TEST(ScheduleBinding, SetsChosenPerHead) {
  // causal and k in cols: each head gathers its own columns, those every
  // row of the tile may see first (as themselves), then the others (as
  // -(key + 2)).
  SymAtom causal; // -q + k <= Lk - Lq
  causal.a = -1;
  causal.b = 1;
  causal.rhs.terms = {{"Lk", 1}, {"Lq", -1}};
  SymAtom cols;
  cols.setName = "cols";
  SymbolicSchedule s;
  s.clauses = {{causal, cols}};
  KernelTables t;
  std::string error;
  ASSERT_TRUE(buildKernelTables(s, {}, {}, 2, 256, 256, 128, 128,
                                {{"cols", {5}}}, t, error,
                                {{{"cols", {3, 200}}}, {{"cols", {140, 7}}}}))
      << error;
  EXPECT_EQ(t.heads, 2);
  // Query tile 0 gathers key 3 (head 0) or 7 (head 1), which its first
  // rows may not see (partial); query tile 1 sees them from every row
  // (full), and 200 or 140 from some rows only.
  const int p3 = gatheredPartialKey(3), p7 = gatheredPartialKey(7);
  EXPECT_EQ(t.gatherKeys, (std::vector<int>{p3, 3, gatheredPartialKey(200), p7,
                                            7, gatheredPartialKey(140)}));
  EXPECT_EQ(t.gatherPtr, (std::vector<int>{0, 1, 3, 3, 4, 6}));
}

TEST(ScheduleBinding, SelectorBitsPerHead) {
  std::vector<int64_t> a = {-3, 0, 31, 32, 99}, b = {5};
  runtime::SelectorBits bits = runtime::selectorBits({&a, &b}, -2, 40);
  EXPECT_EQ(bits.headWords, 2); // 42 values: two words a head
  ASSERT_EQ(bits.words.size(), 4u);
  // Head 0: 0 -> bit 2, 31 -> bit 33, 32 -> bit 34; -3 and 99 dropped.
  EXPECT_EQ(bits.words[0], 1u << 2);
  EXPECT_EQ(bits.words[1], (1u << 1) | (1u << 2));
  EXPECT_EQ(bits.words[2], 1u << 7); // head 1: 5 -> bit 7
  EXPECT_EQ(bits.words[3], 0u);
  EXPECT_EQ(runtime::selectorBits({&b}, 0, 8).headWords, 0);
}
