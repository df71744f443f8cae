"""Timing for the Python benchmarks: the median of CUDA-event intervals
around each call, after a warm-up.

Events around each call, read after the last one (as `maskc run --bench`
does): a call's host work overlaps the previous call's kernels, so each
interval is the GPU's time. The warm-up runs at least `warmup_s` seconds of
calls: after an idle GPU (a compile, a subprocess) the clocks take that
long to come back up, and a few calls would time the ramp.
"""
import time

import torch


def median_ms(fn, iters=20, warmup_s=0.2):
    start = time.perf_counter()
    calls = 0
    while calls < 3 or time.perf_counter() - start < warmup_s:
        fn()
        calls += 1
        if calls % 5 == 0:
            torch.cuda.synchronize()
    torch.cuda.synchronize()
    starts = [torch.cuda.Event(enable_timing=True) for _ in range(iters)]
    stops = [torch.cuda.Event(enable_timing=True) for _ in range(iters)]
    for a, b in zip(starts, stops):
        a.record()
        fn()
        b.record()
    torch.cuda.synchronize()
    times = sorted(a.elapsed_time(b) for a, b in zip(starts, stops))
    return times[len(times) // 2]
