//===- Estimators.h - Reference estimators of the dynamic selectors -*- C++
//-*-===//
//
// What `topk_columns`, `topk_diagonals` and `topk_blocks` choose, computed on
// the CPU in fp32 from one head's Q and K: the reference that GPU estimators
// are checked against (ties aside), and a way to run dynamic patterns where
// no GPU estimator exists yet. Causal is bottom-right aligned (query q sees
// keys k <= q + Lk - Lq), as in the kernels.
//
//===----------------------------------------------------------------------===//
#ifndef MASKJIT_RUNTIME_ESTIMATORS_H
#define MASKJIT_RUNTIME_ESTIMATORS_H

#include <cstdint>
#include <vector>

namespace maskjit::runtime {

/// One head's rows: element (i, c) at data[i * stride + c], c < dim.
struct HeadRows {
  const float *data = nullptr;
  int64_t rows = 0, dim = 0, stride = 0;
  float at(int64_t i, int64_t c) const { return data[i * stride + c]; }
};

struct VerticalSlash {
  std::vector<int64_t> columns;   ///< Sorted.
  std::vector<int64_t> diagonals; ///< Sorted values of q - k.
};

/// MInference's estimate: the softmax of the last `lastQ` queries against
/// the keys they may attend (causal, scaled by `scale`), summed per key
/// column and per diagonal q - k; the `vertical` largest columns and `slash`
/// largest diagonals (ties to the smaller index).
VerticalSlash estimateVerticalSlash(const HeadRows &q, const HeadRows &k,
                                    int64_t vertical, int64_t slash,
                                    int64_t lastQ, float scale);

/// Block top-k: Q and K mean-pooled over blocks of `block` positions, block
/// scores scaled by `scale`, and for each query block the `keep` best key
/// blocks among those causal allows (a key block whose first key some query
/// of the block may attend), sorted.
std::vector<std::vector<int64_t>> estimateBlockTopk(const HeadRows &q,
                                                    const HeadRows &k,
                                                    int64_t keep, int64_t block,
                                                    float scale);

} // namespace maskjit::runtime

#endif
