"""Gradients through the op against torch autograd of SDPA with the same
boolean mask in fp32 on the GPU. The tolerance of each gradient is twice
the error of SDPA's own backward in the same precision against that
reference. Skipped without torch or a GPU; run on the lent H100."""
import numpy as np
import pytest

import maskjit

torch = pytest.importorskip("torch")
pytestmark = pytest.mark.skipif(not (torch.cuda.is_available() and maskjit.gpu_available()),
                                reason="no GPU")

CASES = [  # pattern, compile-time constants, runtime params (by Lk)
    ("causal", {}, lambda n: {}),
    ("sliding_window", {"window": 100}, lambda n: {}),
    ("a_shape", {"sink": 16, "window": 64}, lambda n: {}),
    ("strided", {"stride": 32, "local": 64}, lambda n: {}),
    ("document", {}, lambda n: {"doc": np.arange(n) // 125}),
    ("neighborhood_2d", {"width": 40, "radius": 3}, lambda n: {}),
]
SHAPES = [  # batch, heads, kv heads, Lq, Lk
    (2, 8, 2, 1000, 1000),
    (2, 8, 2, 300, 1000),
]


def sdpa_grads(q, k, v, dout, mask, dtype):
    """O and dQ, dK, dV of SDPA with a boolean mask, in `dtype` (K/V heads
    repeated for GQA: their gradients sum over the group)."""
    q, k, v = (t.detach().to(dtype).requires_grad_() for t in (q, k, v))
    rep = q.shape[1] // k.shape[1]
    kr, vr = (t.repeat_interleave(rep, dim=1) for t in (k, v))
    m = torch.as_tensor(mask, device=q.device)
    out = torch.nn.functional.scaled_dot_product_attention(q, kr, vr, attn_mask=m)
    out.backward(dout.to(dtype))
    return [t.float() for t in (out, q.grad, k.grad, v.grad)]


def check(kernel, mask, shape, dtype, head_dim, layout="bhsd", seed=0, **params):
    b, h, kvh, lq, lk = shape
    assert mask.any(1).all(), "SDPA's reference is NaN on rows without keys"
    tdtype = {"bf16": torch.bfloat16, "fp16": torch.float16}[dtype]
    gen = torch.Generator(device="cuda").manual_seed(seed)
    q = torch.randn(b, h, lq, head_dim, device="cuda", generator=gen)
    k, v = (torch.randn(b, kvh, lk, head_dim, device="cuda", generator=gen) for _ in range(2))
    dout = torch.randn(b, h, lq, head_dim, device="cuda", generator=gen)
    want = sdpa_grads(q, k, v, dout, mask, torch.float32)
    same = sdpa_grads(q, k, v, dout, mask, tdtype)
    args = [t.to(tdtype) for t in (q, k, v)]
    if layout == "bshd":
        args = [t.transpose(1, 2).contiguous() for t in args]
    args = [t.requires_grad_() for t in args]
    out = kernel(*args, layout=layout, **params)
    g = dout.to(tdtype)
    out.backward(g.transpose(1, 2) if layout == "bshd" else g)
    got = [out] + [t.grad for t in args]
    if layout == "bshd":
        got = [t.transpose(1, 2) for t in got]
    for name, x, ref, peer in zip(("O", "dQ", "dK", "dV"), got, want, same):
        assert torch.isfinite(x).all(), f"{name} has NaN or inf"
        tol = 2 * (peer - ref).abs().max().item()
        err = (x.float() - ref).abs().max().item()
        assert err <= tol, f"{name}: max |got - ref| = {err}, tolerance {tol}"


@pytest.mark.parametrize("name,constants,params", CASES, ids=[c[0] for c in CASES])
@pytest.mark.parametrize("dtype", ["bf16", "fp16"])
@pytest.mark.parametrize("head_dim", [64, 128])
@pytest.mark.parametrize("shape", SHAPES, ids=["1000", "300x1000"])
def test_gradients_against_sdpa(name, constants, params, dtype, head_dim, shape):
    kernel = maskjit.compile(name, dtype=dtype, head_dim=head_dim, **constants)
    p = params(shape[4])
    mask = kernel.pattern.mask(shape[3], shape[4], **constants, **p)
    check(kernel, mask, shape, dtype, head_dim, seed=hash((name, dtype, head_dim)) % 2**31,
          **p)


@pytest.mark.parametrize("name", ["causal", "document"])
def test_gradients_at_4096(name):
    constants, params = {c[0]: c for c in CASES}[name][1:]
    kernel = maskjit.compile(name, **constants)
    p = params(4096)
    mask = kernel.pattern.mask(4096, **constants, **p)
    check(kernel, mask, (1, 4, 2, 4096, 4096), "bf16", 128, **p)


def test_bshd_and_the_portable_forward():
    kernel = maskjit.compile("sliding_window", kernel="portable", window=200)
    mask = kernel.pattern.mask(1000, window=200)
    check(kernel, mask, SHAPES[0], "bf16", 128, layout="bshd")


def test_fully_masked_rows_get_zero_gradients():
    # Queries 0-199 see no key: their O and gradients are 0, never NaN.
    kernel = maskjit.compile("pattern late() { k <= q - 200 }")
    q, k, v = (torch.randn(1, 2, 512, 128, device="cuda", dtype=torch.bfloat16,
                           requires_grad=True) for _ in range(3))
    out = kernel(q, k, v)
    dout = torch.randn_like(out)
    out.backward(dout)
    for t in (out, q.grad, k.grad, v.grad):
        assert torch.isfinite(t).all()
    assert out[:, :, :200].abs().max() == 0
    assert q.grad[:, :, :200].abs().max() == 0
    # Keys past 311 are seen by no query: zero dK and dV.
    assert k.grad[:, :, 312:].abs().max() == 0 and v.grad[:, :, 312:].abs().max() == 0
    # The rest against SDPA on the rows that see keys.
    mask = kernel.pattern.mask(512)
    rows = slice(200, None)
    qr = q.detach()[:, :, rows].float().requires_grad_()
    kr, vr = (t.detach().float().requires_grad_() for t in (k, v))
    ref = torch.nn.functional.scaled_dot_product_attention(
        qr, kr, vr, attn_mask=torch.as_tensor(mask[rows], device="cuda"))
    ref.backward(dout[:, :, rows].float())
    assert (q.grad[:, :, rows].float() - qr.grad).abs().max() < 0.05
    assert (k.grad.float() - kr.grad).abs().max() < 0.05


def test_compiled_training_step():
    """torch.compile(fullgraph=True) of a forward and backward through the
    op: one graph, gradients equal to eager."""
    kernel = maskjit.compile("sliding_window", window=64)

    def loss(q, k, v):
        return (kernel(q, k, v).float() ** 2).sum()

    q, k, v = (torch.randn(1, 4, 512, 128, device="cuda", dtype=torch.bfloat16,
                           requires_grad=True) for _ in range(3))
    loss(q, k, v).backward()
    eager = [t.grad.clone() for t in (q, k, v)]
    for t in (q, k, v):
        t.grad = None
    torch._dynamo.reset()
    compiled = torch.compile(loss, fullgraph=True)
    compiled(q, k, v).backward()
    # (dQ sums over key tiles in atomics: equal up to the order of sums.)
    for a, b in zip(eager, (q.grad, k.grad, v.grad)):
        torch.testing.assert_close(b, a, rtol=1e-2, atol=1e-2 * a.abs().max().item())


def test_lse_is_not_differentiable():
    kernel = maskjit.compile("causal")
    q = torch.randn(1, 2, 128, 128, device="cuda", dtype=torch.bfloat16, requires_grad=True)
    out, lse = kernel(q, q.detach(), q.detach(), return_lse=True)
    assert not lse.requires_grad
    out.float().sum().backward()
    assert torch.isfinite(q.grad).all()
