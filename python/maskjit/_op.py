"""maskjit as a torch.library custom op, for torch.compile and autograd.

`torch.ops.maskjit.attention(q, k, v, kernel_id, scale, layout, names,
scalars, arrays) -> (out, lse)`: the kernel is named by an id into a table
here (an op's arguments are tensors and plain values), runtime params by
their names (one comma-separated string), their scalar values (SymInts under torch.compile, so changing
one does not recompile) and their arrays as tensors. The fake
implementation gives the output shapes from q alone, so torch.compile
traces a model that calls it without a graph break, for any sequence
length. Backward raises until the backward kernels exist.
"""
import numpy as np
import torch

from ._torch import launch

def _shapes(q, layout):
    b = q.shape[0]
    lq, heads = (q.shape[2], q.shape[1]) if layout == "bhsd" else (q.shape[1], q.shape[2])
    return b, heads, lq


@torch.library.custom_op("maskjit::attention", mutates_args=(), device_types="cuda")
def attention_op(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, kernel_id: int,
                 scale: float, layout: str, names: str, scalars: list[int],
                 arrays: list[torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
    from . import _BY_ID
    kernel = _BY_ID.get(kernel_id)
    if kernel is None:
        raise ValueError(f"maskjit: no kernel with id {kernel_id} in this process")
    values = iter(list(scalars) + [a.detach().cpu().numpy() for a in arrays])
    params = {name: next(values) for name in names.split(",") if name}
    out, lse = launch(kernel, q, k, v, scale, layout, True, None, params)
    return out, lse


@attention_op.register_fake
def _(q, k, v, kernel_id, scale, layout, names, scalars, arrays):
    b, heads, lq = _shapes(q, layout)
    return torch.empty_like(q), q.new_empty((b, heads, lq), dtype=torch.float32)


def _no_backward(ctx, grad_out, grad_lse):
    raise RuntimeError(
        "maskjit: backward is not available for this kernel yet (forward only); "
        "run it under torch.no_grad() or detach q, k and v")


def _keep(ctx, inputs, output):
    pass


attention_op.register_autograd(_no_backward, setup_context=_keep)


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
