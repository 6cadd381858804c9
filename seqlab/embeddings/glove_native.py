"""The CPU kernel of GloVe (``glove_cpu.c``): glove.c's AdaGrad loop, entry after entry.

On the CPU, entries trained one after the other on rows in cache are much faster than batched
gathers and scatter-adds of (batch, dim) temporaries, and it is glove.c's own update order (each
entry sees the updates before it; threads share the tables without locks, as glove.c's do). The
batched torch step stays the GPU's, and the CPU's with ``cpu_kernel = "torch"``.
"""

from __future__ import annotations

import ctypes

import torch

from seqlab.native import available, load

SOURCE = "embeddings/glove_cpu.c"
SYMBOLS = ("glove_train_block",)

_i64, _f32p, _i64p = ctypes.c_int64, ctypes.POINTER(ctypes.c_float), ctypes.POINTER(ctypes.c_int64)


def _library() -> ctypes.CDLL:
    lib = load(SOURCE, SYMBOLS)
    if not getattr(lib, "_seqlab_typed", False):
        lib.glove_train_block.restype = ctypes.c_double
        lib.glove_train_block.argtypes = [*[_f32p] * 8, _i64, _i64p, _i64p, _f32p, _f32p, _i64,
                                          ctypes.c_float, ctypes.c_float, ctypes.c_int]
        lib._seqlab_typed = True
    return lib


def native_available() -> tuple[bool, str]:
    """(True, '') when the C kernel builds and loads here, else (False, reason)."""
    return available(SOURCE, SYMBOLS)


def _ptr(t: torch.Tensor, ctype, dtype: torch.dtype):
    if t.device.type != "cpu" or not t.is_contiguous() or t.dtype != dtype:
        raise ValueError(f"the native GloVe kernel needs contiguous {dtype} CPU tensors")
    return ctypes.cast(t.data_ptr(), ctypes.POINTER(ctype))


def train_block(tables: tuple[torch.Tensor, ...], rows: torch.Tensor, cols: torch.Tensor, log_x: torch.Tensor,
                f_x: torch.Tensor, order: torch.Tensor, eta: float, grad_clip: float, threads: int) -> float:
    """Train the entries ``order`` (K,) of (rows, cols, log_x, f_x) (nnz,), in that order, in place on
    ``tables``: weight, context (V, D), bias, context_bias (V,) and their four AdaGrad sums, all float32
    (Glove._TENSORS order). Returns the summed cost J/2 of those entries. Raises NativeUnavailable when
    the kernel cannot be built."""
    lib = _library()
    # gathered first, so that the kernel reads the entries one after the other
    rows, cols, log_x, f_x = (t.index_select(0, order) for t in (rows, cols, log_x, f_x))
    return float(lib.glove_train_block(
        *(_ptr(t, ctypes.c_float, torch.float32) for t in tables), tables[0].shape[1],
        _ptr(rows, ctypes.c_int64, torch.int64), _ptr(cols, ctypes.c_int64, torch.int64),
        _ptr(log_x, ctypes.c_float, torch.float32), _ptr(f_x, ctypes.c_float, torch.float32),
        order.shape[0], eta, grad_clip, max(int(threads), 1)))
