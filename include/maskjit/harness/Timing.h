//===- Timing.h - Median GPU time of repeated launches ----------*- C++ -*-===//
#ifndef MASKJIT_HARNESS_TIMING_H
#define MASKJIT_HARNESS_TIMING_H

#include <functional>

namespace maskjit::harness {

/// The median of `iters` intervals between CUDA events recorded around
/// each `launch()` after `warmup` untimed ones, on the current stream. The
/// events are read after the last launch: a launch's host work overlaps the
/// previous launch, as in a stream of calls, so each interval is the GPU's
/// time (a launch that waits on the GPU within itself counts its waits).
double medianLaunchMs(const std::function<void()> &launch, int iters,
                      int warmup = 3);

} // namespace maskjit::harness

#endif
