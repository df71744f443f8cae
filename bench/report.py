#!/usr/bin/env python3
"""Builds the results table from maskjit's JSON files and the peers' lines."""
import glob
import json
import os
import sys

out = sys.argv[1]
mj = {}
for f in glob.glob(os.path.join(out, "mj_*.json")):
    r = json.load(open(f))
    case = os.path.basename(f)[3:].rsplit("_", 1)[0]
    mj[(case, r["shape"]["lq"])] = r
peers = {}
for line in open(os.path.join(out, "peers.jsonl")):
    r = json.loads(line)
    if "ms" in r:
        peers[(r["case"], r["s"], r["system"])] = r

print("| case | S | maskjit ms | TFLOP/s | cuDNN ms | FA2 ms | Flex ms (first create_block_mask ms, incl. its torch.compile) | vs Flex | vs cuDNN |")
print("|---|---|---|---|---|---|---|---|---|")
for (case, s), r in sorted(mj.items(), key=lambda x: (x[0][1], x[0][0])):
    b = r.get("bench", {})
    ms = b.get("median_ms")
    pairs = b.get("pairs", 0)
    def col(sys_):
        p = peers.get((case, s, sys_))
        return p["ms"] if p else None
    cud, fa2, fl = col("sdpa_cudnn"), col("sdpa_fa2"), col("flex")
    flb = peers.get((case, s, "flex"), {}).get("build_ms")
    fmt = lambda x: f"{x:.2f}" if x is not None else "-"
    ratio = lambda p: f"{p / ms:.2f}x" if p and ms else "-"
    print(f"| {case} | {s} | {fmt(ms)} | {b.get('tflops', 0):.0f} | {fmt(cud)} | {fmt(fa2)} | "
          f"{fmt(fl)} ({fmt(flb)}) | {ratio(fl)} | {ratio(cud)} |")
print()
print("Ratios are peer time / maskjit time (above 1: maskjit faster).")
