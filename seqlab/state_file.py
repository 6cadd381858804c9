"""Model and checkpoint files that cannot run code when loaded.

A seqlab state (a model, a training checkpoint) is a nested structure of tensors, numbers,
strings, bytes, lists, tuples and dicts. It is written as one safetensors file
(https://github.com/huggingface/safetensors): every tensor under a name taken from its place in
the structure (``model/encoder.embedding.weight``), bytes and long lists of words as ``uint8``
tensors, and the rest of the structure (the "skeleton") as JSON in the header's metadata, beside
the format's name and version, the state's ``kind`` and the seqlab version that wrote it.
Reading it parses JSON and copies buffers; unlike a pickle (``torch.load`` with
``weights_only=False``) nothing in the file can name a function to call.

The skeleton is plain JSON with a few tagged objects, each a dict of one ``$``-key:
``{"$tensor": name}``, ``{"$ndarray": name}``, ``{"$bytes": name}``, ``{"$words": [name, lengths]}``,
``{"$tuple": [...]}``, ``{"$float": "nan" | "inf" | "-inf"}`` and ``{"$dict": [[key, value], ...]}``
for a dict whose keys are not all strings (an optimiser's parameter ids) or start with ``$``.
"""

from __future__ import annotations

import json
import math
import os
from pathlib import Path
from typing import Any

import numpy as np
import torch

from seqlab.errors import DataError
from seqlab.io import stamp

FORMAT = "seqlab"
FORMAT_VERSION = 1
META_KEY = "seqlab"
MAGIC_LIMIT = 100_000_000  # safetensors' own limit on the header size
WORDS_AS_TENSOR = 64  # a list of this many strings or more is stored as bytes, not JSON


class _Writer:
    """Splits a state into tensors (named by their place) and a JSON-able skeleton."""

    def __init__(self) -> None:
        self.tensors: dict[str, torch.Tensor] = {}
        self._storages: set[tuple[int, int]] = set()

    def add(self, name: str, tensor: torch.Tensor) -> str:
        base, n = name or "_", 1
        while name in self.tensors or not name:
            n += 1
            name = f"{base}#{n}"
        t = tensor.detach().to("cpu")
        key = (t.untyped_storage().data_ptr(), t.untyped_storage().nbytes())
        # safetensors refuses tensors that share memory (tied weights) or are views: store copies
        if key in self._storages or not t.is_contiguous() or t.untyped_storage().nbytes() != t.nbytes:
            t = t.contiguous().clone()
        if t.numel():
            self._storages.add(key)
        self.tensors[name] = t
        return name

    def encode(self, value: Any, path: str) -> Any:
        if isinstance(value, torch.Tensor):
            return {"$tensor": self.add(path, value)}
        if isinstance(value, np.ndarray):
            if value.dtype == object:
                raise TypeError(f"{path}: numpy arrays of objects cannot be stored")
            return {"$ndarray": self.add(path, torch.from_numpy(np.ascontiguousarray(value)))}
        if isinstance(value, np.generic):
            value = value.item()
        if value is None or isinstance(value, (bool, int, str)):
            return value
        if isinstance(value, float):
            return value if math.isfinite(value) else {"$float": str(value)}
        if isinstance(value, (bytes, bytearray)):
            return {"$bytes": self.add(path, _byte_tensor(value))}
        if isinstance(value, tuple):
            return {"$tuple": [self.encode(v, f"{path}/{i}") for i, v in enumerate(value)]}
        if isinstance(value, list):
            if len(value) >= WORDS_AS_TENSOR and all(type(v) is str for v in value):
                return {"$words": self._words(value, path)}
            return [self.encode(v, f"{path}/{i}") for i, v in enumerate(value)]
        if isinstance(value, dict):
            if all(isinstance(k, str) and not k.startswith("$") for k in value):
                return {k: self.encode(v, f"{path}/{k}" if path else k) for k, v in value.items()}
            return {"$dict": [[self.encode(k, f"{path}/key{i}"), self.encode(v, f"{path}/{k}")]
                              for i, (k, v) in enumerate(value.items())]}
        raise TypeError(f"{path or 'state'}: a {type(value).__name__} cannot be stored in a seqlab file")

    def _words(self, words: list[str], path: str) -> list[str]:
        encoded = [w.encode("utf-8", "surrogatepass") for w in words]
        lengths = torch.tensor([len(b) for b in encoded], dtype=torch.int64)
        data = _byte_tensor(b"".join(encoded))
        return [self.add(f"{path}.utf8", data), self.add(f"{path}.lengths", lengths)]


def _byte_tensor(data: bytes | bytearray) -> torch.Tensor:
    """``data`` as a (len,) uint8 tensor (a copy)."""
    if not data:
        return torch.zeros(0, dtype=torch.uint8)
    return torch.frombuffer(bytearray(data), dtype=torch.uint8)


class _Reader:
    """Rebuilds a state from the skeleton and the named tensors, checking every reference."""

    def __init__(self, tensors: dict[str, torch.Tensor], where: Path) -> None:
        self.tensors, self.where = tensors, where

    def tensor(self, name: Any) -> torch.Tensor:
        if not isinstance(name, str) or name not in self.tensors:
            raise ValueError(f"refers to a tensor {name!r} that the file does not hold")
        return self.tensors[name]

    def decode(self, value: Any) -> Any:
        if isinstance(value, list):
            return [self.decode(v) for v in value]
        if not isinstance(value, dict):
            return value
        if len(value) == 1:
            (tag, body), = value.items()
            if tag.startswith("$"):
                return self._tagged(tag, body)
        return {k: self.decode(v) for k, v in value.items()}

    def _tagged(self, tag: str, body: Any) -> Any:
        if tag == "$tensor":
            return self.tensor(body)
        if tag == "$ndarray":
            return self.tensor(body).numpy()
        if tag == "$bytes":
            return self.tensor(body).numpy().tobytes()
        if tag == "$words" and isinstance(body, list) and len(body) == 2:
            data, lengths = self.tensor(body[0]).numpy().tobytes(), self.tensor(body[1]).tolist()
            ends = np.cumsum([0, *lengths]).tolist()
            if any(n < 0 for n in lengths) or ends[-1] > len(data):
                raise ValueError("has a word list longer than its bytes")
            return [data[a:b].decode("utf-8", "surrogatepass") for a, b in zip(ends, ends[1:], strict=False)]
        if tag == "$tuple" and isinstance(body, list):
            return tuple(self.decode(v) for v in body)
        if tag == "$float" and body in ("nan", "inf", "-inf"):
            return float(body)
        if tag == "$dict" and isinstance(body, list) and all(isinstance(p, list) and len(p) == 2 for p in body):
            return {_hashable(self.decode(k)): self.decode(v) for k, v in body}
        raise ValueError(f"has an unknown entry {tag!r}")


def _hashable(key: Any) -> Any:
    if isinstance(key, (list, dict, torch.Tensor, np.ndarray)):
        raise ValueError("has a dict key that is not a number or a string")
    return key


def dump_state(state: dict[str, Any], kind: str | None = None) -> bytes:
    """``state`` as the bytes of a seqlab state file (:func:`seqlab.io.save_checkpoint` writes them
    atomically). ``kind`` defaults to ``state["kind"]``. Raises TypeError for a value with no safe form.

    Not safetensors' ``save_file``: that writes through a temporary file of its own (``.tmpXXXXXX``),
    which a killed run would leave behind under a name seqlab cannot tell from another program's.
    """
    from safetensors.torch import save

    writer = _Writer()
    skeleton = writer.encode(state, "")
    meta = stamp({"format": FORMAT, "format_version": str(FORMAT_VERSION), "kind": str(kind or state.get("kind", ""))})
    meta[META_KEY] = json.dumps(skeleton, ensure_ascii=False, allow_nan=False)
    return save(writer.tensors, metadata=meta)


def is_state_file(path: str | os.PathLike) -> bool:
    """True when ``path`` starts like a safetensors file (an 8-byte header length, then ``{``)."""
    try:
        with open(path, "rb") as fh:
            head = fh.read(9)
    except OSError:
        return False
    return len(head) == 9 and 2 <= int.from_bytes(head[:8], "little") <= MAGIC_LIMIT and head[8:9] == b"{"


def read_header(path: str | os.PathLike) -> dict[str, str]:
    """The metadata of a seqlab state file (format, format_version, kind, seqlab_version, ...)."""
    from safetensors import safe_open

    p = Path(path)
    try:
        with safe_open(str(p), framework="pt", device="cpu") as fh:
            meta = fh.metadata() or {}
    except Exception as exc:  # safetensors raises its own error type, or OSError, for a corrupt file
        raise DataError(f"{p}: not a readable seqlab file ({type(exc).__name__}: {exc})") from None
    if meta.get("format") != FORMAT or META_KEY not in meta:
        raise DataError(f"{p}: a safetensors file that seqlab did not write (no seqlab header)")
    try:
        version = int(meta.get("format_version", ""))
    except ValueError:
        raise DataError(f"{p}: its seqlab format version {meta.get('format_version')!r} is not a number") from None
    if version > FORMAT_VERSION:
        raise DataError(f"{p}: written by a newer seqlab ({meta.get('seqlab_version', '?')}, file format "
                        f"{version}; this seqlab reads up to {FORMAT_VERSION}): upgrade seqlab")
    return meta


def load_state(path: str | os.PathLike) -> dict[str, Any]:
    """Read a state written by :func:`dump_state`; raises DataError naming ``path`` when it is not one."""
    from safetensors import safe_open

    p = Path(path)
    meta = read_header(p)
    try:
        with safe_open(str(p), framework="pt", device="cpu") as fh:
            tensors = {name: fh.get_tensor(name) for name in fh.keys()}  # noqa: SIM118 (not a dict)
        state = _Reader(tensors, p).decode(json.loads(meta[META_KEY]))
    except (ValueError, RecursionError, TypeError) as exc:
        raise DataError(f"{p}: a damaged seqlab file (its header {exc})") from None
    except Exception as exc:  # safetensors' own error for truncated data
        raise DataError(f"{p}: not a readable seqlab file ({type(exc).__name__}: {exc})") from None
    if not isinstance(state, dict):
        raise DataError(f"{p}: a damaged seqlab file (its header holds no state)")
    return state
