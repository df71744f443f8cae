"""maskjit as a torch.library custom op, for torch.compile and autograd.

`torch.ops.maskjit.attention(q, k, v, kernel_id, scale, layout, names,
scalars, arrays) -> (out, lse)`: the kernel is named by an id into a table
here (an op's arguments are tensors and plain values), runtime params by
their names (one comma-separated string), their scalar values (SymInts under torch.compile, so changing
one does not recompile) and their arrays as tensors. The fake
implementation gives the output shapes from q alone, so torch.compile
traces a model that calls it without a graph break, for any sequence
length. Its backward is `torch.ops.maskjit.attention_backward` (a custom
op too, so that torch.compile traces the backward graph as well): dQ, dK
and dV from the forward's inputs and outputs; the LSE output is not
differentiable.
"""
import numpy as np
import torch

from ._torch import backward, launch

def _shapes(q, layout):
    b = q.shape[0]
    lq, heads = (q.shape[2], q.shape[1]) if layout == "bhsd" else (q.shape[1], q.shape[2])
    return b, heads, lq


@torch.library.custom_op("maskjit::attention", mutates_args=(), device_types="cuda")
def attention_op(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, kernel_id: int,
                 scale: float, layout: str, names: str, scalars: list[int],
                 arrays: list[torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
    out, lse = launch(_kernel(kernel_id), q, k, v, scale, layout, True, None,
                      _params(names, scalars, arrays))
    return out, lse


@attention_op.register_fake
def _(q, k, v, kernel_id, scale, layout, names, scalars, arrays):
    b, heads, lq = _shapes(q, layout)
    return torch.empty_like(q), q.new_empty((b, heads, lq), dtype=torch.float32)


def _kernel(kernel_id):
    from . import _BY_ID
    kernel = _BY_ID.get(kernel_id)
    if kernel is None:
        raise ValueError(f"maskjit: no kernel with id {kernel_id} in this process")
    return kernel


def _params(names, scalars, arrays):
    values = iter(list(scalars) + [a.detach().cpu().numpy() for a in arrays])
    return {name: next(values) for name in names.split(",") if name}


@torch.library.custom_op("maskjit::attention_backward", mutates_args=(), device_types="cuda")
def attention_backward_op(dout: torch.Tensor, q: torch.Tensor, k: torch.Tensor,
                          v: torch.Tensor, out: torch.Tensor, lse: torch.Tensor,
                          kernel_id: int, scale: float, layout: str, names: str,
                          scalars: list[int], arrays: list[torch.Tensor]
                          ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    return backward(_kernel(kernel_id), q, k, v, out, lse, dout, scale, layout,
                    _params(names, scalars, arrays))


@attention_backward_op.register_fake
def _(dout, q, k, v, out, lse, kernel_id, scale, layout, names, scalars, arrays):
    return torch.empty_like(q), torch.empty_like(k), torch.empty_like(v)


def _backward(ctx, grad_out, grad_lse):
    q, k, v, out, lse, *arrays = ctx.saved_tensors
    dq, dk, dv = torch.ops.maskjit.attention_backward(
        grad_out, q, k, v, out, lse, ctx.kernel_id, ctx.scale, ctx.layout, ctx.names,
        ctx.scalars, arrays)
    return (dq, dk, dv, *ctx.no_grads)


def _no_grad_like(x):
    """None in the structure autograd expects for a non-differentiable
    input: a list it may hold tensors in (all entries tensors or None, the
    empty list included) is a list of Nones; anything else one None."""
    if isinstance(x, (list, tuple)) and all(e is None or isinstance(e, torch.Tensor)
                                            for e in x):
        return [None] * len(x)
    return None


def _keep(ctx, inputs, output):
    q, k, v, kernel_id, scale, layout, names, scalars, arrays = inputs
    ctx.no_grads = tuple(_no_grad_like(x) for x in inputs[3:])
    out, lse = output
    ctx.save_for_backward(q, k, v, out, lse, *arrays)
    ctx.kernel_id, ctx.scale, ctx.layout, ctx.names = kernel_id, scale, layout, names
    ctx.scalars = scalars
    ctx.mark_non_differentiable(lse)


attention_op.register_autograd(_backward, setup_context=_keep)


def call(kernel, q, k, v, scale, layout, params):
    """The op's call for `kernel` with runtime `params` (ints, sequences or
    tensors): scalars first, then arrays, each group in name order."""
    scalar_names, scalars, array_names, arrays = [], [], [], []
    for name in sorted(params):
        value = params[name]
        if isinstance(value, torch.Tensor) and value.dim() == 0:
            value = int(value.item())
        if isinstance(value, np.integer):
            value = int(value)
        # (isinstance only: torch.compile traces it; a SymInt is a scalar.)
        if isinstance(value, bool):
            raise TypeError(f"param `{name}`: expected an int or a sequence of ints, "
                            "not bool")
        if isinstance(value, (int, torch.SymInt)):
            scalar_names.append(name)
            scalars.append(value)
        elif isinstance(value, torch.Tensor):
            array_names.append(name)
            arrays.append(value.to(torch.int64))
        elif isinstance(value, (list, tuple, np.ndarray)):
            array_names.append(name)
            arrays.append(torch.as_tensor(np.asarray(value, dtype=np.int64)))
        else:
            raise TypeError(f"param `{name}`: expected an int or a sequence of ints, "
                            f"not {type(value).__name__}")
    return torch.ops.maskjit.attention(q, k, v, kernel._op_id, float(scale or 0.0),
                                       layout, ",".join(scalar_names + array_names), scalars,
                                       arrays)
