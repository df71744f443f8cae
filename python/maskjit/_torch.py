"""The GPU call: torch tensors to libmaskjit's attention launch.

Tensors pass as data pointers, shapes and element strides, on torch's
current CUDA stream; nothing here links against libtorch.

A call is checked once per signature (layout, scale, the tensors' shapes,
strides, dtypes and devices, the scalar runtime params): the checked
call's C struct is kept in a small per-kernel table, and a repeated call
only sets the data pointers and the stream before the launch. That keeps
the host's cost of a cached call near torch's own launch cost.
"""
import ctypes

import torch

from . import _lib
from ._lib import lib as _c

_DTYPES = {"bf16": torch.bfloat16, "fp16": torch.float16}
# Signatures kept per kernel; past this the table starts over (a model has
# a handful of shapes; a sweep over lengths should not grow without end).
_MAX_PLANS = 64

try:  # The raw current stream of a device index, without a Stream object.
    _raw_stream = torch._C._cuda_getCurrentRawStream
except AttributeError:  # pragma: no cover - older or unusual torch builds
    def _raw_stream(index):
        return torch.cuda.current_stream(index).cuda_stream


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
    if t.device.index not in (0, None):
        raise ValueError(f"{name}: libmaskjit runs on the process's first CUDA device "
                         f"(cuda:0), not {t.device}; choose the GPU with "
                         "CUDA_VISIBLE_DEVICES")
    if t.shape[-1] != head_dim:
        raise ValueError(f"{name}: head_dim {t.shape[-1]}, the kernel's is {head_dim}")
    if t.stride(-1) != 1:
        raise ValueError(f"{name}: the last dimension must be contiguous "
                         f"(strides {t.stride()})")


class _Plan:
    """A checked call: its C struct with every field but the data pointers
    and the stream filled, and what the launch allocates."""
    __slots__ = ("call", "ref", "keep", "lse_shape", "device", "lse_scratch")


def _plan(kernel, q, k, v, scale, layout, out, params, lse_scratch=True):
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
        out = torch.empty_like(q)  # the strides every call's empty_like(q) has
    else:
        _check("out", out, dtype, kernel.head_dim, q.device)
        if out.shape != q.shape:
            raise ValueError(f"out: shape {tuple(out.shape)}, q's is {tuple(q.shape)}")
    plan = _Plan()
    arr, n, plan.keep = _lib.params(params)
    call = _lib.AttentionCall()
    call.batch, call.heads, call.kv_heads, call.lq, call.lk = b, heads, kv_heads, lq, lk
    for field, t in (("q_strides", q), ("k_strides", k), ("v_strides", v),
                     ("o_strides", out)):
        getattr(call, field)[:] = stride(t)
    call.softmax_scale = float(scale) if scale else 0.0
    call.params, call.n_params = arr, n
    plan.keep = (plan.keep, arr)
    plan.call, plan.ref = call, ctypes.byref(call)
    # The kernels always write the LSE (fp32, [batch, heads, lq]).
    plan.lse_shape = (b, heads, lq)
    plan.device = q.device
    # Where calls that do not return the LSE let the kernel write it: kept
    # with the plan (launches on one stream write it in turn; nobody reads
    # it), so such a call allocates only its output.
    plan.lse_scratch = torch.empty(plan.lse_shape, device=q.device, dtype=torch.float32) \
        if lse_scratch else None
    return plan


def _signature(q, k, v, scale, layout, out, params):
    """What decides a call's checks and struct; None where the call is not
    kept (array params: their values would have to be compared)."""
    items = ()
    if params:
        items = []
        for name, value in params.items():
            if type(value) is not int:
                return None
            items.append((name, value))
        items = tuple(sorted(items))
    return (layout, scale, q.shape, q.stride(), q.dtype, q.device, k.shape, k.stride(),
            k.dtype, k.device, v.shape, v.stride(), v.dtype, v.device, items,
            None if out is None else (out.shape, out.stride(), out.dtype, out.device))


def _take_sets(params):
    """The chosen sets among `params` (reserved "@" names), as numpy."""
    if not params or not any(key in params for key in _lib.SET_KEYS):
        return params, None
    params = dict(params)
    chosen = {}
    for key in _lib.SET_KEYS:
        if key in params:
            value = params.pop(key)
            if isinstance(value, torch.Tensor):
                value = value.detach().cpu().numpy()
            chosen[key] = value
    return params, chosen


def _set_sets(plan, chosen):
    call = plan.call
    if chosen is None:
        call.sets = None
        return None
    s, keep = _lib.sets(chosen, call.heads)
    call.sets = ctypes.addressof(s)
    return (s, keep)


def launch(kernel, q, k, v, scale, layout, return_lse, out, params):
    params, chosen = _take_sets(params)
    try:
        key = _signature(q, k, v, scale, layout, out, params)
    except AttributeError:  # not tensors: _plan says which and why
        key = None
    plans = kernel._plans
    plan = plans.get(key) if key is not None else None
    if plan is None:
        plan = _plan(kernel, q, k, v, scale, layout, out, params)
        if key is not None:
            if len(plans) >= _MAX_PLANS:
                plans.clear()
            plans[key] = plan
    if out is None:
        out = torch.empty_like(q)
    lse = torch.empty(plan.lse_shape, device=plan.device,
                      dtype=torch.float32) if return_lse else plan.lse_scratch
    call = plan.call
    call.q, call.k, call.v = q.data_ptr(), k.data_ptr(), v.data_ptr()
    call.o, call.lse = out.data_ptr(), lse.data_ptr()
    call.stream = _raw_stream(0)
    _keep_sets = _set_sets(plan, chosen)  # noqa: F841 (alive through the launch)
    if _c.mj_kernel_launch(kernel._h, plan.ref):
        from . import _fail
        raise _fail()
    return (out, lse) if return_lse else out


def _grad_input(name, t, like, dtype):
    """dO as the kernels read it: the output's dtype and shape, the last
    dimension contiguous, strides multiples of 8 elements (else a copy)."""
    if not isinstance(t, torch.Tensor) or t.shape != like.shape:
        raise ValueError(f"{name}: expected a tensor of shape {tuple(like.shape)}")
    if t.dtype != dtype:
        t = t.to(dtype)
    if t.stride(-1) != 1 or any(st % 8 for st in t.stride()[:-1]) or t.data_ptr() % 16:
        t = t.contiguous()
    return t


def backward(kernel, q, k, v, out, lse, dout, scale, layout, params):
    """dQ, dK, dV of the forward call (q, k, v) -> (out, lse) from dO."""
    params, chosen = _take_sets(params)
    plan = _plan(kernel, q, k, v, scale, layout, out, params, lse_scratch=False)
    dout = _grad_input("grad of the output", dout, out, _DTYPES[kernel.dtype])
    if lse.shape != plan.lse_shape or lse.dtype != torch.float32 or not lse.is_contiguous():
        raise ValueError(f"lse: expected a contiguous float32 tensor of shape {plan.lse_shape}")
    dq, dk, dv = torch.empty_like(q), torch.empty_like(k), torch.empty_like(v)
    bsh = (0, 2, 1) if layout == "bhsd" else (0, 1, 2)
    grads = _lib.BackwardCall()
    for field, t in (("do_strides", dout), ("dq_strides", dq), ("dk_strides", dk),
                     ("dv_strides", dv)):
        getattr(grads, field)[:] = [t.stride(i) for i in bsh]
    grads.dout, grads.dq, grads.dk, grads.dv = (dout.data_ptr(), dq.data_ptr(),
                                                dk.data_ptr(), dv.data_ptr())
    call = plan.call
    call.q, call.k, call.v = q.data_ptr(), k.data_ptr(), v.data_ptr()
    call.o, call.lse = out.data_ptr(), lse.data_ptr()
    call.stream = _raw_stream(0)
    _keep_sets = _set_sets(plan, chosen)  # noqa: F841
    if _c.mj_kernel_backward(kernel._h, plan.ref, ctypes.byref(grads)):
        from . import _fail
        raise _fail()
    return dq, dk, dv
