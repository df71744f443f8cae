"""ctypes declarations of libmaskjit's C API (include/maskjit/maskjit_c.h).

The library is found, in order: $MASKJIT_LIBRARY, beside this module (an
installed package), or in the build folder of a source checkout. NVRTC,
which the library loads when it first compiles: $MASKJIT_NVRTC if set,
else the nvidia-cuda-nvrtc wheel's when that is installed (`pip install
maskjit[cuda]`), else the system's (the CUDA toolkit's).
"""
import ctypes
import numbers
import glob
import os

import numpy as np

_HERE = os.path.dirname(os.path.abspath(__file__))
ABI_VERSION = 2


class Param(ctypes.Structure):
    _fields_ = [("name", ctypes.c_char_p),
                ("values", ctypes.POINTER(ctypes.c_int64)),
                ("count", ctypes.c_int64),
                ("is_array", ctypes.c_int)]


class CompileOptions(ctypes.Structure):
    _fields_ = [("head_dim", ctypes.c_int64),
                ("dtype", ctypes.c_char_p),
                ("arch", ctypes.c_char_p),
                ("kernel", ctypes.c_char_p),
                ("constants", ctypes.POINTER(Param)),
                ("n_constants", ctypes.c_int),
                ("use_cache", ctypes.c_int)]


class AttentionCall(ctypes.Structure):
    _fields_ = [("batch", ctypes.c_int64), ("heads", ctypes.c_int64),
                ("kv_heads", ctypes.c_int64), ("lq", ctypes.c_int64),
                ("lk", ctypes.c_int64),
                ("q", ctypes.c_uint64), ("k", ctypes.c_uint64),
                ("v", ctypes.c_uint64), ("o", ctypes.c_uint64),
                ("lse", ctypes.c_uint64),
                ("q_strides", ctypes.c_int64 * 3),
                ("k_strides", ctypes.c_int64 * 3),
                ("v_strides", ctypes.c_int64 * 3),
                ("o_strides", ctypes.c_int64 * 3),
                ("softmax_scale", ctypes.c_float),
                ("params", ctypes.POINTER(Param)),
                ("n_params", ctypes.c_int),
                ("stream", ctypes.c_void_p),
                ("sets", ctypes.c_void_p)]


class Sets(ctypes.Structure):
    _fields_ = [("columns", ctypes.c_void_p), ("diagonals", ctypes.c_void_p),
                ("blocks", ctypes.c_void_p),
                ("n_columns", ctypes.c_int64), ("n_diagonals", ctypes.c_int64),
                ("block_rows", ctypes.c_int64), ("block_keep", ctypes.c_int64),
                ("n_sets", ctypes.c_int64)]


class BackwardCall(ctypes.Structure):
    _fields_ = [("dout", ctypes.c_uint64), ("dq", ctypes.c_uint64),
                ("dk", ctypes.c_uint64), ("dv", ctypes.c_uint64),
                ("do_strides", ctypes.c_int64 * 3),
                ("dq_strides", ctypes.c_int64 * 3),
                ("dk_strides", ctypes.c_int64 * 3),
                ("dv_strides", ctypes.c_int64 * 3)]


def _candidates():
    env = os.environ.get("MASKJIT_LIBRARY")
    if env:
        yield env
    for pattern in ("libmaskjit.so*",
                    os.path.join("..", "..", "build", "api", "libmaskjit.so*")):
        yield from sorted(glob.glob(os.path.join(_HERE, pattern)))


def _load():
    tried = []
    for path in _candidates():
        tried.append(path)
        try:
            return ctypes.CDLL(path)
        except OSError as e:
            tried[-1] += f" ({e})"
    raise ImportError(
        "maskjit: libmaskjit.so not found (tried: " + (", ".join(tried) or "nothing") +
        "); install the package (pip install .) or set MASKJIT_LIBRARY")


def _nvrtc_from_wheel():
    """libnvrtc of an installed nvidia-cuda-nvrtc wheel (CUDA 13, then 12)."""
    import importlib.util
    try:
        spec = importlib.util.find_spec("nvidia")
    except (ImportError, ValueError):
        return None
    for root in (spec.submodule_search_locations or []) if spec else []:
        for rel in (("cu13", "lib", "libnvrtc.so.13"),
                    ("cuda_nvrtc", "lib", "libnvrtc.so.12")):
            path = os.path.join(root, *rel)
            if os.path.isfile(path):
                return path
    return None


if not os.environ.get("MASKJIT_NVRTC"):
    _wheel_nvrtc = _nvrtc_from_wheel()
    if _wheel_nvrtc:
        os.environ["MASKJIT_NVRTC"] = _wheel_nvrtc
lib = _load()
_P = ctypes.c_void_p
for name, res, args in (
        ("mj_last_error", ctypes.c_char_p, []),
        ("mj_last_error_kind", ctypes.c_int, []),
        ("mj_abi_version", ctypes.c_int, []),
        ("mj_pattern_from_string", _P, [ctypes.c_char_p, ctypes.c_char_p, ctypes.c_char_p]),
        ("mj_pattern_from_file", _P, [ctypes.c_char_p, ctypes.c_char_p]),
        ("mj_pattern_free", None, [_P]),
        ("mj_pattern_name", ctypes.c_char_p, [_P]),
        ("mj_pattern_block_map", ctypes.c_int,
         [_P, ctypes.c_int64, ctypes.c_int64, ctypes.c_int64, ctypes.c_int64,
          ctypes.POINTER(Param), ctypes.c_int, ctypes.c_int64, ctypes.c_int64,
          ctypes.c_void_p, ctypes.c_int64]),
        ("mj_pattern_mask", ctypes.c_int,
         [_P, ctypes.c_int64, ctypes.c_int64, ctypes.POINTER(Param), ctypes.c_int,
          ctypes.c_int64, ctypes.c_int64, ctypes.c_void_p, ctypes.c_int64]),
        ("mj_kernel_compile", _P, [_P, ctypes.POINTER(CompileOptions)]),
        ("mj_kernel_free", None, [_P]),
        ("mj_kernel_family", ctypes.c_char_p, [_P]),
        ("mj_kernel_cuda_source", ctypes.c_char_p, [_P]),
        ("mj_kernel_ptx", ctypes.c_char_p, [_P]),
        ("mj_kernel_cache_key", ctypes.c_char_p, [_P]),
        ("mj_kernel_launch", ctypes.c_int, [_P, ctypes.POINTER(AttentionCall)]),
        ("mj_kernel_backward", ctypes.c_int,
         [_P, ctypes.POINTER(AttentionCall), ctypes.POINTER(BackwardCall)]),
        ("mj_kernel_estimated_sets", ctypes.c_char_p, [_P]),
        ("mj_kernel_schedule_remarks", ctypes.c_char_p,
         [_P, ctypes.c_int64, ctypes.c_int64, ctypes.POINTER(Param), ctypes.c_int,
          ctypes.c_int64]),
        ("mj_gpu_available", ctypes.c_int, []),
        ("mj_nvrtc_available", ctypes.c_int, [])):
    fn = getattr(lib, name)
    fn.restype = res
    fn.argtypes = args

if lib.mj_abi_version() != ABI_VERSION:
    raise ImportError(f"maskjit: libmaskjit's C API is version {lib.mj_abi_version()}, "
                      f"this package expects {ABI_VERSION}")

MJ_ERROR_MASK, MJ_ERROR_ARGUMENT, MJ_ERROR_RUNTIME = 1, 2, 3
_INT64_P = ctypes.POINTER(ctypes.c_int64)


def params(values):
    """A dict of name -> int or int64 numpy array (as _plain makes them) as
    a ctypes Param array; the returned tuple's third element keeps the
    buffers alive."""
    keep = []
    arr = (Param * max(len(values), 1))()
    for i, (name, value) in enumerate(sorted(values.items())):
        if isinstance(value, numbers.Integral):
            buf = (ctypes.c_int64 * 1)(int(value))
            ptr, count, is_array = ctypes.cast(buf, _INT64_P), 1, 0
        else:
            buf = np.ascontiguousarray(value, dtype=np.int64)
            ptr, count, is_array = buf.ctypes.data_as(_INT64_P), buf.size, 1
        keep.append(buf)
        arr[i] = Param(name.encode(), ptr, count, is_array)
    return arr, len(values), keep


SET_KEYS = ("@columns", "@diagonals", "@blocks")


def sets(values, heads):
    """The chosen sets of a call (a dict of "@columns", "@diagonals",
    "@blocks" -> int64 arrays: one set, or one per head on a first axis of
    `heads`) as an mj_sets struct; the second element keeps the buffers."""
    import numpy as np
    s = Sets()
    keep = []
    counts = set()
    for key, field, count, per_set_dims in (("@columns", "columns", "n_columns", 1),
                                            ("@diagonals", "diagonals", "n_diagonals", 1),
                                            ("@blocks", "blocks", None, 2)):
        if key not in values:
            continue
        a = np.ascontiguousarray(np.asarray(values[key], dtype=np.int64))
        if a.ndim == per_set_dims:
            n = 1
        elif a.ndim == per_set_dims + 1:
            n = a.shape[0]
            if n != heads:
                raise ValueError(f"{key[1:]}: {n} sets for {heads} heads (give one set, "
                                 "or one per head on the first axis)")
        else:
            raise ValueError(f"{key[1:]}: expected {per_set_dims} or {per_set_dims + 1} "
                             f"dimensions, got shape {a.shape}")
        counts.add(n)
        if count:
            setattr(s, count, a.shape[-1])
        else:
            s.block_rows, s.block_keep = a.shape[-2], a.shape[-1]
        setattr(s, field, a.ctypes.data)
        keep.append(a)
    if len(counts) > 1:
        raise ValueError("give the sets all for all heads, or all per head")
    s.n_sets = counts.pop() if counts else 1
    return s, keep
