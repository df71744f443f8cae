"""The package without a GPU: patterns, diagnostics, reference masks and
tile maps (against numpy formulas written here, not maskjit's evaluator),
compiling through NVRTC, and argument errors."""
import os

import numpy as np
import pytest

import maskjit

SLIDING = "pattern sw(window: int) { causal and q - k < window }"


def tiles_of(mask, tq, tk):
    """Tile classes of a dense boolean mask: 0 none, 1 some, 2 all."""
    lq, lk = mask.shape
    rows, cols = -(-lq // tq), -(-lk // tk)
    out = np.zeros((rows, cols), dtype=np.uint8)
    for r in range(rows):
        for c in range(cols):
            t = mask[r * tq:(r + 1) * tq, c * tk:(c + 1) * tk]
            out[r, c] = 2 if t.all() else (1 if t.any() else 0)
    return out


def test_shipped_patterns_are_listed_and_load():
    assert {"causal", "sliding_window", "document", "neighborhood_2d"} <= set(maskjit.PATTERNS)
    for name in maskjit.PATTERNS:
        assert maskjit.Pattern(name).name


@pytest.mark.parametrize("lq,lk", [(300, 300), (200, 517), (517, 200)])
def test_sliding_window_mask_and_tiles(lq, lk):
    p = maskjit.Pattern(SLIDING)
    q = np.arange(lq)[:, None]
    k = np.arange(lk)[None, :]
    # `causal` is bottom-right aligned, as FlashAttention's.
    want = (k <= q + (lk - lq)) & (q - k < 77)
    np.testing.assert_array_equal(p.mask(lq, lk, window=77), want)
    for tile in [(64, 64), (128, 64), (32, 128)]:
        np.testing.assert_array_equal(p.block_map(lq, lk, tile, window=77),
                                      tiles_of(want, *tile))


def test_documents_from_numpy_and_lists():
    rng = np.random.default_rng(7)
    doc = np.sort(rng.integers(0, 5, size=400))
    p = maskjit.Pattern("document")
    q = np.arange(400)[:, None]
    k = np.arange(400)[None, :]
    want = (k <= q) & (doc[:, None] == doc[None, :])
    np.testing.assert_array_equal(p.mask(400, doc=doc), want)
    np.testing.assert_array_equal(p.block_map(400, tile=(64, 64), doc=doc.tolist()),
                                  tiles_of(want, 64, 64))


def test_neighbourhood_tiles():
    w, r = 24, 3
    src = f"""pattern nb(width: int, radius: int) {{
      abs(q / width - k / width) <= radius and abs(q % width - k % width) <= radius
    }}"""
    p = maskjit.Pattern(src)
    n = w * 20
    q = np.arange(n)[:, None]
    k = np.arange(n)[None, :]
    want = (np.abs(q // w - k // w) <= r) & (np.abs(q % w - k % w) <= r)
    np.testing.assert_array_equal(p.block_map(n, tile=(64, 64), width=w, radius=r),
                                  tiles_of(want, 64, 64))


def test_a_bad_pattern_raises_mask_error_with_the_diagnostic():
    with pytest.raises(maskjit.MaskError) as e:
        maskjit.Pattern("pattern x { q - }")
    text = str(e.value)
    assert "<string>:1:" in text and "error" in text and "^" in text
    with pytest.raises(maskjit.MaskError, match="no pattern named"):
        maskjit.Pattern(SLIDING, pattern="other")
    with pytest.raises(maskjit.MaskError):
        maskjit.Pattern("/nonexistent/dir/x.mask")


def test_a_mask_file_by_path(tmp_path):
    f = tmp_path / "w.mask"
    f.write_text(SLIDING + "\n")
    assert maskjit.Pattern(f).name == "sw"  # a pathlib.Path
    with pytest.raises(TypeError, match="pattern"):
        maskjit.Pattern(42)


def test_argument_errors_are_exceptions():
    p = maskjit.Pattern("document")
    with pytest.raises(ValueError, match="out of range"):
        p.mask(6, doc=[0, 1])
    with pytest.raises(ValueError, match="doc"):
        p.mask(6)  # the array is missing
    with pytest.raises(ValueError, match="positive"):
        p.block_map(0, doc=[0])
    with pytest.raises(ValueError, match="positive"):
        p.block_map(8, tile=(0, 64), doc=[0] * 8)
    with pytest.raises(TypeError, match="window"):
        maskjit.Pattern(SLIDING).mask(8, window="wide")
    with pytest.raises(ValueError, match="2\\^28"):
        maskjit.Pattern(SLIDING).mask(1 << 15, 1 << 15, window=4)
    with pytest.raises(ValueError, match="dtype"):
        maskjit.compile(SLIDING, window=4, dtype="fp32", arch="sm_90a")


def test_array_params_from_numpy_lists_and_their_errors():
    p = maskjit.Pattern("document")
    doc = np.repeat(np.arange(4, dtype=np.int32), 8)  # converted, not refused
    want = doc[:, None] == doc[None, :]
    want &= np.tril(np.ones((32, 32), dtype=bool))
    np.testing.assert_array_equal(p.mask(32, doc=doc), want)
    np.testing.assert_array_equal(p.mask(32, doc=doc.tolist()), want)
    np.testing.assert_array_equal(p.mask(32, doc=tuple(doc.tolist())), want)
    with pytest.raises(TypeError, match="1-D sequence of ints"):
        p.mask(32, doc=doc.astype(np.float32))
    with pytest.raises(TypeError, match="1-D sequence of ints"):
        p.mask(32, doc=doc.reshape(4, 8))
    with pytest.raises(TypeError, match="1-D sequence of ints"):
        p.mask(32, doc=["a"] * 32)


def test_a_missing_nvrtc_is_a_runtime_error_naming_it():
    # In a fresh process: NVRTC is loaded once per process.
    import subprocess
    import sys
    code = ("import maskjit\n"
            "try:\n"
            "    maskjit.compile('causal', arch='sm_90a')\n"
            "except RuntimeError as e:\n"
            "    print(type(e).__name__, e)\n")
    env = dict(os.environ, MASKJIT_NVRTC="/nonexistent/libnvrtc.so.13")
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True,
                         text=True, cwd=os.path.dirname(os.path.dirname(maskjit.__file__)))
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith("RuntimeError MASKJIT_NVRTC=/nonexistent/libnvrtc.so.13"), \
        out.stdout


needs_nvrtc = pytest.mark.skipif(not maskjit.nvrtc_available(), reason="NVRTC not installed")


@needs_nvrtc
@pytest.mark.parametrize("arch,family", [("sm_90a", "hopper"), ("sm_80", "portable")])
def test_compile_through_nvrtc(arch, family):
    k = maskjit.compile(SLIDING, window=256, arch=arch, cache=False)
    assert k.family == family
    assert ".entry maskjit_attention_fwd" in k.ptx
    np.testing.assert_array_equal(k.block_map(512), maskjit.Pattern(SLIDING).block_map(512, window=256))
    # The same source and target: the same cache key; another window: another.
    assert maskjit.compile(SLIDING, window=256, arch=arch).cache_key == k.cache_key
    assert maskjit.compile(SLIDING, window=128, arch=arch).cache_key != k.cache_key


@needs_nvrtc
def test_compile_errors():
    with pytest.raises(maskjit.MaskError, match="window"):
        maskjit.compile(SLIDING, arch="sm_90a")  # no value for `window`
    with pytest.raises(maskjit.MaskError, match="head_dim"):
        maskjit.compile(SLIDING, window=4, arch="sm_80", head_dim=96)


@pytest.mark.skipif(maskjit.gpu_available(), reason="a GPU is here")
def test_compile_without_a_gpu_asks_for_the_architecture():
    with pytest.raises(ValueError, match="architecture"):
        maskjit.compile(SLIDING, window=4)


def test_show_draws_the_tile_map(tmp_path):
    pytest.importorskip("matplotlib")
    import matplotlib
    matplotlib.use("Agg")
    fig = maskjit.show(maskjit.Pattern(SLIDING), 1024, window=300)
    assert "sw: " in fig.axes[0].get_title() and "of 64 tiles" in fig.axes[0].get_title()
    out = tmp_path / "sw.png"
    fig.savefig(out)
    assert out.read_bytes()[:4] == b"\x89PNG"


@needs_nvrtc
def test_remarks_name_the_tiers():
    kernel = maskjit.compile("neighborhood_2d", arch="sm_90a", width=64, radius=3)
    remarks = kernel.remarks(4096)
    assert all(isinstance(w, str) and isinstance(m, str) for w, m in remarks)
    assert any("the kernel visits" in m for _, m in remarks), remarks
    with pytest.raises(ValueError, match="positive"):
        kernel.remarks(0)


def test_sets_are_checked_before_a_launch():
    from maskjit import _lib
    s, keep = _lib.sets({"@columns": [[1, 2], [3, 4]], "@diagonals": [[0], [5]]}, heads=2)
    assert (s.n_sets, s.n_columns, s.n_diagonals) == (2, 2, 1)
    s, keep = _lib.sets({"@blocks": [[0, 1], [1, -1]]}, heads=4)
    assert (s.n_sets, s.block_rows, s.block_keep) == (1, 2, 2)
    with pytest.raises(ValueError, match="3 sets for 2 heads"):
        _lib.sets({"@columns": [[1], [2], [3]]}, heads=2)
    with pytest.raises(ValueError, match="dimensions"):
        _lib.sets({"@columns": [[[1]]]}, heads=1)
    with pytest.raises(ValueError, match="all for all heads, or all per head"):
        _lib.sets({"@columns": [1, 2], "@diagonals": [[0], [1]]}, heads=2)
