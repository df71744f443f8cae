// The block top-k estimator's kernels (codegen/kernels/estimate_block_topk.cuh)
// run on the host through the CUDA shim (CudaHostShim.h): pooling and
// selection give the CPU reference's pooled vectors bit for bit and choose
// exactly its blocks (runtime::estimateBlockTopk), for every number of query
// blocks a select CTA scores, power-of-two and other block sizes, partial last
// blocks, Lq != Lk, batch and GQA. The GPU runs the same source
// (bench/gpu_tests.sh, `maskc run --check`); this keeps its logic checked in
// CI, which has none.
#include "CudaHostShim.h"

#include <cstdint>

#define MJ_D 128
#define MJ_FP16 0
#include "../../codegen/kernels/estimate_block_topk.cuh"

#include "maskjit/runtime/Estimators.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <random>
#include <vector>

namespace {

struct Shape {
  int batch, heads, kvHeads, lq, lk, block, keep;
  bool ties = false; // every key the same: all scores tie
};

uint16_t toBf16(float f) {
  uint32_t u;
  std::memcpy(&u, &f, 4);
  return static_cast<uint16_t>(u >> 16); // truncation: any bf16 will do
}
float fromBf16(uint16_t b) { return __uint_as_float(uint32_t{b} << 16); }

void checkShape(const Shape &s, int qb, std::mt19937 &rng) {
  const int D = MJ_D;
  std::normal_distribution<float> normal(0.f, 1.f);
  // Q [batch][lq][heads][D], K [batch][lk][kvHeads][D] (BSHD).
  std::vector<uint16_t> q(size_t(s.batch) * s.lq * s.heads * D),
      k(size_t(s.batch) * s.lk * s.kvHeads * D);
  for (uint16_t &x : q)
    x = toBf16(normal(rng));
  for (uint16_t &x : k)
    x = s.ties ? toBf16(0.5f) : toBf16(normal(rng));
  const int qBlocks = (s.lq + s.block - 1) / s.block,
            kBlocks = (s.lk + s.block - 1) / s.block,
            rowWords = (kBlocks + 31) / 32, rows = s.batch * s.heads;
  std::vector<float> pooledQ(size_t(rows) * qBlocks * D, NAN),
      pooledK(size_t(s.batch) * s.kvHeads * D * kBlocks, NAN);
  std::vector<int> chosen(size_t(rows) * qBlocks * s.keep, -7777);
  std::vector<unsigned> bits(size_t(rows) * qBlocks * rowWords, 0xa5a5a5a5u);
  const float scale = 1.f / std::sqrt(float(D));

  mj_bt_params p{};
  p.q = q.data();
  p.k = k.data();
  p.q_ss = int64_t{s.heads} * D;
  p.q_sh = D;
  p.q_sb = int64_t{s.lq} * s.heads * D;
  p.k_ss = int64_t{s.kvHeads} * D;
  p.k_sh = D;
  p.k_sb = int64_t{s.lk} * s.kvHeads * D;
  p.lq = s.lq;
  p.lk = s.lk;
  p.heads = s.heads;
  p.kv_heads = s.kvHeads;
  p.block = s.block;
  p.keep = s.keep;
  p.q_blocks = qBlocks;
  p.k_blocks = kBlocks;
  p.row_words = rowWords;
  p.qb = qb;
  p.scale = scale;
  p.pooled_q = pooledQ.data();
  p.pooled_k = pooledK.data();
  p.chosen = chosen.data();
  p.bits = bits.data();

  const unsigned per = MJ_BT_POOL_BLOCKS;
  mj_host::launch(mj_bt_pool,
                  (qBlocks + per - 1) / per + (kBlocks + per - 1) / per,
                  unsigned(rows), MJ_BT_THREADS, p);
  ASSERT_LE(size_t(qb) * kBlocks * 4, mj_host::dynamicShared.size());
  mj_host::launch(mj_bt_select, unsigned((qBlocks + qb - 1) / qb),
                  unsigned(rows), MJ_BT_THREADS, p);

  // The pooled vectors, bit for bit: each block's mean summed in row order
  // of x / n, as the reference pools.
  auto pooled = [&](const std::vector<uint16_t> &x, int64_t base, int64_t ss,
                    int rows, int blk, int c) {
    const int lo = blk * s.block, hi = std::min(rows, lo + s.block);
    float acc = 0.f;
    for (int i = lo; i < hi; ++i)
      acc += fromBf16(x[base + i * ss + c]) / float(hi - lo);
    return acc;
  };
  for (int b = 0; b < s.batch; ++b)
    for (int c = 0; c < D; ++c) {
      for (int h = 0; h < s.heads; ++h)
        for (int blk = 0; blk < qBlocks; ++blk)
          ASSERT_EQ(pooledQ[(size_t(b * s.heads + h) * qBlocks + blk) * D + c],
                    pooled(q, b * p.q_sb + h * D, p.q_ss, s.lq, blk, c))
              << "pooled Q: b " << b << " h " << h << " block " << blk
              << " dim " << c;
      for (int h = 0; h < s.kvHeads; ++h)
        for (int blk = 0; blk < kBlocks; ++blk)
          ASSERT_EQ(
              pooledK[(size_t(b * s.kvHeads + h) * D + c) * kBlocks + blk],
              pooled(k, b * p.k_sb + h * D, p.k_ss, s.lk, blk, c))
              << "pooled K: b " << b << " h " << h << " block " << blk
              << " dim " << c;
    }

  for (int b = 0; b < s.batch; ++b)
    for (int h = 0; h < s.heads; ++h) {
      const int kvh = h / (s.heads / s.kvHeads);
      std::vector<float> qf(size_t(s.lq) * D), kf(size_t(s.lk) * D);
      for (int i = 0; i < s.lq; ++i)
        for (int c = 0; c < D; ++c)
          qf[size_t(i) * D + c] =
              fromBf16(q[size_t(b) * p.q_sb + i * p.q_ss + h * D + c]);
      for (int i = 0; i < s.lk; ++i)
        for (int c = 0; c < D; ++c)
          kf[size_t(i) * D + c] =
              fromBf16(k[size_t(b) * p.k_sb + i * p.k_ss + kvh * D + c]);
      const maskjit::runtime::HeadRows hq{qf.data(), s.lq, D, D},
          hk{kf.data(), s.lk, D, D};
      const auto expected =
          maskjit::runtime::estimateBlockTopk(hq, hk, s.keep, s.block, scale);
      ASSERT_EQ(static_cast<int>(expected.size()), qBlocks);
      const int row = b * s.heads + h;
      for (int bq = 0; bq < qBlocks; ++bq) {
        const int *got = &chosen[(size_t(row) * qBlocks + bq) * s.keep];
        std::vector<unsigned> wantBits(rowWords, 0u);
        for (int i = 0; i < s.keep; ++i) {
          const int want =
              i < int(expected[bq].size()) ? int(expected[bq][i]) : -1;
          EXPECT_EQ(got[i], want)
              << "b " << b << " h " << h << " query block " << bq << " item "
              << i << " (qb " << qb << ", block " << s.block << ")";
          if (want >= 0)
            wantBits[want >> 5] |= 1u << (want & 31);
        }
        for (int w = 0; w < rowWords; ++w)
          EXPECT_EQ(bits[(size_t(row) * qBlocks + bq) * rowWords + w],
                    wantBits[w])
              << "b " << b << " h " << h << " query block " << bq << " word "
              << w;
      }
    }
}

} // namespace

TEST(BlockTopkEstimatorKernel, ChoosesTheReferenceBlocks) {
  std::mt19937 rng(20261124);
  const Shape shapes[] = {
      {1, 2, 1, 300, 300, 16, 5}, // power-of-two block, GQA
      {2, 2, 2, 200, 500, 64, 3}, // Lq < Lk, partial last key block, batch
      {1, 1, 1, 500, 130, 32, 4}, // Lq > Lk: early query blocks see nothing
      {1, 2, 2, 333, 333, 48, 6}, // a block that is no power of two
      {1, 1, 1, 90, 90, 16, 64},  // keep over the reachable blocks
      {1, 2, 1, 400, 400, 16, 7, true}, // ties go to the smaller index
  };
  for (const Shape &s : shapes)
    for (int qb = 1; qb <= 4; ++qb) {
      checkShape(s, qb, rng);
      if (testing::Test::HasFailure())
        return;
    }
}
