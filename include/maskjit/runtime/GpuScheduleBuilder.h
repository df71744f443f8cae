//===- GpuScheduleBuilder.h - Set schedules built on the GPU ----*- C++ -*-===//
//
// The tables of a pattern with run-time sets (compiler/SetSchedule.h), built
// on the GPU from each head's sets (codegen/kernels/schedule_build.cuh):
// what buildKernelTables computes on the host, with diagonal tiles always
// PARTIAL, in a count pass, a scan and a fill pass.
//
//===----------------------------------------------------------------------===//
#ifndef MASKJIT_RUNTIME_GPUSCHEDULEBUILDER_H
#define MASKJIT_RUNTIME_GPUSCHEDULEBUILDER_H

#include "maskjit/runtime/Driver.h"
#include "maskjit/runtime/Registry.h"
#include "maskjit/schedule/SetSchedule.h"

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace maskjit::runtime {

/// Device tables, as the attention kernels read them; the buffers belong to
/// the builder that filled them and live until its next build.
struct DeviceTables {
  Driver::DevicePtr segPtr = 0, segs = 0, gatherPtr = 0, gatherKeys = 0;
  int heads = 0, queryTiles = 0;
  int64_t gatheredKeys = 0, segments = 0;
};

/// What the builder kernels read besides the plan's static tables: the
/// sets as CSR over (set, head), each sorted without duplicates, the set
/// clauses per head (diagonal?, set, first atom, atom count) and their
/// atoms (a, b, rhs). Throws std::invalid_argument for missing sets or a
/// key range too long for the kernels' shared bitmaps. With no sets, only
/// the set-independent part (setPtr = {0}).
struct BuilderInputs {
  int heads = 0;
  int64_t qTiles = 0, kTiles = 0, kWords = 0;
  std::vector<int> setPtr, setValues, clausePtr, clauses;
  std::vector<int64_t> atoms;
};
BuilderInputs builderInputs(
    const mask::SetSchedulePlan &plan,
    const std::vector<std::vector<const std::vector<int64_t> *>> &sets);

/// Sets already on the device (as an estimator leaves them): the values of
/// set plan.setNames[s] for head h are the int32 elements
/// values[begin[s * heads + h], end[s * heads + h]), sorted ascending
/// without duplicates.
struct DeviceSetValues {
  Driver::DevicePtr values = 0;
  std::vector<int> begin, end;
  /// A block top-k plan's chosen blocks (SetSchedulePlan::blockSet): rows of
  /// bits over the key blocks, `blockRowWords` words for each of
  /// `blockRows` query blocks, `blockHeadWords` apart per head.
  Driver::DevicePtr blockBits = 0;
  int64_t blockRows = 0, blockRowWords = 0, blockHeadWords = 0;
};

class GpuScheduleBuilder {
public:
  explicit GpuScheduleBuilder(const std::string &arch,
                              KernelRegistry *registry = nullptr);
  ~GpuScheduleBuilder();
  GpuScheduleBuilder(const GpuScheduleBuilder &) = delete;
  GpuScheduleBuilder &operator=(const GpuScheduleBuilder &) = delete;

  /// Builds the tables of `plan` for `heads` heads: `sets[i][h]` is head
  /// h's set plan.setNames[i] (any order, duplicates allowed), uploaded
  /// first. `planKey` names the plan: its set-independent inputs are
  /// uploaded again only when the key changes. Throws
  /// std::invalid_argument when a set is missing or a length is too large.
  DeviceTables
  build(const mask::SetSchedulePlan &plan, const std::string &planKey,
        const std::vector<std::vector<const std::vector<int64_t> *>> &sets,
        void *stream = nullptr);
  /// The same from sets on the device, queued on `stream` after whatever
  /// wrote them (one wait: the totals that size the tables).
  DeviceTables build(const mask::SetSchedulePlan &plan,
                     const std::string &planKey, const DeviceSetValues &sets,
                     void *stream = nullptr);

  /// The last build's tables copied back to the host (for checks).
  mask::KernelTables download() const;
  /// Key tiles the last build's segments cover (read back: waits for it).
  int64_t visitedTiles() const;
  /// GPU time of the last build, uploads included (waits for it).
  float lastMs() const;

  static std::string source();

private:
  Driver::Module module_ = nullptr;
  Driver::Function build_ = nullptr, scan_ = nullptr;
  std::vector<std::unique_ptr<DeviceBuffer>> buffers_;
  /// The set-independent inputs of the last plan, in one buffer.
  struct StaticOffsets {
    size_t staticPtr = 0, staticSegs = 0, setBegin = 0, setEnd = 0,
           clausePtr = 0, clauses = 0, atoms = 0;
  };
  DeviceBuffer staticBlob_, setValues_;
  StaticOffsets staticOffsets_;
  std::string staticKey_;
  std::vector<int> staticBegin_, staticEnd_;
  DeviceTables last_;
  Driver::DevicePtr visitedCounter_ = 0;
  Driver::Event e0_ = nullptr, e1_ = nullptr;
};

} // namespace maskjit::runtime

#endif
