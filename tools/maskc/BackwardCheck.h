//===- BackwardCheck.h - maskc run --backward -------------------*- C++ -*-===//
#ifndef MASKJIT_TOOLS_MASKC_BACKWARDCHECK_H
#define MASKJIT_TOOLS_MASKC_BACKWARDCHECK_H

#include "maskjit/dsl/Evaluator.h"
#include "maskjit/runtime/Attention.h"

#include <nlohmann/json.hpp>

#include <functional>
#include <memory>
#include <vector>

namespace maskjit::maskc {

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

/// The reference mask of head h of sequence b.
using HeadEvaluator =
    std::function<std::unique_ptr<dsl::MaskEvaluator>(int64_t h, int64_t b)>;

/// Runs the backward of `call` (launched already: its O and LSE are on the
/// device) with a random dO; with `check`, compares dQ, dK and dV with an
/// fp64 CPU reference (every KV head when small, else the first and last
/// of the batch) within twice the error of the same reference with P and
/// dS rounded to the dtype; with `bench`, times it. Prints a line each and
/// fills result["backward"]. Returns 1 when the check fails.
int runBackward(runtime::Launcher &launcher, const runtime::AttentionCall &call,
                const BackwardInputs &in, const BackwardOptions &opts,
                const HeadEvaluator &evaluator, nlohmann::json &result);

} // namespace maskjit::maskc

#endif
