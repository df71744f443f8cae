#!/usr/bin/env python3
"""Host cost of a cached maskjit call from Python (issue: at most 15 us).

A small shape (B=1, H=1, S=128, D=128: the GPU is idle most of the time),
the kernel compiled and its schedule built before timing; N calls issued
back to back, then one synchronize: the time per call is the host's while
the launches queue. Beside it, torch's own launch of a tiny op, and SDPA
on the same tensors, measured the same way in the same run.
Usage (GPU machine): MASKJIT_LIBRARY=... python3 bench/python_overhead.py
"""
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "python"))
import torch  # noqa: E402

import maskjit  # noqa: E402

N = 5000


def per_call_us(fn):
    for _ in range(50):
        fn()
    torch.cuda.synchronize()
    best = float("inf")
    for _ in range(5):
        t0 = time.perf_counter()
        for _ in range(N):
            fn()
        torch.cuda.synchronize()
        best = min(best, (time.perf_counter() - t0) / N * 1e6)
    return best


def main():
    q, k, v = (torch.randn(1, 1, 128, 128, device="cuda", dtype=torch.bfloat16)
               for _ in range(3))
    kernel = maskjit.compile("sliding_window", window=64)
    runtime = maskjit.compile("pattern sw(window: runtime int) { causal and q - k < window }")
    out = torch.empty_like(q)
    kernel(q, k, v)
    plan = next(iter(kernel._plans.values()))  # the checked call kept
    from maskjit._lib import lib as c
    lse_shape = (1, 1, 128)
    lse = torch.empty(lse_shape, device=q.device, dtype=torch.float32)

    def c_launch():
        # The kept struct with live buffers (the last call's are freed).
        call = plan.call
        call.q, call.k, call.v = q.data_ptr(), k.data_ptr(), v.data_ptr()
        call.o, call.lse = out.data_ptr(), lse.data_ptr()
        return lambda: c.mj_kernel_launch(kernel._h, plan.ref)
    rows = [
        ("maskjit kernel(q, k, v)", lambda: kernel(q, k, v)),
        ("maskjit kernel(q, k, v, out=out)", lambda: kernel(q, k, v, out=out)),
        ("maskjit runtime param window=64", lambda: runtime(q, k, v, window=64)),
        # Where a call's time goes: the C launch of the kept struct alone
        # (ctypes + libmaskjit + the driver), and the two allocations.
        ("  of which: C launch of the kept call", None),
        ("  of which: empty_like(q) + empty(lse)", lambda: (torch.empty_like(q), torch.empty(
            lse_shape, device=q.device, dtype=torch.float32))),
        ("torch.add (a tiny op)", lambda: torch.add(q, 1)),
        ("torch SDPA is_causal", lambda: torch.nn.functional.scaled_dot_product_attention(
            q, k, v, is_causal=True)),
    ]
    print("| call | host us per call |")
    print("|---|---|")
    for name, fn in rows:
        fn = fn or c_launch()
        print(f"| {name} | {per_call_us(fn):.1f} |", flush=True)


if __name__ == "__main__":
    main()
