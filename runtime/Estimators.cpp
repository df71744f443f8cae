//===- Estimators.cpp - Reference estimators of the dynamic selectors -----===//
#include "maskjit/runtime/Estimators.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>

namespace maskjit::runtime {

namespace {
/// Indices of the `n` largest scores (ties to the smaller index), sorted,
/// each index mapped through `value`.
template <typename Value>
std::vector<int64_t> topIndices(const std::vector<double> &score, int64_t n,
                                Value value) {
  std::vector<int64_t> order(score.size());
  std::iota(order.begin(), order.end(), 0);
  n = std::min<int64_t>(n, static_cast<int64_t>(order.size()));
  std::partial_sort(order.begin(), order.begin() + n, order.end(),
                    [&](int64_t a, int64_t b) {
                      return score[a] != score[b] ? score[a] > score[b] : a < b;
                    });
  std::vector<int64_t> out;
  for (int64_t i = 0; i < n; ++i)
    out.push_back(value(order[i]));
  std::sort(out.begin(), out.end());
  return out;
}

float dot(const HeadRows &a, int64_t i, const HeadRows &b, int64_t j) {
  float s = 0;
  for (int64_t c = 0; c < a.dim; ++c)
    s += a.at(i, c) * b.at(j, c);
  return s;
}
} // namespace

VerticalSlash estimateVerticalSlash(const HeadRows &q, const HeadRows &k,
                                    int64_t vertical, int64_t slash,
                                    int64_t lastQ, float scale) {
  const int64_t lq = q.rows, lk = k.rows, shift = lk - lq;
  // Columns k in [0, lk); diagonals q - k in [-shift, lq), stored at
  // (q - k) + lk - 1 so that every value has a slot.
  std::vector<double> columns(lk, 0.0), diagonals(lq + lk - 1, 0.0);
  std::vector<float> p(lk);
  for (int64_t i = std::max<int64_t>(0, lq - lastQ); i < lq; ++i) {
    const int64_t last = std::min(lk - 1, i + shift); // causal
    if (last < 0)
      continue;
    float mx = -std::numeric_limits<float>::infinity();
    for (int64_t j = 0; j <= last; ++j)
      mx = std::max(mx, p[j] = dot(q, i, k, j) * scale);
    float sum = 0;
    for (int64_t j = 0; j <= last; ++j)
      sum += p[j] = std::exp(p[j] - mx);
    for (int64_t j = 0; j <= last; ++j) {
      columns[j] += p[j] / sum;
      diagonals[i - j + lk - 1] += p[j] / sum;
    }
  }
  VerticalSlash out;
  out.columns = topIndices(columns, vertical, [](int64_t j) { return j; });
  out.diagonals =
      topIndices(diagonals, slash, [&](int64_t s) { return s - (lk - 1); });
  return out;
}

std::vector<std::vector<int64_t>> estimateBlockTopk(const HeadRows &q,
                                                    const HeadRows &k,
                                                    int64_t keep, int64_t block,
                                                    float scale) {
  const int64_t lq = q.rows, lk = k.rows, shift = lk - lq;
  const int64_t nq = (lq + block - 1) / block, nk = (lk + block - 1) / block;
  auto pool = [&](const HeadRows &x, int64_t blocks) {
    std::vector<float> out(blocks * x.dim, 0.f);
    for (int64_t b = 0; b < blocks; ++b) {
      const int64_t lo = b * block, hi = std::min(x.rows, lo + block);
      for (int64_t i = lo; i < hi; ++i)
        for (int64_t c = 0; c < x.dim; ++c)
          out[b * x.dim + c] += x.at(i, c) / float(hi - lo);
    }
    return out;
  };
  const std::vector<float> pq = pool(q, nq), pk = pool(k, nk);
  std::vector<std::vector<int64_t>> out(nq);
  for (int64_t bq = 0; bq < nq; ++bq) {
    // The last query of the block sees keys up to this one.
    const int64_t lastKey =
        std::min(lk - 1, std::min(lq - 1, (bq + 1) * block - 1) + shift);
    if (lastKey < 0)
      continue;
    std::vector<double> score(lastKey / block + 1);
    for (size_t bk = 0; bk < score.size(); ++bk) {
      float s = 0;
      for (int64_t c = 0; c < q.dim; ++c)
        s += pq[bq * q.dim + c] * pk[bk * k.dim + c];
      score[bk] = s * scale;
    }
    out[bq] = topIndices(score, keep, [](int64_t b) { return b; });
  }
  return out;
}

} // namespace maskjit::runtime
