"""The GPU call against torch SDPA with the same boolean mask (fp32 on the
GPU as the reference). Skipped without torch or a GPU; run on the lent
H100. The tolerance is twice the error of SDPA itself in the same
precision against that reference."""
import math

import numpy as np
import pytest

import maskjit

torch = pytest.importorskip("torch")
pytestmark = pytest.mark.skipif(not (torch.cuda.is_available() and maskjit.gpu_available()),
                                reason="no GPU")

DOC = np.repeat(np.arange(8), 125)[:1000]
CASES = [  # pattern, compile-time constants, runtime params
    ("causal", {}, {}),
    ("sliding_window", {"window": 100}, {}),
    ("a_shape", {"sink": 16, "window": 64}, {}),
    ("strided", {"stride": 32, "local": 64}, {}),
    ("document", {}, {"doc": DOC}),
    ("neighborhood_2d", {"width": 40, "radius": 3}, {}),
]


def reference(q, k, v, mask, dtype):
    """SDPA with a boolean mask in `dtype` (K/V heads repeated for GQA)."""
    rep = q.shape[1] // k.shape[1]
    k, v = (t.repeat_interleave(rep, dim=1) for t in (k, v))
    m = torch.as_tensor(mask, device=q.device)
    return torch.nn.functional.scaled_dot_product_attention(
        q.to(dtype), k.to(dtype), v.to(dtype), attn_mask=m).float()


@pytest.mark.parametrize("name,constants,params", CASES, ids=[c[0] for c in CASES])
@pytest.mark.parametrize("dtype", ["bf16", "fp16"])
@pytest.mark.parametrize("layout", ["bhsd", "bshd"])
def test_against_sdpa(name, constants, params, dtype, layout):
    tdtype = {"bf16": torch.bfloat16, "fp16": torch.float16}[dtype]
    kernel = maskjit.compile(name, dtype=dtype, **constants)
    b, h, kvh, s, d = 2, 8, 2, 1000, 128
    gen = torch.Generator(device="cuda").manual_seed(hash((name, dtype, layout)) % 2**31)
    q, k, v = (torch.randn(b, n, s, d, device="cuda", generator=gen)
               for n in (h, kvh, kvh))
    mask = kernel.pattern.mask(s, **constants, **params)
    want = reference(q, k, v, mask, torch.float32)
    same = reference(q, k, v, mask, tdtype)
    tol = 2 * (same - want).abs().max().item()
    args = [t.to(tdtype) for t in (q, k, v)]
    if layout == "bshd":  # BSHD views of the same data: strided, not copied
        args = [t.transpose(1, 2).contiguous().transpose(1, 2) for t in args]
        args = [t.transpose(1, 2) for t in args]
    out = torch.full_like(args[0], float("nan"))  # poisoned
    got = kernel(*args, layout=layout, out=out, **params)
    if layout == "bshd":
        got = got.transpose(1, 2)
    err = (got.float() - want).abs().max().item()
    assert err <= tol, f"{name}: max |O - ref| = {err}, tolerance {tol}"


def test_wrong_tensors_are_errors():
    kernel = maskjit.compile("causal")
    q = torch.randn(1, 4, 64, 128, device="cuda", dtype=torch.bfloat16)
    with pytest.raises(ValueError, match="compiled for"):
        kernel(q.half(), q.half(), q.half())
    with pytest.raises(ValueError, match="head_dim"):
        kernel(q[..., :64], q[..., :64], q[..., :64])
    with pytest.raises(ValueError, match="contiguous"):
        t = torch.randn(1, 4, 128, 64, device="cuda", dtype=torch.bfloat16).transpose(2, 3)
        kernel(t, t, t)
    with pytest.raises(ValueError, match="multiple"):
        kernel(q, q[:, :3], q[:, :3])
    with pytest.raises(ValueError, match="CUDA"):
        kernel(q.cpu(), q.cpu(), q.cpu())


def test_lse_and_scale():
    kernel = maskjit.compile("causal")
    q, k, v = (torch.randn(1, 4, 256, 128, device="cuda", dtype=torch.bfloat16) for _ in range(3))
    out, lse = kernel(q, k, v, scale=0.05, return_lse=True)
    s = (q.float() @ k.float().transpose(-1, -2)) * 0.05
    s = s.masked_fill(~torch.ones(256, 256, dtype=torch.bool, device="cuda").tril(), -math.inf)
    torch.testing.assert_close(lse, torch.logsumexp(s, -1), atol=2e-2, rtol=0)
    torch.testing.assert_close(out.float(), torch.softmax(s, -1) @ v.float(), atol=3e-2, rtol=0)


def _small_model(kernel):
    """Two attention layers around a projection, as a model calls them."""
    proj = torch.nn.Linear(128, 128, device="cuda", dtype=torch.bfloat16)

    def model(x, window):
        q = proj(x)
        y = kernel(q, x, x, window=window)
        return kernel(proj(y), y, y, window=window)
    return model


def test_custom_op_compiles_once_for_two_lengths_and_two_windows():
    kernel = maskjit.compile("pattern sw(window: runtime int) { causal and q - k < window }")
    model = _small_model(kernel)
    torch._dynamo.reset()
    torch._dynamo.utils.counters.clear()
    compiled = torch.compile(model, fullgraph=True, dynamic=True)
    frames = torch._dynamo.utils.counters["stats"]
    for s, w in ((512, 64), (768, 200)):
        x = torch.randn(1, 4, s, 128, device="cuda", dtype=torch.bfloat16)
        with torch.no_grad():
            got = compiled(x, w)
            want = model(x, w)
        assert torch.equal(got, want), f"S={s}: compiled and eager differ"
    assert frames["unique_graphs"] == 1, f"recompiled: {dict(frames)}"


def test_cuda_graph_replays():
    kernel = maskjit.compile("sliding_window", window=128)
    q, k, v = (torch.randn(1, 4, 1024, 128, device="cuda", dtype=torch.bfloat16)
               for _ in range(3))
    want = kernel(q, k, v)  # warm-up: compiled, schedule built, outside capture
    graph = torch.cuda.CUDAGraph()
    out = torch.full_like(q, float("nan"))
    with torch.cuda.graph(graph):
        kernel(q, k, v, out=out)
    for _ in range(2):
        out.fill_(float("nan"))
        graph.replay()
        torch.cuda.synchronize()
        assert torch.equal(out, want)
    q.copy_(torch.randn_like(q))  # new inputs in the same buffers
    graph.replay()
    assert torch.equal(out, kernel(q, k, v))


def test_a_kept_call_follows_new_tensors_and_params():
    """The second call of one signature reuses the checked call (and the
    K/V tensor maps while K/V stay): new tensors and new scalar values must
    still be the ones read."""
    kernel = maskjit.compile("pattern sw(window: runtime int) { causal and q - k < window }")
    s = 512
    mask = lambda w: kernel.pattern.mask(s, window=w)
    gen = torch.Generator(device="cuda").manual_seed(7)
    tensors = [[torch.randn(1, 4, s, 128, device="cuda", generator=gen) for _ in range(3)]
               for _ in range(2)]
    for (q, k, v), window in ((tensors[0], 64), (tensors[1], 64), (tensors[1], 200),
                              ((tensors[1][0], tensors[0][1], tensors[0][2]), 200)):
        want = reference(q, k, v, mask(window), torch.float32)
        tol = 2 * (reference(q, k, v, mask(window), torch.bfloat16) - want).abs().max().item()
        got = kernel(*(t.bfloat16() for t in (q, k, v)), window=window)
        err = (got.float() - want).abs().max().item()
        assert err <= tol, f"window {window}: max |O - ref| = {err}, tolerance {tol}"
