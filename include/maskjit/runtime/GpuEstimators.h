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

/// Chosen sets of every (sequence, head) row, b * heads + h, sorted.
struct VerticalSlashSets {
  std::vector<std::vector<int64_t>> columns, diagonals;
  float ms = 0; ///< GPU time of the estimate (CUDA events).
};

/// An estimate's sets where the estimator left them on the device (its
/// buffers, valid until its next estimate): per (sequence, head) row, b *
/// heads + h, the chosen columns and diagonals in ascending order (int32,
/// `nColumns` and `nDiagonals` a row), and as bitmaps in the layout of
/// runtime::SelectorBits (`columnWords` and `diagonalWords` a row).
struct DeviceVerticalSlash {
  Driver::DevicePtr sorted = 0, columnBits = 0, diagonalBits = 0;
  int64_t heads = 0; ///< rows: batch * heads
  int64_t nColumns = 0, nDiagonals = 0;
  int64_t columnLo = 0, columnHi = 0, columnWords = 0;
  int64_t diagonalLo = 0, diagonalHi = 0, diagonalWords = 0;
  Driver::DevicePtr columns() const { return sorted; }
  Driver::DevicePtr diagonals() const {
    return sorted + static_cast<Driver::DevicePtr>(heads * nColumns * 4);
  }
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
  /// `scale`, left on the device: the kernels are queued on the call's
  /// stream and nothing waits for them. Every sequence of the batch is
  /// estimated in the same launches, a row per (sequence, head).
  DeviceVerticalSlash estimate(const AttentionCall &call, int64_t vertical,
                               int64_t slash, int64_t lastQ, float scale);
  /// The last estimate's sets copied to the host (waits for them).
  VerticalSlashSets download() const;
  /// GPU time of the last estimate (waits for it).
  float lastMs() const;

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
  DeviceVerticalSlash last_;
};

/// A block top-k estimate left on the device (the estimator's buffers,
/// valid until its next estimate): per (sequence, head) row, b * heads + h,
/// and query block, the chosen key blocks as a row of bits over the key
/// blocks (`rowWords` words, `rows * rowWords` words apart per row: the
/// kernel's topk_blocks arguments) and as an ascending list of `keep` (-1
/// padded).
struct DeviceBlockSets {
  Driver::DevicePtr bits = 0, chosen = 0;
  int64_t heads = 0; ///< (sequence, head) rows: batch * heads
  int64_t rows = 0, rowWords = 0, keep = 0;
};

/// `topk_blocks(keep, block)` for every head, computed on the GPU from the
/// call's Q and K (codegen/kernels/estimate_block_topk.cuh) in the CPU
/// reference's arithmetic (Estimators.h: the same chosen blocks).
class BlockTopkEstimator {
public:
  BlockTopkEstimator(int64_t headDim, const std::string &dtype,
                     const std::string &arch,
                     KernelRegistry *registry = nullptr);
  ~BlockTopkEstimator();
  BlockTopkEstimator(const BlockTopkEstimator &) = delete;
  BlockTopkEstimator &operator=(const BlockTopkEstimator &) = delete;
  /// Queues the estimate on the call's stream (nothing waits for it), a
  /// row per (sequence, head). keep in 1..64; throws
  /// std::invalid_argument otherwise.
  DeviceBlockSets estimate(const AttentionCall &call, int64_t keep,
                           int64_t block, float scale);
  /// The last estimate's lists, [b * heads + h][query block] (waits for
  /// them).
  std::vector<std::vector<std::vector<int64_t>>> download() const;
  /// GPU time of the last estimate (waits for it).
  float lastMs() const;
  static std::string source(int64_t headDim, const std::string &dtype);

private:
  Driver::Module module_ = nullptr;
  Driver::Function pool_ = nullptr, select_ = nullptr;
  int64_t headDim_;
  DeviceBuffer scratch_;
  Driver::Event e0_ = nullptr, e1_ = nullptr;
  DeviceBlockSets last_;
};

} // namespace maskjit::runtime

#endif
