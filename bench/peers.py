#!/usr/bin/env python3
"""Times the peers on the benchmark cases, in the same run as maskjit.

torch SDPA (cuDNN and FlashAttention-2 backends) for dense and causal, and
FlexAttention (torch.compile'd, block mask built once outside the timing,
its build time reported) for every pattern. B=1, H=32, D=128, bf16.
Prints one JSON object per line: {"case", "system", "s", "ms", "build_ms"}.
"""
import json
import sys
import time

import torch

from timing import median_ms
from torch.nn.attention import SDPBackend, sdpa_kernel
from torch.nn.attention.flex_attention import create_block_mask, flex_attention

H, D = 32, 128
# One compiled variant per mask and size: past dynamo's default limit of 8,
# flex_attention falls back to eager and runs out of memory at 32k.
torch._dynamo.config.recompile_limit = 64
torch._dynamo.config.accumulated_recompile_limit = 256
flex = torch.compile(flex_attention, dynamic=False)


def mask_mods(s):
    docs = torch.arange(s, device="cuda") // (s // 16)
    return {
        "dense": None,
        "causal": lambda b, h, q, k: k <= q,
        "sliding_window": lambda b, h, q, k: (k <= q) & (q - k < 4096),
        "a_shape": lambda b, h, q, k: (k <= q) & ((k < 128) | (q - k < 2048)),
        "strided": lambda b, h, q, k: (k <= q) & ((q - k < 1024) | (k % 128 == 127)),
        "document": lambda b, h, q, k: (k <= q) & (docs[q] == docs[k]),
    }


def main():
    sizes = [int(x) for x in sys.argv[1].split(",")] if len(sys.argv) > 1 else [16384, 32768]
    for s in sizes:
        torch.manual_seed(0)
        q, k, v = (torch.randn(1, H, s, D, device="cuda", dtype=torch.bfloat16) for _ in range(3))
        for name, backend in (("sdpa_cudnn", SDPBackend.CUDNN_ATTENTION),
                              ("sdpa_fa2", SDPBackend.FLASH_ATTENTION)):
            for case, causal in (("dense", False), ("causal", True)):
                try:
                    with sdpa_kernel(backend):
                        ms = median_ms(lambda: torch.nn.functional.scaled_dot_product_attention(
                            q, k, v, is_causal=causal))
                    print(json.dumps({"case": case, "system": name, "s": s, "ms": ms}), flush=True)
                except Exception as e:  # a backend may be missing
                    print(json.dumps({"case": case, "system": name, "s": s, "error": str(e)[:200]}),
                          flush=True)
        for case, mod in mask_mods(s).items():
            try:
                if mod is None:
                    ms = median_ms(lambda: flex(q, k, v))
                    build = 0.0
                else:
                    torch.cuda.synchronize()
                    t0 = time.perf_counter()
                    bm = create_block_mask(mod, 1, 1, s, s, device="cuda", _compile=True)
                    torch.cuda.synchronize()
                    build = (time.perf_counter() - t0) * 1e3
                    ms = median_ms(lambda: flex(q, k, v, block_mask=bm))
                print(json.dumps({"case": case, "system": "flex", "s": s, "ms": ms,
                                  "build_ms": build}), flush=True)
            except Exception as e:
                print(json.dumps({"case": case, "system": "flex", "s": s, "error": str(e)[:200]}),
                      flush=True)
        del q, k, v
        torch.cuda.empty_cache()


if __name__ == "__main__":
    main()
