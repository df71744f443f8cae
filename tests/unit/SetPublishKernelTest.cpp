// The kernel that hands estimated sets on (codegen/kernels/set_publish.cuh),
// run on the host through the CUDA shim (CudaHostShim.h) with fewer threads
// than on the GPU (each then counts several words): from chosen indices in
// no order to the bitmap runtime::selectorBits builds on the host and the
// ascending list the schedule builder reads.
#include "CudaHostShim.h"

#define MJ_PUB_THREADS 64
#include "../../codegen/kernels/set_publish.cuh"

#include "maskjit/runtime/KernelAbi.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <numeric>
#include <random>

namespace {

TEST(SetPublishKernel, BitmapsAndSortedListsEqualTheHostsOnRandomSets) {
  std::mt19937 rng(20261123);
  for (int trial = 0; trial < 40; ++trial) {
    const int heads = 1 + static_cast<int>(rng() % 3);
    const int64_t count = 1 + static_cast<int64_t>(rng() % 5000);
    // Columns (shift 0) or diagonals (values from 1 - Lk: shift Lk - 1).
    const int shift = rng() % 2 ? 0 : static_cast<int>(rng() % count);
    const int n = static_cast<int>(rng() % (std::min<int64_t>(count, 600) + 1));
    std::vector<int> chosen;
    std::vector<std::vector<int64_t>> expected(heads);
    for (int h = 0; h < heads; ++h) {
      std::vector<int> all(count);
      std::iota(all.begin(), all.end(), -shift);
      std::shuffle(all.begin(), all.end(), rng);
      chosen.insert(chosen.end(), all.begin(), all.begin() + n);
      expected[h].assign(all.begin(), all.begin() + n);
      std::sort(expected[h].begin(), expected[h].end());
    }
    const int64_t words = (count + 31) / 32;
    // Poisoned outputs: every word and value must be written.
    std::vector<unsigned> bits(heads * words, 0xa5a5a5a5u);
    std::vector<int> sorted(size_t(heads) * n, -77777);
    mj_pub_params p{chosen.data(), n, shift, count, bits.data(),
                    sorted.data()};
    mj_host::launch(mj_publish_sets, heads, 1, MJ_PUB_THREADS, p);

    std::vector<const std::vector<int64_t> *> ptrs;
    for (const auto &e : expected)
      ptrs.push_back(&e);
    const maskjit::runtime::SelectorBits host =
        maskjit::runtime::selectorBits(ptrs, -shift, count - shift);
    ASSERT_EQ(bits.size(), host.words.size());
    EXPECT_EQ(bits, host.words)
        << "trial " << trial << ": heads " << heads << " count " << count;
    for (int h = 0; h < heads; ++h)
      EXPECT_EQ(std::vector<int64_t>(sorted.begin() + h * n,
                                     sorted.begin() + (h + 1) * n),
                expected[h])
          << "trial " << trial << " head " << h;
  }
}

} // namespace
