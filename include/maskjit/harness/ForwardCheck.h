//===- ForwardCheck.h - A forward result against an fp64 reference -*- C++
//-*-===//
#ifndef MASKJIT_HARNESS_FORWARDCHECK_H
#define MASKJIT_HARNESS_FORWARDCHECK_H

#include "maskjit/harness/HostInputs.h"

#include <string>

namespace maskjit::harness {

struct ForwardCheck {
  int64_t rows = 0, emptyRows = 0, badValues = 0;
  double maxErr = 0;    ///< max |O - ref|
  double refErr = 0;    ///< the same reference's own error with P and O
                        ///< rounded to the dtype
  double tolerance = 0; ///< 2 * refErr
  double lseErr = 0;    ///< max |LSE - ref| (natural log)
  bool pass = false;
  /// One line: rows, errors, tolerance, PASS or FAIL.
  std::string describe() const;
};

/// O (BSHD, the dtype's bits) and LSE ([batch, heads, lq], natural log)
/// against an fp64 reference on rows of every (sequence, head) — all of
/// them when there are at most 4096, else the first, the last and 510
/// drawn from `seed`. A row with no allowed key must be O = 0 and
/// LSE = -inf. Passes when no value is NaN/inf, |O - ref| is within twice
/// the same-precision reference's error, and |LSE - ref| <= 1e-3.
ForwardCheck checkForward(const AttentionShape &shape, const HostInputs &in,
                          const std::vector<uint16_t> &o,
                          const std::vector<float> &lse,
                          const HeadEvaluator &evaluator, uint64_t seed);

} // namespace maskjit::harness

#endif
