"""Backward pass: maskjit against its peers in the same run (B=1, H=32,
D=128, bf16 by default): forward + backward and the backward alone
(forward + backward minus forward), median of CUDA events after warm-up.

Peers: SDPA (cuDNN where it takes the case; dense and causal without a
mask tensor) and FlexAttention (Triton backend, torch.compile'd, with its
block mask built outside the timing). --no-flex skips Flex (its compile
takes a minute per case).

Usage (GPU machine): python3 bench/backward_bench.py [--sizes 16384,32768]
    [--cases causal,sliding_window,...] [--no-flex] [--json FILE]
"""
import argparse
import json
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "python"))
import maskjit  # noqa: E402
from timing import median_ms  # noqa: E402

CASES = {  # name: (maskjit pattern, constants, flex mask_mod maker, SDPA is_causal or None)
    "dense": (os.path.join(os.path.dirname(__file__), "patterns", "dense.mask"), {},
              lambda s: None, False),
    "causal": ("causal", {}, lambda s: (lambda b, h, q, k: q >= k), True),
    "sliding_window": ("sliding_window", {"window": 4096},
                       lambda s: (lambda b, h, q, k: (q >= k) & (q - k < 4096)), None),
    "a_shape": ("a_shape", {"sink": 128, "window": 2048},
                lambda s: (lambda b, h, q, k: (q >= k) & ((k < 128) | (q - k < 2048))), None),
    "strided": ("strided", {"stride": 128, "local": 1024},
                lambda s: (lambda b, h, q, k: (q >= k) & ((q - k < 1024) | (k % 128 == 127))),
                None),
    "document": ("document", {}, None, None),
}


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="16384")
    ap.add_argument("--cases", default=",".join(CASES))
    ap.add_argument("--heads", type=int, default=32)
    ap.add_argument("--iters", type=int, default=10)
    ap.add_argument("--no-flex", action="store_true")
    ap.add_argument("--json")
    args = ap.parse_args()
    rows = []
    print("| case | S | maskjit fwd | maskjit bwd | SDPA bwd | Flex bwd | SDPA / maskjit | "
          "Flex / maskjit |")
    print("|---|---|---|---|---|---|---|---|")
    for s in map(int, args.sizes.split(",")):
        doc = torch.arange(s, device="cuda") // (s // 16)
        for name in args.cases.split(","):
            source, constants, flex_mask, causal = CASES[name]
            params = {"doc": doc.cpu().numpy()} if name == "document" else {}
            if name == "document":
                flex_mask = lambda s: (lambda b, h, q, k: (q >= k) & (doc[q] == doc[k]))
            kernel = maskjit.compile(source, **constants)
            shape = (1, args.heads, s, 128)
            q, k, v = (torch.randn(shape, device="cuda", dtype=torch.bfloat16,
                                   requires_grad=True) for _ in range(3))
            dout = torch.randn(shape, device="cuda", dtype=torch.bfloat16)

            def fwd():
                with torch.no_grad():
                    kernel(q, k, v, **params)

            def fwd_bwd():
                torch.autograd.grad(kernel(q, k, v, **params), (q, k, v), dout)
            row = {"case": name, "S": s, "fwd_ms": median_ms(fwd, args.iters)}
            row["bwd_ms"] = median_ms(fwd_bwd, args.iters) - row["fwd_ms"]
            if causal is not None:
                def sdpa():
                    return torch.nn.functional.scaled_dot_product_attention(
                        q, k, v, is_causal=causal)
                with torch.no_grad():
                    f = median_ms(sdpa, args.iters)
                row["sdpa_bwd_ms"] = median_ms(
                    lambda: torch.autograd.grad(sdpa(), (q, k, v), dout), args.iters) - f
            if not args.no_flex and flex_mask is not None:
                from torch.nn.attention.flex_attention import create_block_mask, flex_attention
                mm = flex_mask(s)
                block = create_block_mask(mm, None, None, s, s, device="cuda")
                flex = torch.compile(flex_attention)

                def run_flex():
                    return flex(q, k, v, block_mask=block)
                with torch.no_grad():
                    f = median_ms(run_flex, args.iters)
                row["flex_bwd_ms"] = median_ms(
                    lambda: torch.autograd.grad(run_flex(), (q, k, v), dout), args.iters) - f
            rows.append(row)
            fmt = lambda key: f"{row[key]:.2f}" if key in row else "-"
            ratio = lambda key: f"{row[key] / row['bwd_ms']:.2f}x" if key in row else "-"
            print(f"| {name} | {s} | {row['fwd_ms']:.2f} | {row['bwd_ms']:.2f} | "
                  f"{fmt('sdpa_bwd_ms')} | {fmt('flex_bwd_ms')} | {ratio('sdpa_bwd_ms')} | "
                  f"{ratio('flex_bwd_ms')} |", flush=True)
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"device": torch.cuda.get_device_name(), "rows": rows}, f, indent=1)


if __name__ == "__main__":
    main()
