// The GPU schedule builder's kernels (codegen/kernels/schedule_build.cuh),
// run on the host through a small CUDA shim (CudaHostShim.h), against the
// host's build of the same schedule: count pass, scan, fill pass, as
// GpuScheduleBuilder launches them, from the same inputs
// (runtime::builderInputs). On the GPU, `maskc run --check` does the same
// comparison with the real kernels.
#include "CudaHostShim.h"

#include "../../codegen/kernels/schedule_build.cuh"

#include "SymbolicUtil.h"
#include "TestUtil.h"

#include "maskjit/runtime/GpuScheduleBuilder.h"
#include "maskjit/schedule/SetSchedule.h"

#include <gtest/gtest.h>

#include <random>

using namespace maskjit;
using namespace maskjit::mask;

namespace {

/// The builder's three launches on the host; the tables as the kernels
/// leave them, and the visited-tile counter.
/// Block top-k's chosen blocks as the block estimator leaves them.
struct BlockBits {
  std::vector<unsigned> bits;
  int rows = 0, rowWords = 0;
};

KernelTables runBuilder(const SetSchedulePlan &plan,
                        const runtime::BuilderInputs &in,
                        int64_t &visitedCounter,
                        const BlockBits *blocks = nullptr) {
  const KernelTables &st = plan.staticTables;
  const size_t cells = size_t(in.heads) * size_t(in.qTiles);
  std::vector<int> segCount(cells), keyCount(cells), keyFull(cells),
      segPtr(cells + in.heads), gatherPtr(cells + in.heads);
  unsigned long long visited = 0;
  mj_sb_params p{};
  p.lq = static_cast<int>(plan.lq);
  p.lk = static_cast<int>(plan.lk);
  p.tile_q = static_cast<int>(plan.tileQ);
  p.tile_k = static_cast<int>(plan.tileK);
  p.heads = in.heads;
  p.q_tiles = static_cast<int>(in.qTiles);
  p.k_tiles = static_cast<int>(in.kTiles);
  p.k_words = static_cast<int>(in.kWords);
  p.n_sets = static_cast<int>(plan.setNames.size());
  p.static_ptr = st.segPtr.data();
  p.static_segs = st.segs.data();
  p.set_ptr = in.setPtr.data();
  p.set_end = in.setPtr.data() + 1;
  p.set_values = in.setValues.data();
  p.clause_ptr = in.clausePtr.data();
  p.clauses = in.clauses.data();
  p.atoms = reinterpret_cast<const int64_t *>(in.atoms.data());
  p.seg_count = segCount.data();
  p.key_count = keyCount.data();
  p.key_full = keyFull.data();
  p.seg_ptr = segPtr.data();
  p.gather_ptr = gatherPtr.data();
  p.visited_tiles = &visited;
  if (blocks) {
    p.block_bits = blocks->bits.data();
    p.block = static_cast<int>(plan.block);
    p.block_rows = blocks->rows;
    p.block_row_words = blocks->rowWords;
    p.block_head_words = int64_t{blocks->rows} * blocks->rowWords;
  }
  mj_host::launch(mj_sb_build, p.q_tiles, in.heads, MJ_SB_THREADS, p, 0);
  mj_host::launch(mj_sb_scan, 1, 1, MJ_SB_THREADS, p);
  KernelTables out;
  out.heads = in.heads;
  out.queryTiles = p.q_tiles;
  out.segs.assign(size_t(segPtr.back()) * 3, -7);
  out.gatherKeys.assign(size_t(gatherPtr.back()), -7); // poison
  p.segs = out.segs.data();
  p.gather_keys = out.gatherKeys.data();
  mj_host::launch(mj_sb_build, p.q_tiles, in.heads, MJ_SB_THREADS, p, 1);
  out.segPtr = segPtr;
  out.gatherPtr = gatherPtr;
  out.gatheredKeys = static_cast<int64_t>(out.gatherKeys.size());
  visitedCounter = static_cast<int64_t>(visited);
  return out;
}

} // namespace

// Random shapes (Lq != Lk, lengths not multiples of the tiles, more than
// 32 key tiles so that segments cross the bitmap's words and the threads'
// ranges), random sets with local runs of diagonals (long segments).
TEST(ScheduleBuilderKernel, SameTablesAsTheHost) {
  std::mt19937_64 rng(23);
  struct Case {
    const char *file, *name;
    int heads;
  };
  int checked = 0;
  for (const Case &c : {Case{"vertical_slash", "vertical_slash", 2},
                        Case{"mixed", "mixed", 10}}) {
    test::Loaded l = test::loadFile(std::string(MASKJIT_PATTERNS_DIR) + "/" +
                                    c.file + ".mask");
    ASSERT_NE(l.program, nullptr) << l.diagnostics;
    const SymbolicSchedule s = test::symbolicFor(l, c.name, {});
    for (int round = 0; round < 3; ++round) {
      const int64_t lq = 200 + rng() % 2500, lk = 200 + rng() % 2500;
      const int64_t tileQ = round % 2 ? 64 : 128, tileK = round == 2 ? 32 : 64;
      std::string whyNot, error;
      auto plan = planSetSchedule(s, {}, {}, c.heads, lq, lk, tileQ, tileK,
                                  whyNot, error);
      ASSERT_TRUE(plan) << whyNot << error;
      std::vector<std::vector<std::vector<int64_t>>> sets(
          plan->setNames.size());
      std::vector<std::map<std::string, std::vector<int64_t>>> perHead(c.heads);
      for (size_t i = 0; i < sets.size(); ++i)
        for (int h = 0; h < c.heads; ++h) {
          std::vector<int64_t> v;
          if (plan->setNames[i] == "topk_diagonals") {
            v = test::randomSet(rng, 12, 1 - lk, lq - 1);
            for (int64_t d = 0; d < 40; ++d) // a band: runs of tiles
              v.push_back(d);
          } else {
            v = test::randomSet(rng, 300, 0, lk - 1);
          }
          sets[i].push_back(v);
          perHead[h][plan->setNames[i]] = v;
        }
      std::vector<std::vector<const std::vector<int64_t> *>> ptrs(sets.size());
      for (size_t i = 0; i < sets.size(); ++i)
        for (const auto &v : sets[i])
          ptrs[i].push_back(&v);
      KernelTables host;
      ASSERT_TRUE(buildKernelTables(s, {}, {}, c.heads, lq, lk, tileQ, tileK,
                                    {}, host, error, perHead))
          << error;
      int64_t visited = 0;
      const KernelTables gpu =
          runBuilder(*plan, runtime::builderInputs(*plan, ptrs), visited);
      const int64_t keyTiles = (lk + tileK - 1) / tileK;
      EXPECT_EQ(compareTables(host, gpu, keyTiles), "")
          << c.name << " Lq=" << lq << " Lk=" << lk << " tiles " << tileQ << "x"
          << tileK;
      int64_t covered = 0;
      for (size_t i = 0; i + 2 < gpu.segs.size(); i += 3)
        covered += gpu.segs[i + 1] - gpu.segs[i];
      EXPECT_EQ(visited, covered);
      EXPECT_EQ(visited, host.visitedTiles) << c.name;
      ++checked;
    }
  }
  EXPECT_EQ(checked, 6);
}

// Block top-k: the static (causal) tiles a chosen block touches, chosen as
// the block estimator chooses (key blocks the query block's last row may
// reach), against the host's classification of the same lists.
TEST(ScheduleBuilderKernel, BlockTopkSameTablesAsTheHost) {
  std::mt19937_64 rng(29);
  test::Loaded l =
      test::loadFile(std::string(MASKJIT_PATTERNS_DIR) + "/block_topk.mask");
  ASSERT_NE(l.program, nullptr) << l.diagnostics;
  const int heads = 2;
  for (int round = 0; round < 6; ++round) {
    const int64_t block = round % 3 == 2 ? 32 : 64;
    mask::CompileOptions opts;
    opts.constants = {{"block", block}};
    const SymbolicSchedule s = test::symbolicFor(l, "block_topk", opts);
    const int64_t lq = 200 + rng() % 2500, lk = lq + (round % 2 ? 0 : 100);
    const int64_t tileQ = round % 2 ? 64 : 128, tileK = round == 2 ? 32 : 128;
    std::string whyNot, error;
    auto plan =
        planSetSchedule(s, {}, {}, heads, lq, lk, tileQ, tileK, whyNot, error);
    ASSERT_TRUE(plan) << whyNot << error;
    ASSERT_EQ(plan->blockSet, "topk_blocks");
    const int64_t qBlocks = (lq + block - 1) / block,
                  kBlocks = (lk + block - 1) / block;
    BlockBits bits;
    bits.rows = static_cast<int>(qBlocks);
    bits.rowWords = static_cast<int>((kBlocks + 31) / 32);
    bits.bits.assign(size_t(heads) * qBlocks * bits.rowWords, 0u);
    std::vector<std::map<std::string, std::vector<int64_t>>> perHead(heads);
    for (int h = 0; h < heads; ++h) {
      std::vector<std::vector<int64_t>> rows(qBlocks);
      for (int64_t qb = 0; qb < qBlocks; ++qb) {
        const int64_t lastKey =
            std::min(lk - 1, std::min(lq - 1, (qb + 1) * block - 1) + lk - lq);
        for (int i = 0; i < 5 && lastKey >= 0; ++i) {
          const int64_t kb =
              static_cast<int64_t>(rng() % (lastKey / block + 1));
          rows[qb].push_back(kb);
          bits.bits[(h * qBlocks + qb) * bits.rowWords + kb / 32] |=
              1u << (kb % 32);
        }
      }
      perHead[h]["topk_blocks"] = flattenBlockSets(rows);
    }
    KernelTables host;
    ASSERT_TRUE(buildKernelTables(s, {}, {}, heads, lq, lk, tileQ, tileK, {},
                                  host, error, perHead))
        << error;
    int64_t visited = 0;
    const KernelTables gpu =
        runBuilder(*plan, runtime::builderInputs(*plan, {}), visited, &bits);
    const int64_t keyTiles = (lk + tileK - 1) / tileK;
    EXPECT_EQ(compareTables(host, gpu, keyTiles), "")
        << "Lq=" << lq << " Lk=" << lk << " tiles " << tileQ << "x" << tileK
        << " block " << block;
    EXPECT_EQ(visited, host.visitedTiles);
  }
}
