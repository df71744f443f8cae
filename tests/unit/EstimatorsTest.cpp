// The reference estimators against scores computed here in double
// precision, and on inputs with a planted column and diagonal.
#include "maskjit/runtime/Estimators.h"

#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <set>

using namespace maskjit::runtime;

namespace {
struct Head {
  std::vector<float> data;
  HeadRows rows(int64_t n, int64_t d) const { return {data.data(), n, d, d}; }
};
Head randomHead(int64_t n, int64_t d, std::mt19937_64 &rng) {
  std::normal_distribution<float> normal(0.f, 1.f);
  Head h;
  h.data.resize(n * d);
  for (float &x : h.data)
    x = normal(rng);
  return h;
}

/// Softmax mass per column and per diagonal, in double.
void massReference(const HeadRows &q, const HeadRows &k, int64_t lastQ,
                   double scale, std::vector<double> &cols,
                   std::vector<double> &diags) {
  const int64_t lq = q.rows, lk = k.rows, shift = lk - lq;
  cols.assign(lk, 0);
  diags.assign(lq + lk - 1, 0);
  for (int64_t i = std::max<int64_t>(0, lq - lastQ); i < lq; ++i) {
    const int64_t last = std::min(lk - 1, i + shift);
    std::vector<double> s;
    double mx = -1e300, sum = 0;
    for (int64_t j = 0; j <= last; ++j) {
      double v = 0;
      for (int64_t c = 0; c < q.dim; ++c)
        v += double(q.at(i, c)) * k.at(j, c);
      s.push_back(v * scale);
      mx = std::max(mx, v * scale);
    }
    for (double &v : s)
      sum += v = std::exp(v - mx);
    for (int64_t j = 0; j <= last; ++j) {
      cols[j] += s[j] / sum;
      diags[i - j + lk - 1] += s[j] / sum;
    }
  }
}

/// Every chosen index scores at least as much as every other one (up to
/// float rounding).
void expectTop(const std::vector<double> &score,
               const std::vector<int64_t> &chosenSlots, size_t want,
               const char *what) {
  EXPECT_EQ(chosenSlots.size(), std::min(want, score.size())) << what;
  std::set<int64_t> chosen(chosenSlots.begin(), chosenSlots.end());
  EXPECT_EQ(chosen.size(), chosenSlots.size()) << what << ": duplicates";
  double worstChosen = 1e300, bestOther = -1e300;
  for (size_t i = 0; i < score.size(); ++i)
    if (chosen.count(static_cast<int64_t>(i)))
      worstChosen = std::min(worstChosen, score[i]);
    else
      bestOther = std::max(bestOther, score[i]);
  if (!chosen.empty() && chosen.size() < score.size())
    EXPECT_GE(worstChosen, bestOther - 1e-5) << what;
}
} // namespace

TEST(Estimators, VerticalSlashIsTheTopMass) {
  std::mt19937_64 rng(9);
  for (auto [lq, lk] : {std::pair<int64_t, int64_t>{200, 200},
                        {90, 300},
                        {300, 120},
                        {17, 17}}) {
    const int64_t d = 16, lastQ = 24;
    Head hq = randomHead(lq, d, rng), hk = randomHead(lk, d, rng);
    HeadRows q = hq.rows(lq, d), k = hk.rows(lk, d);
    const float scale = 1.f / std::sqrt(float(d));
    VerticalSlash vs = estimateVerticalSlash(q, k, 20, 7, lastQ, scale);
    std::vector<double> cols, diags;
    massReference(q, k, lastQ, scale, cols, diags);
    EXPECT_TRUE(std::is_sorted(vs.columns.begin(), vs.columns.end()));
    EXPECT_TRUE(std::is_sorted(vs.diagonals.begin(), vs.diagonals.end()));
    std::vector<int64_t> slots;
    for (int64_t j : vs.diagonals)
      slots.push_back(j + lk - 1);
    expectTop(cols, vs.columns, 20, "columns");
    expectTop(diags, slots, 7, "diagonals");
  }
}

TEST(Estimators, PlantedColumnAndDiagonal) {
  std::mt19937_64 rng(4);
  const int64_t n = 256, d = 32;
  Head hq = randomHead(n, d, rng), hk = randomHead(n, d, rng);
  // Key 37 is the sum of the last queries (every one of them attends it
  // most); key j is a weaker copy of query j + 5 (each query's second
  // choice): column 37 and diagonal 5 carry the most mass.
  for (int64_t j = 0; j + 5 < n; ++j)
    for (int64_t c = 0; c < d; ++c)
      hk.data[j * d + c] = 0.7f * hq.data[(j + 5) * d + c];
  for (int64_t c = 0; c < d; ++c) {
    float sum = 0;
    for (int64_t i = n - 16; i < n; ++i)
      sum += hq.data[i * d + c];
    hk.data[37 * d + c] = sum;
  }
  VerticalSlash vs = estimateVerticalSlash(hq.rows(n, d), hk.rows(n, d), 1, 1,
                                           16, 1.f / std::sqrt(float(d)));
  EXPECT_EQ(vs.columns, std::vector<int64_t>{37});
  EXPECT_EQ(vs.diagonals, std::vector<int64_t>{5});
}

TEST(Estimators, BlockTopkWithinCausalBlocks) {
  std::mt19937_64 rng(2);
  for (auto [lq, lk] :
       {std::pair<int64_t, int64_t>{256, 256}, {100, 300}, {300, 100}}) {
    const int64_t d = 8, block = 32, keep = 3;
    Head hq = randomHead(lq, d, rng), hk = randomHead(lk, d, rng);
    auto chosen =
        estimateBlockTopk(hq.rows(lq, d), hk.rows(lk, d), keep, block, 0.5f);
    ASSERT_EQ(static_cast<int64_t>(chosen.size()), (lq + block - 1) / block);
    for (size_t bq = 0; bq < chosen.size(); ++bq) {
      const int64_t lastKey = std::min(
          lk - 1, std::min(lq - 1, int64_t(bq + 1) * block - 1) + lk - lq);
      const int64_t allowed = lastKey < 0 ? 0 : lastKey / block + 1;
      // Pooled scores in double.
      std::vector<double> score(allowed);
      for (int64_t bk = 0; bk < allowed; ++bk) {
        for (int64_t c = 0; c < d; ++c) {
          double mq = 0, mk = 0;
          int64_t q0 = bq * block, q1 = std::min(lq, q0 + block);
          int64_t k0 = bk * block, k1 = std::min(lk, k0 + block);
          for (int64_t i = q0; i < q1; ++i)
            mq += hq.data[i * d + c] / double(q1 - q0);
          for (int64_t j = k0; j < k1; ++j)
            mk += hk.data[j * d + c] / double(k1 - k0);
          score[bk] += mq * mk * 0.5;
        }
      }
      expectTop(score, chosen[bq], keep, "blocks");
      for (int64_t b : chosen[bq])
        EXPECT_LT(b, allowed) << "a key block causal excludes";
    }
  }
}
