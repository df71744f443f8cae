"""maskjit: attention masks written in a small language, compiled to
block-sparse FlashAttention-style kernels.

    import maskjit
    kernel = maskjit.compile("pattern sw(window: int) { causal and q - k < window }",
                             window=4096)
    kernel.block_map(8192, 8192)        # numpy array: 0 empty, 1 partial, 2 full
    out = kernel(q, k, v)               # torch tensors on the GPU, BHSD

Patterns come from a string or a `.mask` file; compile-time params are
keyword arguments of compile(), runtime params (and arrays) of the call.
Errors in a pattern raise MaskError with the compiler's diagnostic.
"""
import ctypes
import itertools
import math
import os
import weakref

import numpy as np

from . import _lib
from ._lib import lib as _c

__all__ = ["MaskError", "Pattern", "Kernel", "compile", "attention", "show",
           "gpu_available", "nvrtc_available", "PATTERNS"]

_HERE = os.path.dirname(os.path.abspath(__file__))
# The shipped patterns: installed beside the package, or a checkout's.
_SHIPPED = next((d for d in (os.path.join(_HERE, "patterns"),
                             os.path.join(_HERE, "..", "..", "examples", "patterns"))
                 if os.path.isdir(d)), "")


class MaskError(Exception):
    """A pattern that does not check or compile; str() is the diagnostic."""


def _fail(default=RuntimeError):
    kind = _c.mj_last_error_kind()
    msg = _c.mj_last_error().decode(errors="replace")
    if kind == _lib.MJ_ERROR_MASK:
        return MaskError(msg)
    if kind == _lib.MJ_ERROR_ARGUMENT:
        return ValueError(msg)
    return default(msg)


def _plain(values):
    """Param values as ints or contiguous int64 numpy arrays (from lists,
    numpy arrays, or torch tensors on any device: a GPU tensor is copied
    to the host, which waits for it)."""
    out = {}
    for name, v in values.items():
        if name.startswith("@"):  # chosen sets (_lib.sets checks them)
            out[name] = v.detach().cpu().numpy() if hasattr(v, "detach") else v
            continue
        if hasattr(v, "detach"):  # a torch tensor
            v = v.detach()
            if v.dim() == 0:
                v = v.item()
            else:
                v = v.cpu().numpy()
        if isinstance(v, (list, tuple, np.ndarray)):
            a = np.asarray(v)
            if a.size == 0:
                a = a.astype(np.int64)
            if a.ndim != 1 or a.dtype.kind not in "iub":
                raise TypeError(f"param `{name}`: expected a 1-D sequence of ints, got "
                                f"{a.ndim}-D {a.dtype} values")
            out[name] = np.ascontiguousarray(a, dtype=np.int64)
            continue
        if isinstance(v, bool) or not hasattr(v, "__index__"):
            raise TypeError(f"param `{name}`: expected an int or a sequence of ints, "
                            f"not {type(v).__name__}")
        out[name] = int(v)
    return out


def _shipped():
    if not os.path.isdir(_SHIPPED):
        return []
    return sorted(f[:-5] for f in os.listdir(_SHIPPED) if f.endswith(".mask"))


PATTERNS = _shipped()


class Pattern:
    """A checked pattern: from source text, a `.mask` path, or the name of
    a shipped pattern (maskjit.PATTERNS)."""

    def __init__(self, source, pattern=None):
        if isinstance(source, os.PathLike):
            source = os.fspath(source)
        if not isinstance(source, str):
            raise TypeError("a pattern is source text, a .mask path or a shipped "
                            f"pattern's name, not {type(source).__name__}")
        name = pattern.encode() if pattern else None
        if os.path.exists(source) or source.endswith(".mask"):
            h = _c.mj_pattern_from_file(os.fsencode(source), name)
        elif source in PATTERNS:
            h = _c.mj_pattern_from_file(
                os.fsencode(os.path.join(_SHIPPED, source + ".mask")), name)
        else:
            h = _c.mj_pattern_from_string(source.encode(), name, b"<string>")
        if not h:
            raise _fail()
        self._h = h

    def __del__(self):
        if getattr(self, "_h", None):
            _c.mj_pattern_free(self._h)
            self._h = None

    @property
    def name(self):
        return _c.mj_pattern_name(self._h).decode()

    def block_map(self, lq, lk=None, tile=(128, 128), head=0, batch=0, **params):
        """The reference tile map: an int8 array [query tiles, key tiles],
        0 where no pair is allowed, 1 where some are, 2 where all are."""
        lk = lq if lk is None else lk
        tq, tk = tile
        if tq < 1 or tk < 1 or lq < 1 or lk < 1:
            raise ValueError(f"block_map: lengths and tiles must be positive "
                             f"(lq={lq}, lk={lk}, tile={tile})")
        rows, cols = -(-lq // tq), -(-lk // tk)
        out = np.zeros((rows, cols), dtype=np.uint8)
        arr, n, _keep = _lib.params(_plain(params))
        if _c.mj_pattern_block_map(self._h, lq, lk, tq, tk, arr, n, head, batch,
                                   out.ctypes.data, out.size):
            raise _fail()
        return out

    def mask(self, lq, lk=None, head=0, batch=0, **params):
        """The reference mask as a bool array [lq, lk] (small shapes)."""
        lk = lq if lk is None else lk
        if lq < 1 or lk < 1 or lq * lk > (1 << 28):
            raise ValueError(f"mask: {lq} x {lk} pairs (the dense reference "
                             "takes 1 to 2^28)")
        out = np.zeros((lq, lk), dtype=np.uint8)
        arr, n, _keep = _lib.params(_plain(params))
        if _c.mj_pattern_mask(self._h, lq, lk, arr, n, head, batch,
                              out.ctypes.data, out.size):
            raise _fail()
        return out.astype(bool)


# Kernels by the id the custom op names them with (_op.py).
_BY_ID = weakref.WeakValueDictionary()
_IDS = itertools.count(1)


class Kernel:
    """A compiled attention kernel. Calling it needs a GPU; compiling only
    NVRTC."""

    def __init__(self, pattern, head_dim=128, dtype="bf16", arch=None,
                 kernel="auto", cache=True, **constants):
        if dtype not in ("bf16", "fp16"):
            raise ValueError(f"dtype must be 'bf16' or 'fp16', not {dtype!r}")
        self.pattern = pattern
        self.constants = _plain(constants)
        self.head_dim, self.dtype = head_dim, dtype
        arr, n, _keep = _lib.params(self.constants)
        opts = _lib.CompileOptions(head_dim, dtype.encode(),
                                   arch.encode() if arch else None,
                                   kernel.encode(), arr, n, 1 if cache else 0)
        h = _c.mj_kernel_compile(pattern._h, ctypes.byref(opts))
        if not h:
            raise _fail()
        self._h = h
        self._plans = {}  # checked calls by signature (_torch.py)
        self._op_id = next(_IDS)
        _BY_ID[self._op_id] = self

    def __del__(self):
        if getattr(self, "_h", None):
            _c.mj_kernel_free(self._h)
            self._h = None

    @property
    def family(self):
        return _c.mj_kernel_family(self._h).decode()

    @property
    def cuda_source(self):
        return _c.mj_kernel_cuda_source(self._h).decode()

    @property
    def ptx(self):
        return _c.mj_kernel_ptx(self._h).decode()

    @property
    def cache_key(self):
        return _c.mj_kernel_cache_key(self._h).decode()

    def block_map(self, lq, lk=None, tile=(128, 128), head=0, batch=0, **params):
        """The reference tile map under the kernel's constants and `params`."""
        return self.pattern.block_map(lq, lk, tile, head, batch,
                                      **{**self.constants, **params})

    def estimated_sets(self):
        """The sets the last call estimated on the GPU, one dict per head
        (per sequence and head, b * heads + h, for a batch) of "columns",
        "diagonals" and "blocks" as int64 numpy arrays (blocks a list of
        arrays, one per query block); [] when the call was given them. Pass
        one back (e.g. columns=sets[h]["columns"]) to reuse it."""
        import json
        text = _c.mj_kernel_estimated_sets(self._h)
        if text is None:
            raise _fail()
        return [{"columns": np.asarray(h["columns"], dtype=np.int64),
                 "diagonals": np.asarray(h["diagonals"], dtype=np.int64),
                 "blocks": [np.asarray(b, dtype=np.int64) for b in h["blocks"]]}
                for h in json.loads(text)]

    def remarks(self, lq, lk=None, head=0, **params):
        """How the kernel's tiles are decided for one shape, in the
        compiler's voice: a list of (where, message), where being
        "file:line:col" of the sub-expression or "" (CPU, no GPU)."""
        lk = lq if lk is None else lk
        arr, n, _keep = _lib.params(_plain(params))
        text = _c.mj_kernel_schedule_remarks(self._h, lq, lk, arr, n, head)
        if text is None:
            raise _fail()
        return [tuple(line.split("\t", 1)) for line in text.decode().splitlines()]

    def __call__(self, q, k, v, *, scale=None, layout="bhsd", return_lse=False,
                 out=None, columns=None, diagonals=None, blocks=None, **params):
        """Attention of torch tensors on the GPU. `layout` "bhsd" (as SDPA
        and FlexAttention) or "bshd"; any strides with a contiguous last
        dimension; K and V may have fewer heads (GQA). Runtime params and
        arrays are keyword arguments. A dynamic pattern's sets: `columns`
        (key indices), `diagonals` (values of q - k), `blocks` (key blocks
        per query block; negative entries pad) as tensors, arrays or lists,
        one set for all heads or one per head on a first axis; without
        them the call estimates them on the GPU (see estimated_sets())."""
        torch, launch = _gpu_call()
        for key, value in (("@columns", columns), ("@diagonals", diagonals),
                           ("@blocks", blocks)):
            if value is not None:
                params[key] = value
        if torch.compiler.is_compiling() or (torch.is_grad_enabled() and (
                getattr(q, "requires_grad", False) or getattr(k, "requires_grad", False)
                or getattr(v, "requires_grad", False))):
            # Through the custom op: traced by torch.compile without a graph
            # break, and autograd through its registered backward.
            from ._op import call
            result, lse = call(self, q, k, v, scale, layout, params)
            if out is not None:
                out.copy_(result)
                result = out
            return (result, lse) if return_lse else result
        return launch(self, q, k, v, scale, layout, return_lse, out,
                      _plain(params) if params else params)


_GPU_CALL = None


def _gpu_call():
    """torch and the launch, imported on the first GPU call (the package
    itself works without torch)."""
    global _GPU_CALL
    if _GPU_CALL is None:
        import torch
        from ._torch import launch
        _GPU_CALL = (torch, launch)
    return _GPU_CALL


def compile(source, pattern=None, **kwargs):
    """Checks and compiles a pattern (source text, a `.mask` path, or a
    shipped pattern's name); compile-time params as keyword arguments, and
    head_dim, dtype, arch, kernel, cache. Raises MaskError on a bad pattern."""
    options = {k: kwargs.pop(k) for k in ("head_dim", "dtype", "arch", "kernel", "cache")
               if k in kwargs}
    return Kernel(Pattern(source, pattern), **options, **kwargs)


_KERNELS = {}


def attention(q, k, v, mask="causal", *, pattern=None, scale=None, layout="bhsd",
              return_lse=False, constants=None, **params):
    """One call: attention of torch tensors under `mask` (a shipped
    pattern's name, source text or a `.mask` path). `constants` are the
    compile-time params (a dict); the other keyword arguments the runtime
    ones. The kernel is compiled once per (mask, constants, head_dim,
    dtype) and kept."""
    import torch
    dtype = {torch.bfloat16: "bf16", torch.float16: "fp16"}.get(q.dtype)
    if dtype is None:
        raise ValueError(f"q: dtype {q.dtype}; maskjit runs bfloat16 and float16")
    constants = dict(constants or {})
    key = (mask, pattern, tuple(sorted(constants.items())), q.shape[-1], dtype)
    kernel = _KERNELS.get(key)
    if kernel is None:
        kernel = _KERNELS[key] = compile(mask, pattern, head_dim=q.shape[-1], dtype=dtype,
                                         **constants)
    return kernel(q, k, v, scale=scale, layout=layout, return_lse=return_lse, **params)


def show(kernel_or_pattern, lq, lk=None, tile=(128, 128), ax=None, **params):
    """A matplotlib picture of the tile map (full tiles dark, partial ones
    lighter, skipped ones white); returns the figure."""
    import matplotlib
    import matplotlib.pyplot as plt
    m = kernel_or_pattern.block_map(lq, lk, tile, **params)
    if ax is None:
        fig, ax = plt.subplots(figsize=(5, 5 * m.shape[0] / max(m.shape[1], 1) + 0.5))
    else:
        fig = ax.figure
    cmap = matplotlib.colors.ListedColormap(["white", "#7fa7d9", "#1f4e8c"])
    ax.imshow(m, cmap=cmap, vmin=0, vmax=2, interpolation="nearest")
    name = kernel_or_pattern.pattern.name if isinstance(kernel_or_pattern, Kernel) \
        else kernel_or_pattern.name
    visited = int((m > 0).sum())
    ax.set_title(f"{name}: {visited} of {m.size} tiles visited "
                 f"({int((m == 2).sum())} full), {tile[0]}x{tile[1]}")
    ax.set_xlabel("key tile")
    ax.set_ylabel("query tile")
    return fig


def gpu_available():
    return bool(_c.mj_gpu_available())


def nvrtc_available():
    return bool(_c.mj_nvrtc_available())
