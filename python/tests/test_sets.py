"""Dynamic patterns from Python: sets given as tensors (one for all heads,
or one per head) against SDPA with the mask they make, the sets a call
estimated read back and given again, and gradients under given sets.
Skipped without torch or a GPU; run on the lent H100."""
import numpy as np
import pytest

import maskjit

torch = pytest.importorskip("torch")
pytestmark = pytest.mark.skipif(not (torch.cuda.is_available() and maskjit.gpu_available()),
                                reason="no GPU")

from test_backward import check  # noqa: E402

S = 1000
RNG = np.random.default_rng(3)


def vertical_slash_mask(columns, diagonals):
    q, k = np.arange(S)[:, None], np.arange(S)[None, :]
    return (k <= q) & (np.isin(k, columns) | np.isin(q - k, diagonals))


def inputs(h=4, kvh=2, dtype=torch.bfloat16):
    gen = torch.Generator(device="cuda").manual_seed(7)
    return [torch.randn(1, n, S, 128, device="cuda", generator=gen).to(dtype)
            for n in (h, kvh, kvh)]


def sdpa(q, k, v, mask, dtype=torch.float32):
    rep = q.shape[1] // k.shape[1]
    k, v = (t.repeat_interleave(rep, dim=1) for t in (k, v))
    m = torch.as_tensor(mask, device="cuda")
    return torch.nn.functional.scaled_dot_product_attention(
        q.to(dtype), k.to(dtype), v.to(dtype), attn_mask=m).float()


def assert_close(got, q, k, v, mask):
    """Within twice the error of SDPA in the inputs' dtype against fp32."""
    want = sdpa(q, k, v, mask)
    tol = 2 * (sdpa(q, k, v, mask, q.dtype) - want).abs().max().item()
    err = (got.float() - want).abs().max().item()
    assert err <= tol, f"max |O - ref| = {err}, tolerance {tol}"


def test_given_sets_for_all_heads_and_per_head():
    kernel = maskjit.compile("vertical_slash")
    q, k, v = inputs()
    cols = np.sort(RNG.choice(S, 40, replace=False))
    diags = np.array([0, 1, 2, 5, 64, 300])
    got = kernel(q, k, v, columns=torch.as_tensor(cols), diagonals=diags)
    assert_close(got, q, k, v, vertical_slash_mask(cols, diags))
    # One set per head: each head under its own mask.
    per_cols = np.stack([np.sort(RNG.choice(S, 40, replace=False)) for _ in range(4)])
    per_diags = np.stack([diags + h for h in range(4)])
    got = kernel(q, k, v, columns=per_cols, diagonals=per_diags)
    for h in range(4):
        assert_close(got[:, h:h + 1], q[:, h:h + 1], k[:, h // 2:h // 2 + 1],
                     v[:, h // 2:h // 2 + 1], vertical_slash_mask(per_cols[h], per_diags[h]))


def test_estimated_sets_read_back_and_given_again():
    kernel = maskjit.compile("vertical_slash", vertical=40, slash=8)
    q, k, v = inputs()
    first = kernel(q, k, v)
    sets = kernel.estimated_sets()
    assert len(sets) == 4 and all(len(s["columns"]) == 40 for s in sets)
    again = kernel(q, k, v, columns=np.stack([s["columns"] for s in sets]),
                   diagonals=np.stack([s["diagonals"] for s in sets]))
    assert kernel.estimated_sets() == []
    assert torch.equal(first, again)


def test_given_blocks():
    kernel = maskjit.compile("block_topk", keep=3)
    q, k, v = inputs()
    nb = (S + 63) // 64
    blocks = np.full((nb, 3), -1)
    for i in range(nb):
        chosen = RNG.choice(i + 1, min(3, i + 1), replace=False)
        blocks[i, :len(chosen)] = chosen
    got = kernel(q, k, v, blocks=blocks)
    qq, kk = np.arange(S)[:, None], np.arange(S)[None, :]
    allowed = np.zeros((S, S), dtype=bool)
    for i in range(nb):
        for b in blocks[i][blocks[i] >= 0]:
            allowed[i * 64:(i + 1) * 64, b * 64:(b + 1) * 64] = True
    assert_close(got, q, k, v, (kk <= qq) & allowed)


def test_gradients_under_given_sets():
    kernel = maskjit.compile("vertical_slash")
    cols = np.sort(RNG.choice(S, 60, replace=False))
    diags = np.array([0, 1, 3, 17, 200])
    mask = vertical_slash_mask(cols, diags)
    check(kernel, mask, (1, 4, 2, S, S), "bf16", 128, columns=cols, diagonals=diags)
