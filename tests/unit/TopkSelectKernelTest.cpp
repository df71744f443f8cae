// The selection of estimated sets (codegen/kernels/topk_select.cuh), run on
// the host through the CUDA shim (CudaHostShim.h) with fewer threads than on
// the GPU (each then counts several bitmap words): the n largest scores of
// each head, ties to the smaller index, as the bitmap runtime::selectorBits
// builds on the host and as the ascending list the schedule builder reads.
#include "CudaHostShim.h"

#define MJ_TOPK_THREADS 64
#include "../../codegen/kernels/topk_select.cuh"

#include "maskjit/runtime/KernelAbi.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <numeric>
#include <random>

namespace {

struct Problem {
  std::vector<float> values;
  int64_t count = 0;
  int n = 0, shift = 0;
  std::vector<unsigned> bits;
  std::vector<int> sorted;
  std::vector<std::vector<int64_t>> expected; // per head
};

Problem randomProblem(std::mt19937 &rng, int heads) {
  Problem p;
  p.count = 1 + static_cast<int64_t>(rng() % 3000);
  p.n = static_cast<int>(rng() % (p.count + 1));
  // Columns (shift 0) or diagonals (values from 1 - Lk: shift Lk - 1).
  p.shift = rng() % 2 ? 0 : static_cast<int>(rng() % p.count);
  // Few distinct values in some trials (ties at the n-th), zeros in others.
  const int levels = rng() % 3 == 0 ? 1 + static_cast<int>(rng() % 6) : 0;
  std::uniform_real_distribution<float> u(0.f, 1.f);
  for (int h = 0; h < heads; ++h) {
    std::vector<float> v(p.count);
    for (float &x : v) {
      x = levels ? static_cast<float>(rng() % levels) / levels
                 : (rng() % 4 == 0 ? 0.f : u(rng) * 1e-3f);
    }
    // The reference: by value, larger first, then by index.
    std::vector<int64_t> order(p.count);
    std::iota(order.begin(), order.end(), 0);
    std::stable_sort(order.begin(), order.end(),
                     [&](int64_t a, int64_t b) { return v[a] > v[b]; });
    std::vector<int64_t> chosen(order.begin(), order.begin() + p.n);
    for (int64_t &x : chosen)
      x -= p.shift;
    std::sort(chosen.begin(), chosen.end());
    p.expected.push_back(chosen);
    p.values.insert(p.values.end(), v.begin(), v.end());
  }
  // Poisoned outputs: every word and value must be written.
  p.bits.assign(heads * ((p.count + 31) / 32), 0xa5a5a5a5u);
  p.sorted.assign(size_t(heads) * p.n, -77777);
  return p;
}

TEST(TopkSelectKernel, SameSetsAsASortOnRandomScoresWithTies) {
  std::mt19937 rng(20261123);
  for (int trial = 0; trial < 30; ++trial) {
    const int heads = 1 + static_cast<int>(rng() % 3);
    Problem pr[2] = {randomProblem(rng, heads), randomProblem(rng, heads)};
    mj_topk_params params;
    for (int i = 0; i < 2; ++i)
      params.problem[i] = {
          pr[i].values.data(), pr[i].count,       pr[i].n,
          pr[i].shift,         pr[i].bits.data(), pr[i].sorted.data()};
    mj_host::launch(mj_topk_select, heads, 2, MJ_TOPK_THREADS, params);
    for (int i = 0; i < 2; ++i) {
      const Problem &p = pr[i];
      std::vector<const std::vector<int64_t> *> ptrs;
      for (const auto &e : p.expected)
        ptrs.push_back(&e);
      const maskjit::runtime::SelectorBits host =
          maskjit::runtime::selectorBits(ptrs, -p.shift, p.count - p.shift);
      EXPECT_EQ(p.bits, host.words) << "trial " << trial << " problem " << i
                                    << ": count " << p.count << " n " << p.n;
      for (int h = 0; h < heads; ++h)
        EXPECT_EQ(std::vector<int64_t>(p.sorted.begin() + h * p.n,
                                       p.sorted.begin() + (h + 1) * p.n),
                  p.expected[h])
            << "trial " << trial << " problem " << i << " head " << h;
    }
  }
}

} // namespace
