"""The GPU call: torch tensors to libmaskjit's attention launch.

Tensors pass as data pointers, shapes and element strides, on torch's
current CUDA stream; nothing here links against libtorch.
"""
import ctypes
import math

import torch

from . import _lib
from ._lib import lib as _c

_DTYPES = {"bf16": torch.bfloat16, "fp16": torch.float16}


def _check(name, t, dtype, head_dim, device):
    if not isinstance(t, torch.Tensor):
        raise TypeError(f"{name}: expected a torch.Tensor, not {type(t).__name__}")
    if t.dim() != 4:
        raise ValueError(f"{name}: expected 4 dimensions, got shape {tuple(t.shape)}")
    if t.dtype != dtype:
        raise ValueError(f"{name}: the kernel was compiled for {dtype}, got {t.dtype}")
    if t.device.type != "cuda" or (device is not None and t.device != device):
        raise ValueError(f"{name}: expected a tensor on {device or 'a CUDA device'}, "
                         f"got one on {t.device}")
    if t.shape[-1] != head_dim:
        raise ValueError(f"{name}: head_dim {t.shape[-1]}, the kernel's is {head_dim}")
    if t.stride(-1) != 1:
        raise ValueError(f"{name}: the last dimension must be contiguous "
                         f"(strides {t.stride()})")


def launch(kernel, q, k, v, scale, layout, return_lse, out, params):
    if layout not in ("bhsd", "bshd"):
        raise ValueError(f"layout must be 'bhsd' or 'bshd', not {layout!r}")
    dtype = _DTYPES[kernel.dtype]
    _check("q", q, dtype, kernel.head_dim, None)
    for name, t in (("k", k), ("v", v)):
        _check(name, t, dtype, kernel.head_dim, q.device)
    # (batch, seq, head) sizes and strides of a BHSD or BSHD tensor.
    bsh = (0, 2, 1) if layout == "bhsd" else (0, 1, 2)
    size = lambda t: [t.shape[i] for i in bsh]
    stride = lambda t: [t.stride(i) for i in bsh]
    b, lq, heads = size(q)
    kb, lk, kv_heads = size(k)
    if kb != b or size(v) != size(k):
        raise ValueError(f"k and v must have q's batch and one shape: q {tuple(q.shape)}, "
                         f"k {tuple(k.shape)}, v {tuple(v.shape)}")
    if kv_heads < 1 or heads % kv_heads:
        raise ValueError(f"{heads} query heads are not a multiple of {kv_heads} KV heads")
    if out is None:
        out = torch.empty_like(q)
    else:
        _check("out", out, dtype, kernel.head_dim, q.device)
        if out.shape != q.shape:
            raise ValueError(f"out: shape {tuple(out.shape)}, q's is {tuple(q.shape)}")
    # The kernels always write the LSE (fp32, [batch, heads, lq]).
    lse = torch.empty((b, heads, lq), device=q.device, dtype=torch.float32)
    arr, n, _keep = _lib.params(params)
    call = _lib.AttentionCall()
    call.batch, call.heads, call.kv_heads, call.lq, call.lk = b, heads, kv_heads, lq, lk
    call.q, call.k, call.v, call.o = q.data_ptr(), k.data_ptr(), v.data_ptr(), out.data_ptr()
    call.lse = lse.data_ptr()
    for field, t in (("q_strides", q), ("k_strides", k), ("v_strides", v),
                     ("o_strides", out)):
        getattr(call, field)[:] = stride(t)
    call.softmax_scale = float(scale) if scale else 0.0
    call.params, call.n_params = arr, n
    with torch.cuda.device(q.device):
        call.stream = ctypes.c_void_p(torch.cuda.current_stream().cuda_stream)
        if _c.mj_kernel_launch(kernel._h, ctypes.byref(call)):
            from . import _fail
            raise _fail()
    return (out, lse) if return_lse else out
