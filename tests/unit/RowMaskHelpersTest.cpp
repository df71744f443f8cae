// The row-mask helpers the kernels run (codegen/kernels/row_mask.cuh),
// compiled here for the host and checked bit by bit against direct
// definitions, with random ranges, sets, diagonals and progressions.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <random>
#include <vector>

// What the kernel prelude provides.
#define __device__
#define __forceinline__ inline
static inline int64_t maskjit_floordiv(int64_t a, int64_t b) {
  int64_t q = a / b;
  return (a % b != 0 && ((a < 0) != (b < 0))) ? q - 1 : q;
}
static inline int64_t maskjit_floormod(int64_t a, int64_t b) {
  int64_t m = a % b;
  return (m != 0 && ((m < 0) != (b < 0))) ? m + b : m;
}
static inline bool maskjit_contains(const int64_t *a, int64_t n,
                                    const uint32_t *, int64_t, int64_t,
                                    int64_t x) {
  return std::binary_search(a, a + n, x);
}
#include "../../codegen/kernels/row_mask.cuh"
#include "maskjit/runtime/KernelAbi.h"
#undef __device__
#undef __forceinline__

namespace {

constexpr int W = 4; // the Hopper kernel's 128 keys

bool bit(const uint32_t (&m)[W], int j) { return (m[j / 32] >> (j % 32)) & 1u; }

/// A set as the launcher describes it: sorted values and a bitmap of
/// [lo, hi).
struct Set {
  std::vector<int64_t> values;
  std::vector<uint32_t> bits;
  int64_t lo = 0, hi = 0;
  bool has(int64_t x) const {
    return std::binary_search(values.begin(), values.end(), x);
  }
};

Set randomSet(std::mt19937_64 &rng, int64_t lo, int64_t hi, int n) {
  Set s;
  s.lo = lo;
  s.hi = hi;
  for (int i = 0; i < n; ++i)
    s.values.push_back(lo + static_cast<int64_t>(rng() % (hi - lo)));
  std::sort(s.values.begin(), s.values.end());
  s.values.erase(std::unique(s.values.begin(), s.values.end()), s.values.end());
  s.bits.assign((hi - lo + 31) / 32, 0u);
  for (int64_t v : s.values)
    s.bits[(v - lo) / 32] |= 1u << ((v - lo) % 32);
  return s;
}

} // namespace

TEST(RowMaskHelpers, RangesAndLinearAtoms) {
  std::mt19937_64 rng(1);
  for (int iter = 0; iter < 2000; ++iter) {
    const int64_t k0 = static_cast<int64_t>(rng() % 1000) - 200;
    const int64_t lo = k0 + static_cast<int64_t>(rng() % 300) - 150;
    const int64_t hi = lo + static_cast<int64_t>(rng() % 300) - 50;
    uint32_t m[W];
    mj_rm_fill(m, 0xffffffffu);
    mj_rm_keep_range(m, k0, lo, hi);
    for (int j = 0; j < 32 * W; ++j)
      ASSERT_EQ(bit(m, j), k0 + j >= lo && k0 + j <= hi)
          << "k0=" << k0 << " lo=" << lo << " hi=" << hi << " j=" << j;
    // b * k <= rest, any sign of b.
    const int64_t b = static_cast<int64_t>(rng() % 7) - 3;
    const int64_t rest = static_cast<int64_t>(rng() % 2000) - 1000;
    mj_rm_fill(m, 0xffffffffu);
    mj_rm_keep_linear(m, k0, b, rest);
    for (int j = 0; j < 32 * W; ++j)
      ASSERT_EQ(bit(m, j), b * (k0 + j) <= rest)
          << "b=" << b << " rest=" << rest << " k=" << k0 + j;
  }
  // Far bounds (unbounded atoms) stay within the tile.
  uint32_t m[W];
  mj_rm_fill(m, 0xffffffffu);
  mj_rm_keep_range(m, 5, -(int64_t{1} << 62), int64_t{1} << 62);
  for (int w = 0; w < W; ++w)
    EXPECT_EQ(m[w], 0xffffffffu);
}

// An atom with a key-block term (2-D neighbourhoods: k % w is k - w *
// floor(k / w)), against its definition at every key of the tile.
TEST(RowMaskHelpers, LinearAtomsWithKeyBlocks) {
  std::mt19937_64 rng(3);
  for (int iter = 0; iter < 2000; ++iter) {
    const int64_t k0 = static_cast<int64_t>(rng() % 2000) - 300;
    const int64_t kDiv = 32 + static_cast<int64_t>(rng() % 200);
    const int64_t kOff = static_cast<int64_t>(rng() % 100) - 50;
    const int64_t b = static_cast<int64_t>(rng() % 5) - 2;
    const int64_t bK = static_cast<int64_t>(rng() % 401) - 200;
    const int64_t rest = static_cast<int64_t>(rng() % 4000) - 2000;
    uint32_t m[W];
    mj_rm_fill(m, 0xffffffffu);
    mj_rm_keep_linear_blocked(m, k0, b, rest, bK, kDiv, kOff);
    for (int j = 0; j < 32 * W; ++j) {
      const int64_t k = k0 + j;
      ASSERT_EQ(bit(m, j),
                b * k + bK * maskjit_floordiv(k + kOff, kDiv) <= rest)
          << "b=" << b << " bK=" << bK << " kDiv=" << kDiv << " kOff=" << kOff
          << " rest=" << rest << " k=" << k;
    }
  }
}

TEST(RowMaskHelpers, KeyAndDiagonalSets) {
  std::mt19937_64 rng(2);
  for (int iter = 0; iter < 500; ++iter) {
    const int64_t lq = 50 + rng() % 400, lk = 50 + rng() % 400;
    Set cols = randomSet(rng, 0, lk, 1 + rng() % 60);
    Set diags = randomSet(rng, 1 - lk, lq, 1 + rng() % 60);
    const int64_t k0 = static_cast<int64_t>(rng() % lk) - 64;
    const int64_t q = static_cast<int64_t>(rng() % lq);
    const bool negated = rng() % 3 == 0;
    for (bool withBits : {true, false}) {
      uint32_t m[W];
      mj_rm_fill(m, 0xffffffffu);
      mj_rm_keep_key_set(
          m, k0, cols.values.data(), static_cast<int64_t>(cols.values.size()),
          withBits ? cols.bits.data() : nullptr, cols.lo, cols.hi, negated);
      for (int j = 0; j < 32 * W; ++j)
        ASSERT_EQ(bit(m, j), cols.has(k0 + j) != negated)
            << "key " << k0 + j << " bitmap " << withBits;
      mj_rm_fill(m, 0xffffffffu);
      mj_rm_keep_diagonal_set(m, q, k0, diags.values.data(),
                              static_cast<int64_t>(diags.values.size()),
                              withBits ? diags.bits.data() : nullptr, diags.lo,
                              diags.hi, negated);
      for (int j = 0; j < 32 * W; ++j)
        ASSERT_EQ(bit(m, j), diags.has(q - (k0 + j)) != negated)
            << "q=" << q << " key " << k0 + j << " bitmap " << withBits;
    }
  }
}

TEST(RowMaskHelpers, BlockSetsPerQueryBlock) {
  // `k / block in set(q / block)`: rows of bits over the key blocks, one
  // per query block, as the launcher and the block estimator lay them out.
  std::mt19937_64 rng(5);
  for (int iter = 0; iter < 300; ++iter) {
    const int64_t block = 1 + static_cast<int64_t>(rng() % 80);
    const int64_t rows = 1 + static_cast<int64_t>(rng() % 12),
                  kBlocks = 1 + static_cast<int64_t>(rng() % 70),
                  rowWords = (kBlocks + 31) / 32;
    std::vector<uint32_t> bits(rows * rowWords, 0u);
    for (int64_t r = 0; r < rows; ++r)
      for (int i = rng() % 6; i > 0; --i) {
        const int64_t kb = static_cast<int64_t>(rng() % kBlocks);
        bits[r * rowWords + kb / 32] |= 1u << (kb % 32);
      }
    auto chosen = [&](int64_t qb, int64_t kb) {
      return qb >= 0 && qb < rows && kb >= 0 && kb < 32 * rowWords &&
             ((bits[qb * rowWords + kb / 32] >> (kb % 32)) & 1u);
    };
    const int64_t q = static_cast<int64_t>(rng() % (rows * block + 40));
    const int64_t k0 = static_cast<int64_t>(rng() % (kBlocks * block + 40));
    const bool negated = rng() % 2;
    uint32_t m[W];
    mj_rm_fill(m, 0xffffffffu);
    mj_rm_keep_block_set(m, q, k0, bits.data(), rows, rowWords, block, negated);
    for (int j = 0; j < 32 * W; ++j)
      ASSERT_EQ(bit(m, j), chosen(q / block, (k0 + j) / block) != negated)
          << "block " << block << " q " << q << " key " << k0 + j;
  }
}

TEST(RowMaskHelpers, ProgressionsAndThreadBits) {
  std::mt19937_64 rng(3);
  for (int iter = 0; iter < 500; ++iter) {
    const int64_t k0 = static_cast<int64_t>(rng() % 1000) - 300;
    const int64_t modulus = 1 + rng() % 200;
    const int64_t residue = static_cast<int64_t>(rng() % 500) - 250;
    uint32_t m[W];
    mj_rm_fill(m, 0xffffffffu);
    mj_rm_keep_progression(m, k0, residue, modulus);
    for (int j = 0; j < 32 * W; ++j)
      ASSERT_EQ(bit(m, j), maskjit_floormod(k0 + j - residue, modulus) == 0)
          << "m=" << modulus << " r=" << residue << " k=" << k0 + j;
    // A thread's accumulator bits: bit 2i + c is key 8i + 2 t4 + c.
    for (int w = 0; w < W; ++w)
      m[w] = static_cast<uint32_t>(rng());
    for (int t4 = 0; t4 < 4; ++t4) {
      const uint32_t got = mj_rm_thread_bits(m, t4);
      for (int i = 0; i < 16; ++i)
        for (int c = 0; c < 2; ++c)
          ASSERT_EQ((got >> (2 * i + c)) & 1u,
                    bit(m, 8 * i + 2 * t4 + c) ? 1u : 0u)
              << "t4=" << t4 << " i=" << i << " c=" << c;
    }
  }
}

// Document ids: with the launcher's run table (sorted arrays) and key by
// key (any array, and `!=`), as the predicate reads them (positions past
// the array all read one value that no position holds).
TEST(RowMaskHelpers, RunArrays) {
  std::mt19937_64 rng(5);
  for (int iter = 0; iter < 300; ++iter) {
    const int64_t n = 1 + rng() % 400;
    std::vector<int64_t> doc(n);
    int64_t id = 0;
    for (int64_t &x : doc) {
      id += rng() % 40 == 0;
      x = id;
    }
    if (iter % 3 == 0) // Not sorted: no run table.
      std::shuffle(doc.begin(), doc.end(), rng);
    const std::vector<int32_t> runs = maskjit::runtime::runBounds(doc);
    EXPECT_EQ(runs.empty(), !std::is_sorted(doc.begin(), doc.end()));
    const int64_t q = static_cast<int64_t>(rng() % (n + 20)),
                  k0 = static_cast<int64_t>(rng() % (n + 50)) - 20;
    for (bool negated : {false, true}) {
      uint32_t m[W];
      mj_rm_fill(m, 0xffffffffu);
      mj_rm_keep_run(m, k0, q, doc.data(), n,
                     runs.empty() ? nullptr : runs.data(), negated);
      auto value = [&](int64_t i) {
        return i >= 0 && i < n ? doc[i] : INT64_MIN;
      };
      for (int j = 0; j < 32 * W; ++j)
        ASSERT_EQ(bit(m, j), (value(k0 + j) == value(q)) != negated)
            << "n=" << n << " q=" << q << " k=" << k0 + j
            << " negated=" << negated << " table=" << !runs.empty();
    }
  }
}
