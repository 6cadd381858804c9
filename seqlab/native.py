"""Small C kernels for the CPU, compiled on first use and loaded with ctypes.

A kernel is one C file shipped inside the package. The first call builds it with the machine's C
compiler (``$CC``, else ``cc`` or ``gcc``) at ``-O3 -march=native -fopenmp`` into a per-user
cache (``$SEQLAB_CACHE``, else ``~/.cache/seqlab``), named by a hash of the source, the flags
and the CPU, written to a temporary file and renamed, so concurrent first uses are safe and a
change of source or machine rebuilds. No compiler, a failed build or ``SEQLAB_NATIVE=0``: the
loader returns None with the reason, and callers use their torch code instead.
"""

from __future__ import annotations

import ctypes
import hashlib
import os
import platform
import shutil
import subprocess
import tempfile
from functools import cache
from pathlib import Path

FLAGS = ["-O3", "-march=native", "-fopenmp", "-shared", "-fPIC", "-std=c99"]
FALLBACK_FLAGS = ["-O3", "-fopenmp", "-shared", "-fPIC", "-std=c99"]


class NativeUnavailable(RuntimeError):
    """The C kernel could not be built or loaded here (the message says why)."""


def cache_dir() -> Path:
    return Path(os.environ.get("SEQLAB_CACHE") or Path.home() / ".cache" / "seqlab") / "native"


def _cpu_tag() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as f:
            flags = next((line for line in f if line.startswith("flags")), "")
    except OSError:
        flags = ""
    return platform.machine() + flags


def _compiler() -> str | None:
    for name in (os.environ.get("CC"), "cc", "gcc", "clang"):
        if name and shutil.which(name):
            return name
    return None


def _build(source: Path, target: Path, compiler: str) -> str:
    """Compile ``source`` into ``target`` atomically; returns '' or the compiler's complaint."""
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(suffix=".so", dir=target.parent)
        os.close(fd)
    except OSError as exc:
        return f"cannot write to {target.parent}: {exc.strerror or exc}"
    error = ""
    try:
        for flags in (FLAGS, FALLBACK_FLAGS):
            proc = subprocess.run([compiler, *flags, str(source), "-o", tmp, "-lm"],
                                  capture_output=True, text=True, check=False)
            if proc.returncode == 0:
                os.replace(tmp, target)
                return ""
            lines = (proc.stderr or proc.stdout).strip().splitlines()
            error = next((line for line in lines if "error" in line.lower()), lines[-1] if lines else
                         f"exit code {proc.returncode}")
    except OSError as exc:
        error = str(exc)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return error or "build failed"


def load(source_name: str) -> ctypes.CDLL:
    """The shared library built from ``seqlab/<source_name>``; raises NativeUnavailable."""
    if os.environ.get("SEQLAB_NATIVE", "1") == "0":
        raise NativeUnavailable("SEQLAB_NATIVE=0")
    result = _load(source_name)
    if isinstance(result, str):
        raise NativeUnavailable(result)
    return result


@cache
def _load(source_name: str) -> ctypes.CDLL | str:
    """The library, or why it is unavailable (remembered: a failed build is not retried)."""
    source = Path(__file__).resolve().parent / source_name
    compiler = _compiler()
    if compiler is None:
        return "no C compiler (set CC, or install gcc)"
    key = hashlib.sha256(source.read_bytes() + " ".join(FLAGS).encode() + compiler.encode()
                         + _cpu_tag().encode()).hexdigest()[:16]
    target = cache_dir() / f"{source.stem}-{key}.so"
    if not target.exists():
        error = _build(source, target, compiler)
        if error:
            return f"building {source.name} failed: {error}"
    try:
        return ctypes.CDLL(str(target))
    except OSError as exc:
        return f"loading {target} failed: {exc}"


def available(source_name: str) -> tuple[bool, str]:
    """(True, '') when the kernel loads, else (False, reason)."""
    try:
        load(source_name)
    except NativeUnavailable as exc:
        return False, str(exc)
    return True, ""
