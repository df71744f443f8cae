#!/usr/bin/env python3
"""Dilated patterns: maskjit per class of positions, the same mask without
classes (a runtime dilation: every band tile masked element by element) and
FlexAttention with the same mask_mod, in one run. B=1, H=32, D=128, bf16.
"Useful" TFLOP/s count 4·D per allowed pair.
Usage (repo root, GPU machine): bench/dilated.py MASKC [S...]
"""
import json
import subprocess
import sys

import torch
from torch.nn.attention.flex_attention import create_block_mask

from peers import D, H, flex, median_ms

# (label, pattern file, maskc --set arguments, mask_mod factory)
CASES = [
    ("dilated window 4096, dilation 4", "bench/patterns/dilated_window.mask",
     "bench/patterns/dilated_window_runtime.mask", ["window=4096", "dilation=4"],
     lambda b, h, q, k: (k <= q) & (q - k < 4096) & ((q - k) % 4 == 0)),
    ("dilated window 8192, dilation 8", "bench/patterns/dilated_window.mask",
     "bench/patterns/dilated_window_runtime.mask", ["window=8192", "dilation=8"],
     lambda b, h, q, k: (k <= q) & (q - k < 8192) & ((q - k) % 8 == 0)),
]


def maskc_bench(maskc, pattern, s, sets):
    args = [maskc, "run", pattern, "--lq", str(s), "--heads", str(H), "--bench",
            "--iters", "20", "--json", "/tmp/dil.json"]
    for kv in sets:
        args += ["--set", kv]
    out = subprocess.run(args, capture_output=True, text=True)
    if out.returncode != 0:
        raise RuntimeError(out.stderr + out.stdout)
    sys.stderr.write(out.stdout)
    return json.load(open("/tmp/dil.json"))["bench"]


def main():
    maskc = sys.argv[1]
    sizes = [int(x) for x in sys.argv[2:]] or [16384, 32768]
    print("| S | case | maskjit ms (classes) | useful TFLOP/s | without classes ms | speedup |"
          " Flex ms | vs Flex | density |")
    print("|---|---|---|---|---|---|---|---|---|", flush=True)
    for s in sizes:
        torch.manual_seed(0)
        q, k, v = (torch.randn(1, H, s, D, device="cuda", dtype=torch.bfloat16) for _ in range(3))
        for label, pattern, runtime_pattern, sets, mod in CASES:
            mj = maskc_bench(maskc, pattern, s, sets)
            plain = maskc_bench(maskc, runtime_pattern, s, sets)
            bm = create_block_mask(mod, 1, H, s, s, device="cuda", _compile=True)
            fl = median_ms(lambda: flex(q, k, v, block_mask=bm))
            print(f"| {s} | {label} | {mj['median_ms']:.2f} | {mj['tflops']:.0f} |"
                  f" {plain['median_ms']:.2f} | {plain['median_ms'] / mj['median_ms']:.2f}x |"
                  f" {fl:.2f} | {fl / mj['median_ms']:.2f}x | {100 * mj['pairs'] / (H * s * s):.2f}% |",
                  flush=True)


if __name__ == "__main__":
    main()
