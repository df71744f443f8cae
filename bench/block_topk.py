#!/usr/bin/env python3
"""Block top-k (keep 16 of block 64): maskjit against its own dense kernel
and FlexAttention with the same chosen blocks, in one run.

For each size and input kind (random: no structure, the chosen blocks spread
out; positional: `maskc run --inputs positional`, local blocks and heavy
columns as in trained models), `maskc run` estimates the blocks on the GPU
per head and attends (each timed call estimates, builds its schedule and
attends), exports the chosen blocks, then runs the attention alone with them
given back. FlexAttention gets the same blocks as a (head, query block, key
block) table in its mask_mod. "Useful" TFLOP/s count 4·D per allowed pair.
Usage (repo root, GPU machine): bench/block_topk.py MASKC [S...]
(ONLY=auto,portable: the variants with those labels alone.)
"""
import json
import os
import subprocess
import sys

import torch
from torch.nn.attention.flex_attention import create_block_mask

from peers import D, H, flex, median_ms

# (label, kernel arguments, keep, block): the case on the default
# (Hopper; blocks under 128 get its 64x64 tiles: a block is a tile), on
# Hopper's 128x64 tiles (two query blocks share the key tiles either chose;
# experimental), on its 128x128 tiles (a tile holds 2 x 2 blocks of 64) and
# on the portable kernel (64x64 tiles), and blocks of 128 on the default.
VARIANTS = [("auto", ["--kernel", "auto"], 16, 64),
            ("hopper 128x64", ["--kernel", "hopper", "--tile-m", "128", "--tile-n", "64"],
             16, 64),
            ("hopper 128x128", ["--kernel", "hopper", "--tile-m", "128"], 16, 64),
            ("portable", ["--kernel", "portable"], 16, 64),
            ("auto", ["--kernel", "auto"], 8, 128)]


def maskc_run(maskc, args):
    out = subprocess.run([maskc, "run", *args, "--heads", str(H), "--bench", "--json",
                          "/tmp/bt.json"], capture_output=True, text=True)
    if out.returncode != 0:
        raise RuntimeError(out.stderr + out.stdout)
    sys.stderr.write(out.stdout)
    return json.load(open("/tmp/bt.json"))


def variant(maskc, s, kernel, kernel_args, keep, block, inputs, q, k, v, dense_tflops):
    common = ["examples/patterns/block_topk.mask", "--lq", str(s), "--inputs", inputs,
              *kernel_args, "--set", f"keep={keep}", "--set", f"block={block}"]
    call = maskc_run(maskc, common + ["--iters", "10", "--export-sets", "/tmp/bt_sets.json"])
    alone = maskc_run(maskc, common + ["--iters", "15", "--select", "sets=@/tmp/bt_sets.json"])
    heads = json.load(open("/tmp/bt_sets.json"))["heads"]
    nb = (s + block - 1) // block
    table = torch.zeros(H, nb, nb, dtype=torch.bool)
    for h, head in enumerate(heads):
        for qb, row in enumerate(head["blocks"]):
            table[h, qb, row] = True
    table = table.cuda()

    def mod(b, h, qi, ki):
        return (ki <= qi) & table[h, qi // block, ki // block]

    bm = create_block_mask(mod, 1, H, s, s, device="cuda", _compile=True)
    fl = median_ms(lambda: flex(q, k, v, block_mask=bm))
    b, a = call["bench"], alone["bench"]
    return (f"| {s} | {kernel} | {keep}/{block} | {inputs} | {a['median_ms']:.2f} | {a['tflops']:.0f} |"
            f" {100 * a['tflops'] / dense_tflops:.0f}% | {fl:.2f} | {fl / a['median_ms']:.2f}x |"
            f" {b['median_ms']:.2f} | {b.get('estimate_ms', 0):.2f} |"
            f" {b.get('schedule_build_gpu_ms', 0):.2f} | {100 * a['pairs'] / (H * s * s):.2f}% |")


def main():
    maskc = sys.argv[1]
    sizes = [int(x) for x in sys.argv[2:]] or [32768]
    print("| S | kernel | keep/block | inputs | maskjit attention ms | useful TFLOP/s | of maskjit dense | Flex ms |"
          " vs Flex | per call ms (estimate + build + attention) | estimate ms | build ms (GPU) |"
          " density |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|", flush=True)
    for s in sizes:
        dense = maskc_run(maskc, ["bench/patterns/dense.mask", "--lq", str(s), "--iters", "10"])
        dense_tflops = dense["bench"]["tflops"]
        torch.manual_seed(0)
        q, k, v = (torch.randn(1, H, s, D, device="cuda", dtype=torch.bfloat16) for _ in range(3))
        only = [x for x in os.environ.get("ONLY", "").split(",") if x]
        for kernel, kernel_args, keep, block in VARIANTS:
            if only and kernel not in only:
                continue
            for inputs in ("random", "positional"):
                row = variant(maskc, s, kernel, kernel_args, keep, block, inputs, q, k, v,
                              dense_tflops)
                print(row, flush=True)
        dense64 = maskc_run(maskc, ["bench/patterns/dense.mask", "--lq", str(s), "--iters", "10",
                                    "--kernel", "hopper", "--tile-m", "64"])
        print(f"\nmaskjit dense at {s}: {dense['bench']['median_ms']:.2f} ms, {dense_tflops:.0f} TFLOP/s"
              f" (Hopper 64x64 tiles: {dense64['bench']['median_ms']:.2f} ms,"
              f" {dense64['bench']['tflops']:.0f} TFLOP/s)")


if __name__ == "__main__":
    main()
