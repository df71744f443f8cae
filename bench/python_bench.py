#!/usr/bin/env python3
"""maskjit from Python against `maskc run`, FlexAttention and SDPA, on the
main table's cases, in one run (B=1, H=32, D=128, bf16).

Each case is timed as a user would call it: `kernel(q, k, v, **params)` on
torch tensors, BHSD (as the peers get them) and BSHD (maskc run's layout) (median of CUDA events around each call, after warm-up, as
peers.py and `maskc run --bench` time). With --maskc, the same pattern and
values also run through `maskc run --bench` in this process's run, and the
ratio Python / maskc is printed (the package adds no GPU work, so it should
be 1.00 within noise). Peers: FlexAttention (torch.compile'd, Triton; its
FLASH backend where flash_attn.cute is installed) and SDPA's cuDNN backend
for dense and causal.

Usage (GPU machine): MASKJIT_LIBRARY=... python3 bench/python_bench.py
    [--sizes 16384,32768] [--maskc .gpu/maskc] [--no-flex] [--iters 20]
    [--cases dense,causal,...]
Prints a markdown table; --json FILE also writes the rows.
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "python"))
sys.path.insert(0, HERE)
import numpy as np  # noqa: E402
import torch  # noqa: E402

import maskjit  # noqa: E402
from timing import median_ms  # noqa: E402

H, D = 32, 128
PATTERNS = os.path.join(HERE, "..", "examples", "patterns")


def cases(s):
    """(name, .mask file, compile-time constants, runtime params)."""
    doc = (np.arange(s) // (s // 16)).astype(np.int64)
    return [
        ("dense", os.path.join(HERE, "patterns", "dense.mask"), {}, {}),
        ("causal", os.path.join(PATTERNS, "causal.mask"), {}, {}),
        ("sliding_window", os.path.join(PATTERNS, "sliding_window.mask"),
         {"window": 4096}, {}),
        ("a_shape", os.path.join(PATTERNS, "a_shape.mask"), {"sink": 128, "window": 2048}, {}),
        ("strided", os.path.join(PATTERNS, "strided.mask"), {"stride": 128, "local": 1024}, {}),
        ("document", os.path.join(PATTERNS, "document.mask"), {}, {"doc": doc}),
    ]


def maskc_ms(maskc, path, s, values, iters):
    """`maskc run --bench` on the same case: its median, from its JSON."""
    with tempfile.TemporaryDirectory() as tmp:
        cmd = [maskc, "run", path, "--lq", str(s), "--batch", "1", "--heads", str(H),
               "--head-dim", str(D), "--bench", "--iters", str(iters),
               "--json", os.path.join(tmp, "r.json")]
        for name, value in values.items():
            if isinstance(value, np.ndarray):
                f = os.path.join(tmp, name + ".txt")
                with open(f, "w") as out:
                    out.write(",".join(str(int(x)) for x in value))
                value = "@" + f
            cmd += ["--set", f"{name}={value}"]
        subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
        with open(os.path.join(tmp, "r.json")) as f:
            return json.load(f)["bench"]["median_ms"]


def flex_backends():
    try:
        import flash_attn.cute  # noqa: F401
        return ["TRITON", "FLASH"]
    except ImportError:
        return ["TRITON"]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sizes", default="16384,32768")
    ap.add_argument("--maskc", help="maskc binary to time the same cases with")
    ap.add_argument("--no-flex", action="store_true", help="skip FlexAttention")
    ap.add_argument("--iters", type=int, default=20)
    ap.add_argument("--cases", help="comma-separated case names (default: all)")
    ap.add_argument("--repeat", type=int, default=3,
                    help="alternate Python and maskc this many times (best of each)")
    ap.add_argument("--json", help="also write the rows here")
    args = ap.parse_args()
    rows = []
    if not args.no_flex:
        import peers  # its compiled flex_attention and mask_mods, as the main table's
        backends = flex_backends()
    print("| case | S | Python BHSD ms | Python BSHD ms | maskc run (BSHD) ms | "
          "Python BSHD / maskc | Flex ms | Flex FLASH ms | cuDNN ms | vs Flex (BHSD) |")
    print("|---|---|---|---|---|---|---|---|---|---|", flush=True)
    for s in (int(x) for x in args.sizes.split(",")):
        torch.manual_seed(0)
        q, k, v = (torch.randn(1, H, s, D, device="cuda", dtype=torch.bfloat16)
                   for _ in range(3))
        qs, ks, vs = (t.transpose(1, 2).contiguous() for t in (q, k, v))  # BSHD
        mods = peers.mask_mods(s) if not args.no_flex else {}
        for name, path, constants, params in cases(s):
            if args.cases and name not in args.cases.split(","):
                continue
            row = {"case": name, "s": s}
            kernel = maskjit.compile(path, **constants)
            # Python and maskc alternate --repeat times; each keeps its
            # best median (run-to-run drift of the GPU is larger than the
            # difference measured).
            # maskc run's tensors are BSHD: the package is compared with it
            # on BSHD tensors (the same memory layout, so the same kernel
            # time); the BHSD column is the call as torch users make it,
            # on the tensors the peers get.
            py, pyb, mc = [], [], []
            for _ in range(args.repeat):
                py.append(median_ms(lambda: kernel(q, k, v, **params), args.iters))
                pyb.append(median_ms(lambda: kernel(qs, ks, vs, layout="bshd", **params),
                                     args.iters))
                if args.maskc:
                    mc.append(maskc_ms(args.maskc, path, s, {**constants, **params},
                                       args.iters))
            row["python_ms"], row["python_runs"] = min(py), py
            row["python_bshd_ms"], row["python_bshd_runs"] = min(pyb), pyb
            if mc:
                row["maskc_ms"], row["maskc_runs"] = min(mc), mc
            if name in ("dense", "causal"):
                from torch.nn.attention import SDPBackend, sdpa_kernel
                with sdpa_kernel(SDPBackend.CUDNN_ATTENTION):
                    row["cudnn_ms"] = median_ms(
                        lambda: torch.nn.functional.scaled_dot_product_attention(
                            q, k, v, is_causal=name == "causal"), args.iters)
            if name in mods:
                mod = mods[name]
                bm = None if mod is None else peers.create_block_mask(
                    mod, 1, 1, s, s, device="cuda", _compile=True)
                for backend in backends:
                    key = "flex_ms" if backend == "TRITON" else "flex_flash_ms"
                    try:
                        opts = {} if backend == "TRITON" else {"BACKEND": "FLASH"}
                        row[key] = median_ms(lambda: peers.flex(
                            q, k, v, block_mask=bm, kernel_options=opts), args.iters)
                    except Exception as e:  # a backend may not take this mask
                        row[key + "_error"] = str(e)[:200]
            rows.append(row)
            f = lambda key: f"{row[key]:.2f}" if key in row else "-"
            ratio = lambda a, b: f"{row[a] / row[b]:.3f}" if a in row and b in row else "-"
            print(f"| {name} | {s} | {f('python_ms')} | {f('python_bshd_ms')} | "
                  f"{f('maskc_ms')} | {ratio('python_bshd_ms', 'maskc_ms')} | "
                  f"{f('flex_ms')} | {f('flex_flash_ms')} | {f('cudnn_ms')} | "
                  f"{ratio('flex_ms', 'python_ms')}x |", flush=True)
        del q, k, v, qs, ks, vs
        torch.cuda.empty_cache()
    if args.json:
        with open(args.json, "w") as out:
            json.dump(rows, out, indent=1)


if __name__ == "__main__":
    main()
