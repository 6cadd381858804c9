"""One metric formula for numpy arrays and torch tensors: the few operations whose spelling differs.

The vectorised scores of resampled statistics (BLEU, chrF, TER) and the resampling itself are written
once against an array namespace ``xp`` (numpy or torch, from the input), with the operations both
spell alike (``xp.where``, ``xp.cumsum(x, 1)``, ``@``, ``.sum(1)``, ...) and the helpers here for the
rest (``cast``, ``scalar``, ``log`` and ``exp``: the C library's for numpy, as sacrebleu's). A CPU run then
needs numpy only, so that ``seqlab bleu --paired-bs`` starts without importing torch (about a second);
a GPU run passes CUDA tensors and stays on the device. Neither library is imported here for torch:
a tensor can exist only when torch is already loaded.
"""

from __future__ import annotations

import math
import sys
from typing import Any

import numpy as np

Array = Any  # numpy.ndarray or torch.Tensor


def is_tensor(x: object) -> bool:
    torch = sys.modules.get("torch")
    return torch is not None and isinstance(x, torch.Tensor)


def namespace(x: Array):
    """The module whose functions apply to ``x``: torch for a tensor, numpy otherwise."""
    return sys.modules["torch"] if is_tensor(x) else np


def dtype_in(xp, dtype: object):
    """``dtype`` (a name such as ``"float32"``, a numpy or a torch dtype) as ``xp``'s dtype."""
    name = str(dtype).removeprefix("torch.")
    return np.dtype(name) if xp is np else getattr(xp, name)


def cast(x: Array, dtype: object) -> Array:
    """``x`` in ``dtype`` (no copy when it already is)."""
    xp = namespace(x)
    return x.to(dtype_in(xp, dtype)) if xp is not np else x.astype(dtype_in(np, dtype), copy=False)


def clone(x: Array) -> Array:
    return x.clone() if is_tensor(x) else x.copy()


def scalar(value: float, dtype: object, like: Array) -> Array:
    """A 0-d array of ``value`` in ``dtype`` beside ``like``: ``scalar / array`` is then one division in
    ``dtype`` (torch turns ``python_float / tensor`` into ``python_float * (1 / tensor)``)."""
    xp = namespace(like)
    if xp is np:
        return np.asarray(value, dtype=dtype_in(np, dtype))
    return xp.tensor(value, dtype=dtype_in(xp, dtype), device=like.device)


def to_like(values: np.ndarray, like: Array) -> Array:
    """The numpy array ``values`` on ``like``'s side: itself for numpy, a tensor on ``like``'s device."""
    if is_tensor(like):
        return sys.modules["torch"].as_tensor(values, device=like.device)
    return values


def host(x: Array) -> np.ndarray:
    """``x`` as a numpy array on the host."""
    return x.detach().cpu().numpy() if is_tensor(x) else np.asarray(x)


def _libm(function):
    def apply(x: Array) -> Array:
        if is_tensor(x):
            return getattr(sys.modules["torch"], function.__name__)(x)
        x = np.asarray(x, dtype=np.float64)
        return np.fromiter(map(function, x.ravel().tolist()), np.float64, x.size).reshape(x.shape)

    apply.__name__ = function.__name__
    apply.__doc__ = (f"{function.__name__} of each element: the C library's (Python's math.{function.__name__}, "
                     "as sacrebleu computes, to the last bit) for numpy; torch's for a tensor.")
    return apply


log = _libm(math.log)  # numpy's SIMD log and exp may differ from the C library's in the last bit
exp = _libm(math.exp)
