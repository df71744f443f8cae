// The kernels' walk over a query tile's schedule (mj_schedule in
// codegen/kernels/attention_common.cuh), compiled on the host for patterns
// dilated by 3, over the tables the launcher uploads: for every head, class
// and query tile, the rows and keys it hands out are positions of the
// class, they cover every pair the evaluator allows, and FULL tiles hold
// only allowed pairs. The GPU kernels load and mask exactly these.
#include "CudaHostShim.h"

#include <cstdint>
#include <cstring>

struct maskjit_args {
  int64_t maskjit_unused;
};
static unsigned __cvta_generic_to_shared(const void *) { return 0; }
#define MASKJIT_HEAD_DIM 128
#define MASKJIT_DILATION 3
#include "../../codegen/kernels/attention_common.cuh"

#include "DilatedPatterns.h"
#include "SymbolicUtil.h"
#include "TestUtil.h"

#include "maskjit/dsl/Evaluator.h"
#include "maskjit/schedule/ScheduleBinding.h"

#include <gtest/gtest.h>

#include <map>
#include <set>

using namespace maskjit;

namespace {

// The kernel above is compiled for dilation 3; each pattern's window.
const std::map<std::string, int64_t> kWindows = {{"dilated_window", 50},
                                                 {"dilated_both_ways", 100}};

void walkAll(const test::Loaded &l, const std::string &name, int64_t lq,
             int64_t lk, int tile) {
  mask::CompileOptions opts;
  opts.tileM = opts.tileN = tile;
  const int64_t window = kWindows.at(name);
  opts.constants = {{"window", window}, {"dilation", MASKJIT_DILATION}};
  const mask::SymbolicSchedule sym = test::symbolicFor(l, name, opts);
  const int heads = 2;
  mask::KernelTables t;
  std::string error;
  ASSERT_TRUE(mask::buildKernelTables(sym, {}, {}, heads, lq, lk, tile, tile,
                                      {}, t, error))
      << error;
  ASSERT_EQ(t.dilation, MASKJIT_DILATION);
  maskjit_params p{};
  p.lq = static_cast<int>(lq);
  p.lk = static_cast<int>(lk);
  p.heads = heads;
  p.seg_ptr = t.segPtr.data();
  p.segs = t.segs.data();
  p.gather_ptr = t.gatherPtr.data();
  p.gather_keys = t.gatherKeys.data();
  p.sched_heads = heads;
  p.num_q_tiles = t.queryTiles;
  const dsl::ParamBindings params = {
      {"window", dsl::ParamValue::integer(window)},
      {"dilation", dsl::ParamValue::integer(MASKJIT_DILATION)}};
  dsl::MaskEvaluator e(*l.program, l.pattern(name), params, {}, {lq, lk, 0, 0});
  std::vector<uint8_t> row(static_cast<size_t>(lk));
  const std::string what =
      name + " Lq=" + std::to_string(lq) + " Lk=" + std::to_string(lk);
  for (int h = 0; h < heads; ++h)
    for (int cls = 0; cls < MASKJIT_DILATION; ++cls)
      for (int qt = 0; qt < t.queryTiles; ++qt) {
        mj_schedule s(p, h, 0, qt, tile, cls);
        std::set<int> keys;
        for (int i = 0; i < s.num_items; ++i) {
          int item;
          const int kind = s.item(i, item);
          for (int r = 0; r < tile; ++r) {
            const int k = s.key(kind, item, r);
            if (k < 0)
              continue;
            ASSERT_LT(k, lk) << what;
            ASSERT_EQ(k % MASKJIT_DILATION, cls) << what;
            keys.insert(k);
            for (int qi = 0; kind == 1 && qi < tile; ++qi) {
              const int q = s.query(qt * tile + qi);
              if (q < lq) {
                ASSERT_TRUE(e.allowed(q, k))
                    << what << ": FULL tile holds (" << q << "," << k << ")";
              }
            }
          }
        }
        for (int qi = 0; qi < tile; ++qi) {
          const int q = s.query(qt * tile + qi);
          if (q >= lq)
            continue;
          ASSERT_EQ(q % MASKJIT_DILATION, cls);
          e.row(q, row.data());
          for (int64_t k = 0; k < lk; ++k)
            if (row[k]) {
              ASSERT_TRUE(keys.count(static_cast<int>(k)))
                  << what << ": (" << q << "," << k << ") not visited";
            }
        }
      }
}

} // namespace

TEST(ScheduleWalk, DilatedClassesCoverEveryAllowedPair) {
  test::Loaded l = test::load(test::kDilatedPatterns);
  ASSERT_NE(l.program, nullptr) << l.diagnostics;
  for (auto [lq, lk] : {std::pair<int64_t, int64_t>{1000, 1000},
                        {300, 1000},
                        {1000, 301},
                        {2, 2}}) {
    walkAll(l, "dilated_window", lq, lk, 64);
    walkAll(l, "dilated_both_ways", lq, lk, 64);
    walkAll(l, "dilated_window", lq, lk, 16);
  }
}

// Sets estimated per sequence give every (sequence, head) row its own
// schedule: with sched_heads = batch * heads the kernel walks row
// b * heads + h, with heads row h, with one schedule row 0. Each unit
// (row, class) here holds one tile whose number is the unit's.
TEST(ScheduleWalk, EachSequenceAndHeadFindsItsSchedule) {
  const int batch = 2, heads = 3, rows = batch * heads;
  const int units = rows * MASKJIT_DILATION;
  std::vector<int> segPtr, segs, gatherPtr(size_t(units) * 2, 0);
  for (int u = 0; u < units; ++u) {
    segPtr.insert(segPtr.end(), {u, u + 1});
    segs.insert(segs.end(), {u, u + 1, 1});
  }
  maskjit_params p{};
  p.lq = p.lk = 64 * units * MASKJIT_DILATION;
  p.heads = heads;
  p.batch = batch;
  p.seg_ptr = segPtr.data();
  p.segs = segs.data();
  p.gather_ptr = gatherPtr.data();
  p.num_q_tiles = 1;
  for (int schedHeads : {1, heads, rows}) {
    p.sched_heads = schedHeads;
    for (int b = 0; b < batch; ++b)
      for (int h = 0; h < heads; ++h)
        for (int cls = 0; cls < MASKJIT_DILATION; ++cls) {
          mj_schedule s(p, h, b, 0, 64, cls);
          ASSERT_EQ(s.num_items, 1);
          int tile = -1;
          ASSERT_EQ(s.item(0, tile), 1);
          const int row = schedHeads == 1       ? 0
                          : schedHeads == heads ? h
                                                : b * heads + h;
          EXPECT_EQ(tile, row * MASKJIT_DILATION + cls)
              << "sched_heads " << schedHeads << " b " << b << " h " << h;
        }
  }
}
