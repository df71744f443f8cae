//===- Timing.cpp - Median GPU time of repeated launches ------------------===//
#include "maskjit/harness/Timing.h"

#include "maskjit/runtime/Driver.h"

#include <algorithm>
#include <stdexcept>
#include <vector>

namespace maskjit::harness {

double medianLaunchMs(const std::function<void()> &launch, int iters,
                      int warmup) {
  if (iters <= 0)
    throw std::invalid_argument(
        "the number of timed launches must be positive");
  runtime::Driver &drv = runtime::Driver::get();
  for (int i = 0; i < warmup; ++i)
    launch();
  drv.synchronize();
  std::vector<runtime::Driver::Event> starts, stops;
  for (int i = 0; i < iters; ++i) {
    starts.push_back(drv.createEvent());
    stops.push_back(drv.createEvent());
  }
  for (int i = 0; i < iters; ++i) {
    drv.record(starts[i]);
    launch();
    drv.record(stops[i]);
  }
  std::vector<float> times;
  for (int i = 0; i < iters; ++i)
    times.push_back(drv.elapsedMs(starts[i], stops[i]));
  std::sort(times.begin(), times.end());
  return times[times.size() / 2];
}

} // namespace maskjit::harness
