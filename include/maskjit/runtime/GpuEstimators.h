//===- GpuEstimators.h - Dynamic selectors estimated on the GPU -*- C++ -*-===//
//
// `topk_columns(n, last_q)` and `topk_diagonals(n, last_q)` for every head,
// computed on the GPU from the call's Q and K (codegen/kernels/
// estimate_vertical_slash.cuh): what Estimators.h computes on the CPU, in
// the same fp32 arithmetic up to summation order.
//
//===----------------------------------------------------------------------===//
#ifndef MASKJIT_RUNTIME_GPUESTIMATORS_H
#define MASKJIT_RUNTIME_GPUESTIMATORS_H

#include "maskjit/runtime/Driver.h"
#include "maskjit/runtime/Registry.h"

#include <cstdint>
#include <string>
#include <vector>

namespace maskjit::runtime {

struct AttentionCall;

/// Chosen sets of every head of batch 0, sorted.
struct VerticalSlashSets {
  std::vector<std::vector<int64_t>> columns, diagonals;
  float ms = 0; ///< GPU time of the estimate (CUDA events).
};

class VerticalSlashEstimator {
public:
  /// Compiles (or finds in `registry`) the estimator kernels for a head
  /// size, dtype and arch.
  VerticalSlashEstimator(int64_t headDim, const std::string &dtype,
                         const std::string &arch,
                         KernelRegistry *registry = nullptr);
  ~VerticalSlashEstimator();
  VerticalSlashEstimator(const VerticalSlashEstimator &) = delete;
  VerticalSlashEstimator &operator=(const VerticalSlashEstimator &) = delete;

  /// The `vertical` best columns and `slash` best diagonals of each head
  /// from the softmax of its last `lastQ` (1..64) queries, scaled by
  /// `scale`. Batch 1 only; throws std::invalid_argument otherwise.
  VerticalSlashSets estimate(const AttentionCall &call, int64_t vertical,
                             int64_t slash, int64_t lastQ, float scale);

  /// The CUDA source of the estimator kernels for a configuration.
  static std::string source(int64_t headDim, const std::string &dtype);

private:
  Driver::Module module_ = nullptr;
  Driver::Function stats_ = nullptr, rows_ = nullptr, mass_ = nullptr,
                   topk_ = nullptr;
  int64_t headDim_;
  std::vector<Driver::DevicePtr> scratch_;
  Driver::Event e0_ = nullptr, e1_ = nullptr;
  size_t scratchBytes_ = 0;
};

} // namespace maskjit::runtime

#endif
