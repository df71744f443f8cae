//===- LauncherBackward.cpp - dQ, dK and dV of a launched pattern ---------===//
//
// The backward pass reads the forward's schedule key tile by key tile
// (mask::keyTileVisits), so both passes visit the same (query, key) pairs
// with the same tiers, dilation classes, per-head and per-sequence
// schedules: the host-built tables of the last prepare, or the GPU-built
// ones read back. Its kernels (codegen/kernels/attention_bwd.cuh) share the
// forward's prelude, predicate and parameter block, and compile at the
// first backward call.
//
//===----------------------------------------------------------------------===//
#include "maskjit/runtime/Attention.h"

#include "maskjit/runtime/KernelAbi.h"

#include <stdexcept>

namespace maskjit::runtime {

struct BackwardState {
  CompiledKernel kernel;
  Driver::Module module = nullptr;
  Driver::Function prep = nullptr, main = nullptr, dq = nullptr;
  DeviceBuffer visitPtr, visits, dqAccum, lseLog2, delta;
  int64_t keyTiles = 0;
  /// The prepare the visits were built from (0: none; prepares count from 1).
  uint64_t visitsOf = 0;
};

namespace {
void checkGrads(const BackwardCall &g) {
  if (!g.dout || !g.dq || !g.dk || !g.dv)
    throw std::invalid_argument("backward: null gradient pointer");
  for (Driver::DevicePtr p : {g.dout, g.dq, g.dk, g.dv})
    if (p % 16 != 0)
      throw std::invalid_argument(
          "backward: gradient pointers must be 16-byte aligned");
  for (const int64_t *s : {g.doStrides, g.dqStrides, g.dkStrides, g.dvStrides})
    for (int i = 0; i < 3; ++i)
      if (s[i] % 8 != 0)
        throw std::invalid_argument(
            "backward: strides must be multiples of 8 elements");
}
} // namespace

void Launcher::backward(const AttentionCall &c, const BackwardCall &g) {
  checkCall(c);
  checkGrads(g);
  if (needsColumnEstimate(c) || needsBlockEstimate(c)) {
    // The sets are the forward's: those this launcher estimated last.
    if (!launched_ || !(deviceSets_ || deviceBlocks_) || !hasPrepared_ ||
        !sameScheduleInputs(c, prepared_) || prepared_.batch != c.batch)
      throw std::invalid_argument(
          "pattern `" + kernel_.patternName +
          "` estimates its sets in the forward: its backward reuses the sets "
          "of this kernel's last launch, which must be the forward of this "
          "call (or give the sets to both)");
  } else if (deviceSets_ || deviceBlocks_ || !hasPrepared_ ||
             !sameScheduleInputs(c, prepared_)) {
    estimate(c); // (nothing to estimate: clears the last launch's sets)
    prepare(c);
  }
  Driver &d = Driver::get();
  if (!backward_) {
    auto state = std::make_shared<BackwardState>();
    plan::KernelPlan plan = kernel_;
    plan.source = codegen::backwardSource(kernel_.source);
    state->kernel = buildKernel(std::move(plan), kernel_.registry);
    const CompiledKernel &k = state->kernel;
    state->module = d.loadModule(
        k.cubin.empty() ? static_cast<const void *>(k.ptx.c_str())
                        : static_cast<const void *>(k.cubin.data()));
    state->prep = d.function(state->module, "maskjit_attention_bwd_prep");
    state->main = d.function(state->module, "maskjit_attention_bwd");
    state->dq = d.function(state->module, "maskjit_attention_bwd_dq");
    d.setMaxDynamicShared(state->main, k.source.sharedBytes);
    backward_ = std::move(state);
  }
  BackwardState &bw = *backward_;
  const codegen::KernelSource &fwd = kernel_.source;
  const int dil = fwd.dilation;
  const int64_t classLk = (c.lk + dil - 1) / dil;
  if (bw.visitsOf != prepareCount_) {
    // (The host's tables are read in place; GPU-built ones come back.)
    mask::KernelTables downloaded;
    if (onGpuTables_)
      downloaded = scheduleBuilder_->download();
    const mask::KernelTables &tables = onGpuTables_ ? downloaded : hostTables_;
    const mask::KeyTileVisits v =
        mask::keyTileVisits(tables, fwd.tileN, classLk);
    if (v.schedules != schedHeads_ * dil)
      throw std::logic_error("internal error: the backward's visits hold " +
                             std::to_string(v.schedules) +
                             " schedules, the launch " +
                             std::to_string(schedHeads_ * dil));
    bw.visitPtr.upload(v.ptr.data(), v.ptr.size() * 4);
    bw.visits.upload(v.visits.data(), std::max<size_t>(v.visits.size(), 1) * 4);
    bw.keyTiles = v.keyTiles;
    bw.visitsOf = prepareCount_;
  }
  const int64_t D = fwd.headDim;
  const int64_t rows = c.batch * c.heads * c.lq;
  BackwardParams b{};
  b.dout = g.dout;
  b.dq = g.dq;
  b.dk = g.dk;
  b.dv = g.dv;
  for (int i = 0; i < 3; ++i) {
    b.doStrides[i] = g.doStrides[i];
    b.dqStrides[i] = g.dqStrides[i];
    b.dkStrides[i] = g.dkStrides[i];
    b.dvStrides[i] = g.dvStrides[i];
  }
  // (ensure() waits for queued work only when a buffer grows.)
  b.dqAccum = bw.dqAccum.ensure(size_t(rows * D) * 4);
  b.lseLog2 = bw.lseLog2.ensure(size_t(rows) * 4);
  b.delta = bw.delta.ensure(size_t(rows) * 4);
  b.visitPtr = bw.visitPtr.get();
  b.visits = bw.visits.get();
  b.keyTiles = bw.keyTiles;
  b.fwdTileM = fwd.tileM;
  b.fwdTileN = fwd.tileN;
  b.subTiles = (classLk + 63) / 64;
  b.scale = softmaxScale(c, D);
  fillParams(c);
  void *args[] = {argBuffer_.data(), &b};
  const unsigned rowBlocks = static_cast<unsigned>((c.lq + 3) / 4);
  d.launch(bw.prep, rowBlocks, static_cast<unsigned>(c.heads),
           static_cast<unsigned>(c.batch), 128, 0, args, c.stream);
  d.launch(bw.main, static_cast<unsigned>(b.subTiles * dil),
           static_cast<unsigned>(c.kvHeads), static_cast<unsigned>(c.batch),
           static_cast<unsigned>(bw.kernel.source.threads),
           bw.kernel.source.sharedBytes, args, c.stream);
  d.launch(bw.dq, rowBlocks, static_cast<unsigned>(c.heads),
           static_cast<unsigned>(c.batch), 128, 0, args, c.stream);
}

} // namespace maskjit::runtime
