//===- EstimateCheck.h - GPU-estimated sets against the CPU's ---*- C++ -*-===//
#ifndef MASKJIT_HARNESS_ESTIMATECHECK_H
#define MASKJIT_HARNESS_ESTIMATECHECK_H

#include "maskjit/harness/HostInputs.h"
#include "maskjit/runtime/Attention.h"

#include <nlohmann/json.hpp>

#include <ostream>

namespace maskjit::harness {

/// The sets the GPU estimated (one per (sequence, head), as the launcher
/// reads them back) against the CPU reference estimators for the first and
/// the last head: block top-k must choose the same blocks (the same
/// arithmetic); vertical-slash columns and diagonals may differ in at most
/// max(1, n/100) indices (summation orders differ, so near-ties may fall
/// either way). Prints a line per head to `out`, fills
/// result["estimate_check"]; returns 1 when one fails.
int checkEstimatedSets(const runtime::CompiledKernel &kernel,
                       const std::vector<dsl::Selections> &estimated,
                       const HostInputs &in, const AttentionShape &shape,
                       std::ostream &out, nlohmann::json &result);

} // namespace maskjit::harness

#endif
