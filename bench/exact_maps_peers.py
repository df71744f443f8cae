#!/usr/bin/env python3
"""FlexAttention on the exact-map cases, in the same run as maskjit.

The 3-D video neighbourhood (32x32 frames, radius 3, +-1 frame), NATTEN's
exact 2-D neighbourhood (128 columns, 13x13 window shifted at the borders)
and S2 shards (local 512, 8 shards by head). B=1, H=32, D=128, bf16.
create_block_mask is timed first (with its compile) and warm; past
ATTN_MAX only the mask is built. One JSON object per line:
{"case", "system", "s", "ms", "build_ms", "warm_build_ms"}.
"""
import json
import os
import sys
import time

import torch

from timing import median_ms
from torch.nn.attention.flex_attention import create_block_mask, flex_attention

H, D = 32, 128
torch._dynamo.config.recompile_limit = 64
torch._dynamo.config.accumulated_recompile_limit = 256
flex = torch.compile(flex_attention, dynamic=False)
ATTN_MAX = 32768
# CASES=video3d,natten_exact: only those (a short device call).
CASES = [c for c in os.environ.get("CASES", "").split(",") if c]


def video3d(b, h, q, k):
    plane = 1024
    dt = q // plane - k // plane
    dy = (q % plane) // 32 - (k % plane) // 32
    dx = q % 32 - k % 32
    return (dt.abs() <= 1) & (dy.abs() <= 3) & (dx.abs() <= 3)


def natten_exact(s):
    width, height, half = 128, s // 128, 6

    def mod(b, h, q, k):
        qy, qx = q // width, q % width
        cy = qy.clamp(half, height - 1 - half)
        cx = qx.clamp(half, width - 1 - half)
        return ((k // width - cy).abs() <= half) & ((k % width - cx).abs() <= half)
    return mod


def s2_shards(b, h, q, k):
    return (k <= q) & ((q - k < 512) | (k % 8 == h % 8))


def build(mod, heads, s):
    torch.cuda.synchronize()
    t0 = time.perf_counter()
    bm = create_block_mask(mod, 1, heads, s, s, device="cuda", _compile=True)
    torch.cuda.synchronize()
    return bm, (time.perf_counter() - t0) * 1e3


def main():
    sizes = [int(x) for x in sys.argv[1].split(",")]
    for s in sizes:
        torch.manual_seed(0)
        if s <= ATTN_MAX:
            q, k, v = (torch.randn(1, H, s, D, device="cuda", dtype=torch.bfloat16)
                       for _ in range(3))
        for case, mod, heads in (("video3d", video3d, None),
                                 ("natten_exact", natten_exact(s), None),
                                 ("s2_shards", s2_shards, H)):
            if CASES and case not in CASES:
                continue
            row = {"case": case, "system": "flex", "s": s}
            try:
                bm, row["build_ms"] = build(mod, heads, s)
                del bm
                bm, row["warm_build_ms"] = build(mod, heads, s)
                if s <= ATTN_MAX:
                    row["ms"] = median_ms(lambda: flex(q, k, v, block_mask=bm))
                del bm
            except Exception as e:  # out of memory at large S
                row["error"] = str(e)[:200]
            print(json.dumps(row), flush=True)
            torch.cuda.empty_cache()
        if s <= ATTN_MAX:
            del q, k, v
        torch.cuda.empty_cache()


if __name__ == "__main__":
    main()
