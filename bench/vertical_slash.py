#!/usr/bin/env python3
"""Vertical-slash with given indices: maskjit against FlexAttention with the
same columns and diagonals, and dense causal cuDNN, in one run.

Writes the index files maskc reads, runs `maskc run` (timed with CUDA
events inside maskc), times the peers here, prints a table. The indices are
chosen here (no estimator): 1000 random columns, and 64 diagonals either
local (0..63, the common case in MInference's estimates) or spread at
random over the sequence.
Usage (repo root, GPU machine): bench/vertical_slash.py MASKC [S...]
"""
import json
import os
import random
import subprocess
import sys

import torch
from torch.nn.attention import SDPBackend, sdpa_kernel
from torch.nn.attention.flex_attention import create_block_mask

# The shapes, the compiled FlexAttention and the timing of the main peers'
# benchmark (bench/peers.py, next to this file).
from peers import D, H, flex, median_ms


def indices(s, spread, seed=0):
    rng = random.Random(seed)
    cols = sorted(rng.sample(range(s), 1000))
    diags = sorted(rng.sample(range(s), 64)) if spread else list(range(64))
    return cols, diags


def maskjit_ms(maskc, s, cols, diags, pattern="vertical_slash", heads=H, extra=()):
    with open("/tmp/vs_cols.txt", "w") as f:
        f.write(",".join(map(str, cols)))
    with open("/tmp/vs_diags.txt", "w") as f:
        f.write(",".join(map(str, diags)))
    out = subprocess.run(
        [maskc, "run", f"examples/patterns/{pattern}.mask", "--lq", str(s), "--heads", str(heads),
         "--bench", "--iters", "15", "--select", "columns=@/tmp/vs_cols.txt",
         "--select", "diagonals=@/tmp/vs_diags.txt", "--json", "/tmp/vs.json", *extra],
        capture_output=True, text=True)
    if out.returncode != 0:
        raise RuntimeError(out.stderr + out.stdout)
    sys.stderr.write(out.stdout)
    return json.load(open("/tmp/vs.json"))


def estimated(maskc, sizes):
    """Vertical-slash 1000 + 64 with the sets estimated on the GPU per head
    from the last 64 queries: each timed call estimates, builds its schedule
    (on the GPU for this pattern) and attends, as a call with new inputs
    would. On random inputs (the chosen diagonals spread over the sequence:
    no structure to find) and on positional ones (maskc run --inputs
    positional: local diagonals and heavy columns, as in trained models),
    against dense causal cuDNN."""
    # Rows are printed as they are measured (a long run cut short keeps them).
    print()
    print("| S | inputs | estimate ms (GPU) | schedule build ms, host wall (GPU; where) |"
          " attention alone ms | per call ms (estimate + build + attention) | causal cuDNN ms |"
          " vs causal cuDNN | estimate + build share (GPU times) | rest of the call over the"
          " attention alone |")
    print("|---|---|---|---|---|---|---|---|---|---|", flush=True)
    for s in sizes:
        torch.manual_seed(0)
        q, k, v = (torch.randn(1, H, s, D, device="cuda", dtype=torch.bfloat16) for _ in range(3))
        with sdpa_kernel(SDPBackend.CUDNN_ATTENTION):
            causal = median_ms(lambda: torch.nn.functional.scaled_dot_product_attention(
                q, k, v, is_causal=True))
        del q, k, v
        for inputs in ("random", "positional"):
            def run(*extra):
                out = subprocess.run(
                    [maskc, "run", "examples/patterns/vertical_slash.mask", "--lq", str(s),
                     "--heads", str(H), "--bench", "--iters", "10", "--inputs", inputs,
                     "--json", "/tmp/vse.json", *extra], capture_output=True, text=True)
                if out.returncode != 0:
                    raise RuntimeError(out.stderr + out.stdout)
                sys.stderr.write(out.stdout)
                return json.load(open("/tmp/vse.json"))
            r = run("--export-sets", "/tmp/vse_sets.json")
            # The attention alone, given the sets the pipeline chose.
            alone = run("--select", "sets=@/tmp/vse_sets.json")["bench"]["median_ms"]
            b = r["bench"]
            est, build, total = b["estimate_ms"], b["schedule_build_ms"], b["median_ms"]
            build_gpu = b.get("schedule_build_gpu_ms", 0.0)
            where = r.get("schedule_builder", "host")
            print(f"| {s} | {inputs} | {est:.2f} | {build:.2f} ({build_gpu:.2f}; {where}) |"
                  f" {alone:.2f} | {total:.2f} | {causal:.2f} | {causal / total:.1f}x |"
                  f" {100 * (est + build_gpu) / total:.0f}% | {100 * (total - alone) / total:.0f}% |",
                  flush=True)


def mixture(maskc, s):
    """The per-head mixture (8 A-shape heads + 24 vertical-slash heads, one
    launch) against its parts run separately, with local diagonals."""
    cols, diags = indices(s, False)
    mixed = maskjit_ms(maskc, s, cols, diags, "mixed", 32)["bench"]["median_ms"]
    a_shape = subprocess.run(
        [maskc, "run", "examples/patterns/a_shape.mask", "--lq", str(s), "--heads", "8",
         "--set", "sink=64", "--set", "window=1024", "--bench", "--iters", "15",
         "--json", "/tmp/as.json"], capture_output=True, text=True)
    if a_shape.returncode != 0:
        raise RuntimeError(a_shape.stderr + a_shape.stdout)
    a_ms = json.load(open("/tmp/as.json"))["bench"]["median_ms"]
    vs_ms = maskjit_ms(maskc, s, cols, diags, "vertical_slash", 24)["bench"]["median_ms"]
    print()
    print("| S | mixed, one launch ms | A-shape x8 ms | vertical-slash x24 ms | sum ms |"
          " mixed / sum |")
    print("|---|---|---|---|---|---|")
    print(f"| {s} | {mixed:.2f} | {a_ms:.2f} | {vs_ms:.2f} | {a_ms + vs_ms:.2f} |"
          f" {mixed / (a_ms + vs_ms):.2f} |")


def main():
    maskc = sys.argv[1]
    sizes = [int(x) for x in sys.argv[2:]] or [32768]
    estimated_sizes = [int(x) for x in os.environ.get("ESTIMATED_SIZES", "32768 131072").split()]
    if os.environ.get("ONLY_ESTIMATED"):
        estimated(maskc, estimated_sizes)
        return
    rows = []
    for s in sizes:
        torch.manual_seed(0)
        q, k, v = (torch.randn(1, H, s, D, device="cuda", dtype=torch.bfloat16) for _ in range(3))
        with sdpa_kernel(SDPBackend.CUDNN_ATTENTION):
            causal = median_ms(lambda: torch.nn.functional.scaled_dot_product_attention(
                q, k, v, is_causal=True))
        for spread in (False, True):
            cols, diags = indices(s, spread)
            mj = maskjit_ms(maskc, s, cols, diags)
            col_mask = torch.zeros(s, dtype=torch.bool, device="cuda")
            col_mask[torch.tensor(cols, device="cuda")] = True
            diag_mask = torch.zeros(s, dtype=torch.bool, device="cuda")
            diag_mask[torch.tensor(diags, device="cuda")] = True

            def mod(b, h, qi, ki):
                return (ki <= qi) & (col_mask[ki] | diag_mask[(qi - ki).clamp(min=0)])

            bm = create_block_mask(mod, 1, 1, s, s, device="cuda", _compile=True)
            fl = median_ms(lambda: flex(q, k, v, block_mask=bm))
            rows.append((s, "spread" if spread else "local", mj["bench"]["median_ms"], fl, causal,
                         mj.get("visited_tiles"), mj.get("gathered_keys")))
    print("| S | diagonals | maskjit ms | Flex ms | causal cuDNN ms | vs Flex | vs causal cuDNN |"
          " tiles visited | keys gathered |")
    print("|---|---|---|---|---|---|---|---|---|")
    for s, kind, mj, fl, ca, tiles, keys in rows:
        print(f"| {s} | {kind} | {mj:.2f} | {fl:.2f} | {ca:.2f} | {fl / mj:.1f}x | {ca / mj:.1f}x |"
              f" {tiles} | {keys} |")
    mixture(maskc, sizes[-1])
    estimated(maskc, estimated_sizes)


if __name__ == "__main__":
    main()
