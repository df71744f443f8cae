//===- BackwardCheck.h - The backward against an fp64 reference -*- C++ -*-===//
#ifndef MASKJIT_HARNESS_BACKWARDCHECK_H
#define MASKJIT_HARNESS_BACKWARDCHECK_H

#include "maskjit/harness/HostInputs.h"
#include "maskjit/runtime/Attention.h"

#include <nlohmann/json.hpp>

#include <functional>
#include <memory>
#include <ostream>
#include <vector>

namespace maskjit::harness {

/// The forward call's host inputs (BSHD, as uploaded) and shape.
struct BackwardInputs {
  const std::vector<uint16_t> &q, &k, &v;
  int64_t B, Lq, Lk, H, Hkv, D;
  bool fp16;
};

struct BackwardOptions {
  bool check = false, bench = false;
  int iters = 20;
  uint64_t seed = 1;
};

/// Runs the backward of `call` (launched already: its O and LSE are on the
/// device) with a random dO; with `check`, compares dQ, dK and dV with an
/// fp64 CPU reference (every KV head when small, else the first and last
/// of the batch) within twice the error of the same reference with P and
/// dS rounded to the dtype; with `bench`, times it. Prints a line each to
/// `out` and fills result["backward"]. Returns 1 when the check fails.
int runBackward(runtime::Launcher &launcher, const runtime::AttentionCall &call,
                const BackwardInputs &in, const BackwardOptions &opts,
                const HeadEvaluator &evaluator, std::ostream &out,
                nlohmann::json &result);

} // namespace maskjit::harness

#endif
