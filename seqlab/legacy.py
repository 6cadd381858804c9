"""Files of seqlab 0.1: pickles made by ``torch.save`` (``model.pt``, ``last.pt``, ``encoder.pt``,
``OUTPUT.ckpt``, ``.cooc``).

A pickle names functions to call while it is read, so :func:`load_legacy` reads one only with
torch's weights-only unpickler (tensors, numbers, strings, containers; plus what a numpy array
needs, which seqlab 0.1 stored in its checkpoints), and refuses anything else with the command that
converts it (``seqlab.io.convert_legacy``): that reads a file the user trusts with the full unpickler
(:func:`unpickle`), which can run code, and writes it in the safe format of :mod:`seqlab.state_file`.
"""

from __future__ import annotations

import os
import pickle
import zipfile
from pathlib import Path
from typing import Any

import torch

from seqlab.errors import DataError


def _numpy_globals() -> list[Any]:
    """What a pickled numpy array needs (arrays of Python objects excepted)."""
    import numpy as np

    core = getattr(np, "_core", None) or np.core
    dtypes = [getattr(np.dtypes, n) for n in dir(np.dtypes) if n.endswith("DType") and n != "ObjectDType"]
    return [np.ndarray, np.dtype, core.multiarray._reconstruct, core.multiarray.scalar, *dtypes]


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return f"{type(exc).__name__}: {text.splitlines()[0]}" if text else type(exc).__name__


def _refused(p: Path, why: str) -> DataError:
    return DataError(f"{p}: a seqlab 0.1 (pickle) file that could run code when loaded ({why}), so seqlab does not "
                     f"load it; if you trust where it came from, convert it with: seqlab convert {p}")


def load_legacy(path: str | os.PathLike) -> Any:
    """What ``torch.save`` wrote to ``path``, read without running code; DataError when that is impossible."""
    p = Path(path)
    if not zipfile.is_zipfile(p):  # what torch.save has written since torch 1.6
        raise DataError(f"{p}: not a seqlab model or checkpoint (neither a safetensors file nor a seqlab 0.1 one)")
    allowed = {f"{g.__module__}.{g.__qualname__}": g for g in _numpy_globals()}
    try:  # a static scan of the pickle's opcodes (nothing runs), to name what it would call
        unsafe = torch.serialization.get_unsafe_globals_in_checkpoint(p)
    except Exception as exc:  # not a zip file of torch.save (torch raises several kinds)
        raise DataError(f"{p}: not a seqlab file ({_first_line(exc)})") from None
    foreign = [name for name in unsafe if name not in allowed]
    if foreign:
        raise _refused(p, "it calls " + ", ".join(sorted(foreign)[:3]))
    try:
        with torch.serialization.safe_globals(list(allowed.values())):  # dtype classes are found only while loading
            return torch.load(p, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as exc:  # the weights-only unpickler refused something the scan missed
        raise _refused(p, _first_line(exc)[:200]) from None
    except (RuntimeError, EOFError, ValueError, TypeError, AttributeError, KeyError, OSError) as exc:
        raise DataError(f"{p}: not a readable seqlab file ({_first_line(exc)})") from None


def converted_name(path: Path) -> Path:
    """Where ``seqlab convert`` writes: ``model.pt`` -> ``model.safetensors``; other names are kept."""
    if path.suffix == ".pt":
        return path.with_suffix(".safetensors")
    return path


def unpickle(path: Path) -> dict:
    """What ``torch.save`` wrote to ``path``, read with ``torch.load(weights_only=False)``: **this runs whatever
    code the file holds**; only ``seqlab convert``, on a file the user trusts, calls it."""
    try:
        state = torch.load(path, map_location="cpu", weights_only=False)
    except Exception as exc:  # unpickling can raise anything
        raise DataError(f"{path}: not a readable torch file ({_first_line(exc)})") from None
    if not isinstance(state, dict) or "kind" not in state:
        raise DataError(f"{path}: not a seqlab file (no 'kind')")
    return state
