//===- Attention.h - Compile a pattern to a kernel, and launch it -*- C++
//-*-===//
#ifndef MASKJIT_RUNTIME_ATTENTION_H
#define MASKJIT_RUNTIME_ATTENTION_H

#include "maskjit/codegen/KernelSource.h"
#include "maskjit/plan/KernelPlan.h"
#include "maskjit/runtime/Driver.h"
#include "maskjit/runtime/GpuEstimators.h"
#include "maskjit/runtime/GpuScheduleBuilder.h"
#include "maskjit/runtime/KernelAbi.h"
#include "maskjit/runtime/Registry.h"
#include "maskjit/schedule/ScheduleBinding.h"
#include "maskjit/schedule/SetSchedule.h"
#include "maskjit/support/Selections.h"

#include <functional>
#include <iosfwd>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace maskjit::runtime {

/// A plan with its binary: PTX (and a cubin for sm_XX targets) from NVRTC,
/// through the kernel registry.
struct CompiledKernel : plan::KernelPlan {
  std::string ptx;
  std::vector<char> cubin;
  std::string nvrtcLog;
  /// Extra NVRTC options it was compiled with (MASKJIT_NVRTC_FLAGS: kernel
  /// experiments), empty by default.
  std::string nvrtcFlags;
  std::string cacheKey; ///< Registry key (content hash).
  CacheSource cacheSource = CacheSource::Built;
  /// The registry the kernel was compiled through (may be null): launches
  /// compile their helper kernels (estimator, schedule builder) through it.
  KernelRegistry *registry = nullptr;
};

/// maskjit's version, part of every cache key.
const char *maskjitVersion();

/// Compiles a plan's source with NVRTC for its arch, through `registry`
/// when given (keyed by the source, arch, versions and extra flags).
/// Throws CudaError when NVRTC fails.
CompiledKernel buildKernel(plan::KernelPlan plan, KernelRegistry *registry);

/// Compiles a helper kernel's CUDA source (estimators, schedule builders)
/// for `arch` through `registry` when given (keyed by the source, arch and
/// versions, as the attention kernels), and loads it.
Driver::Module loadHelperModule(const std::string &code,
                                const std::string &fileName,
                                const std::string &arch,
                                KernelRegistry *registry);

/// A runtime param's value at a launch: a scalar, or an array (its kind,
/// per position or per head, is the kernel argument's).
struct RuntimeValue {
  bool isArray = false;
  int64_t scalar = 0;
  std::vector<int64_t> array;
  bool operator==(const RuntimeValue &o) const {
    return isArray == o.isArray && scalar == o.scalar && array == o.array;
  }
  bool operator!=(const RuntimeValue &o) const { return !(*this == o); }
};
using RuntimeValues = std::map<std::string, RuntimeValue>;

/// Shapes and data of one attention call. Tensors are BSHD with the given
/// element strides (the last dimension contiguous).
struct AttentionCall {
  int64_t batch = 1, heads = 1, kvHeads = 1, lq = 0, lk = 0;
  Driver::DevicePtr q = 0, k = 0, v = 0, o = 0, lse = 0;
  int64_t qStrides[3] = {0, 0, 0}; ///< batch, seq, head
  int64_t kStrides[3] = {0, 0, 0};
  int64_t vStrides[3] = {0, 0, 0};
  int64_t oStrides[3] = {0, 0, 0};
  float softmaxScale = 0;      ///< 0: 1/sqrt(head_dim)
  RuntimeValues runtimeValues; ///< Runtime params and arrays.
  Selections selections;       ///< Chosen sets of dynamic selectors.
  /// One per head when the heads chose different sets (overrides
  /// `selections`); e.g. estimated per head.
  std::vector<Selections> headSelections;
  void *stream = nullptr; ///< CUstream; null: the default stream.
};

/// The gradients of one backward call: dO in, dQ, dK and dV out, BSHD with
/// element strides as AttentionCall's tensors (dK and dV with K's heads).
struct BackwardCall {
  Driver::DevicePtr dout = 0, dq = 0, dk = 0, dv = 0;
  int64_t doStrides[3] = {0, 0, 0};
  int64_t dqStrides[3] = {0, 0, 0};
  int64_t dkStrides[3] = {0, 0, 0};
  int64_t dvStrides[3] = {0, 0, 0};
};

/// Whether two calls bind the same schedule and predicate arguments
/// (lengths, heads, runtime values, chosen sets; not the tensors).
bool sameScheduleInputs(const AttentionCall &a, const AttentionCall &b);

class VerticalSlashEstimator;
struct BackwardState;

/// The call's softmax scale: its own, or 1/sqrt(head_dim).
float softmaxScale(const AttentionCall &call, int64_t headDim);

/// A loaded kernel with the device copy of its schedule for one shape.
class Launcher {
public:
  Launcher(const CompiledKernel &kernel);
  ~Launcher();
  /// Validates the call (throws std::invalid_argument with a message), builds
  /// and uploads the schedule and arguments when the shape or runtime values
  /// changed, then launches.
  void launch(const AttentionCall &call);
  /// dQ, dK and dV of `call` (whose O and LSE are its forward's outputs)
  /// from dO, on call.stream. Its schedule is the forward's for the call:
  /// sets a forward estimated are those of this launcher's last launch,
  /// which must have been of the same call (std::invalid_argument
  /// otherwise). The backward kernels compile at the first call.
  void backward(const AttentionCall &call, const BackwardCall &grads);
  /// Key tiles visited and keys gathered by the last launch's schedule.
  int64_t visitedTiles() const {
    return onGpuTables_ ? scheduleBuilder_->visitedTiles() : visitedTiles_;
  }
  int64_t gatheredKeys() const { return gatheredKeys_; }
  /// PARTIAL tiles of the last launch's schedule whose bits were built on
  /// the GPU (the kernel then reads them instead of evaluating the
  /// predicate per element); 0 when it evaluates the predicate.
  int64_t bitTiles() const { return bitTiles_; }
  /// The sets the last launch estimated on the GPU, per head, or per
  /// (sequence, head) (b * heads + h) for a batch (empty when the call gave
  /// them; read back at the first call after the launch, which waits for
  /// the estimate), and the time the estimate (waits for it) and the
  /// schedule build took.
  const std::vector<Selections> &estimatedSets() const;
  float estimateMs() const;
  double scheduleBuildMs() const { return buildMs_; }
  /// GPU time of the last schedule built on the GPU, uploads included
  /// (0 for host builds; waits for the build to finish).
  float scheduleBuildGpuMs() const {
    return onGpuTables_ ? scheduleBuilder_->lastMs() : 0.f;
  }
  /// Where the last schedule was built: "gpu" (patterns with run-time sets,
  /// compiler/SetSchedule.h) or "host".
  const std::string &scheduleBuilder() const { return builder_; }
  /// With checks on, a schedule built on the GPU is also built on the host
  /// and compared (std::runtime_error when they differ); scheduleCheck()
  /// then says what was compared.
  void setCheckSchedule(bool on) { checkSchedule_ = on; }
  /// The next launch builds its schedule again, as a call with new sets
  /// would (benchmarks of the whole pipeline).
  void invalidateSchedule() { hasPrepared_ = false; }
  const std::string &scheduleCheck() const { return scheduleCheck_; }

private:
  void prepare(const AttentionCall &call);
  /// Throws std::invalid_argument on a call no kernel can run.
  static void checkCall(const AttentionCall &call);
  /// The parameter block of a launch of `call` (maskjit_params and the
  /// predicate's arguments) in argBuffer_.
  void fillParams(const AttentionCall &call);
  /// The K/V tensor maps of a Hopper launch (kept while the tensors are).
  void encodeTensorMaps(const AttentionCall &call, KernelParams &params);
  /// Plans the bits of the PARTIAL tiles of host-built `tables`, launched
  /// before the next attention (LauncherTileBits.cpp).
  void prepareTileBits(const mask::KernelTables &tables,
                       const AttentionCall &call);
  /// Launches the tile-bits build a prepare planned, with the attention's
  /// parameter block.
  void buildTileBits(void *params, const AttentionCall &call);
  /// Runs the GPU estimators a call without sets needs (LauncherSets.cpp).
  void estimate(const AttentionCall &call);
  bool needsColumnEstimate(const AttentionCall &call) const;
  bool needsBlockEstimate(const AttentionCall &call) const;
  using UploadFn = std::function<Driver::DevicePtr(const void *, size_t)>;
  /// topk_blocks' arguments: the estimated or given blocks as bitmap rows.
  void pushBlockSets(const AttentionCall &call, const UploadFn &upload);
  std::optional<mask::SetSchedulePlan> *
  setPlan(const AttentionCall &call,
          const std::map<std::string, int64_t> &symbols,
          const std::vector<std::map<std::string, int64_t>> &perHead);
  const CompiledKernel &kernel_;
  Driver::Module module_ = nullptr;
  Driver::Function function_ = nullptr;
  /// Threads per block: the source's, or for a Hopper kernel built with
  /// experiment flags its launch bounds (MJ_EXP_NO_WS drops the producer
  /// warpgroup the source counts).
  int threads_ = 0;
  std::vector<std::unique_ptr<DeviceBuffer>> buffers_;
  std::vector<uint64_t> argWords_;
  std::vector<unsigned char> argBuffer_; ///< The launch's parameter block.
  /// What the kept tensor maps were encoded for (compared as bytes).
  struct TensorMapInputs {
    Driver::DevicePtr k, v;
    int64_t lk, kvHeads, batch;
    int64_t kStrides[3], vStrides[3];
  };
  TensorMapInputs mapsOf_{};
  KernelTensorMaps maps_{};
  int mapDims_[3] = {0, 0, 0};
  bool hasMaps_ = false;
  Driver::DevicePtr segPtr_ = 0, segs_ = 0, gatherPtr_ = 0, gatherKeys_ = 0;
  Driver::DevicePtr workCounter_ = 0;     ///< Hopper kernel's work counter.
  Driver::Function tileBitsFn_ = nullptr; ///< maskjit_tile_bits, if built.
  DeviceBuffer segBits_, bitTileList_, tileBits_;
  int64_t bitTiles_ = 0;
  bool tileBitsPending_ = false; ///< Planned, not yet launched.
  int schedHeads_ = 1, numQTiles_ = 0;
  AttentionCall prepared_; ///< The inputs the schedule was built for.
  bool hasPrepared_ = false, launched_ = false;
  int64_t visitedTiles_ = 0, gatheredKeys_ = 0;
  std::unique_ptr<VerticalSlashEstimator> estimator_;
  mutable std::vector<Selections> estimated_;
  DeviceVerticalSlash deviceSetsOf_; ///< Where the estimator left its sets.
  bool deviceSets_ = false;          ///< The last launch estimated its sets.
  std::unique_ptr<BlockTopkEstimator> blockEstimator_;
  DeviceBlockSets deviceBlocksOf_;
  bool deviceBlocks_ = false; ///< The last launch estimated topk_blocks.
  double buildMs_ = 0, untimedMs_ = 0;
  std::unique_ptr<GpuScheduleBuilder> scheduleBuilder_;
  std::optional<mask::SetSchedulePlan> plan_;
  std::string planKey_;
  bool hasPlan_ = false;
  DeviceTables gpuTables_;
  bool onGpuTables_ = false, checkSchedule_ = false;
  /// The host-built tables of the last prepare (the backward reads them).
  mask::KernelTables hostTables_;
  /// Counts prepares: the backward's visits are rebuilt when it moves.
  uint64_t prepareCount_ = 0;
  std::shared_ptr<BackwardState> backward_;
  std::string builder_ = "host", scheduleCheck_;
};

} // namespace maskjit::runtime

#endif
