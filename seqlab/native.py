"""Small C kernels for the CPU, compiled on first use and loaded with ctypes.

A kernel is one C file shipped inside the package. The first call builds it with the machine's C
compiler (``$CC``, else ``cc`` or ``gcc``) at ``-O3 -march=native -fopenmp`` into a per-user
cache (``$SEQLAB_CACHE``, else ``~/.cache/seqlab``), named by a hash of the source, the flags
and the CPU, so a change of source or machine rebuilds. Beside each library the build writes its
SHA-256 (``NAME.so.sha256``, the format of ``sha256sum``). A cached library is loaded only when it
is a regular file (not a link) owned by this user, writable by nobody else, in a folder writable by
nobody else, and matches its checksum; anything else (a corrupt, truncated or stray file, a missing
checksum, a library without the functions asked for) is rebuilt. Builds hold a lock on
``NAME.lock`` and write the library, then its checksum, each to a temporary file renamed into
place, so concurrent first uses build once and a reader never trusts a half-written pair (it waits
for the lock and looks again). No compiler, a failed build or ``SEQLAB_NATIVE=0``: the loader
raises NativeUnavailable with the reason, and callers use their torch code instead. Nothing on
disk remembers a failure: the next process tries again.

What the checks defend against: corruption (a crash, a full disk, bit rot) and stray files, by the
checksum; other users' files in a shared cache, by the owner and permission checks. Not against
this user's own account being compromised: whoever can write the library can write its checksum.
Swapping the file between the check and ``dlopen`` needs write access to the folder, which only
this user has.
"""

from __future__ import annotations

import ctypes
import errno
import hashlib
import os
import platform
import shutil
import stat
import subprocess
import tempfile
from collections.abc import Callable, Sequence
from functools import cache
from pathlib import Path

from seqlab.errors import ConfigError
from seqlab.log import warn

try:
    import fcntl
except ImportError:  # not POSIX: no lock, so concurrent first uses may both build (each atomically)
    fcntl = None

FLAGS = ["-O3", "-march=native", "-fno-math-errno", "-fopenmp", "-shared", "-fPIC", "-std=c99"]
FALLBACK_FLAGS = ["-O3", "-fno-math-errno", "-fopenmp", "-shared", "-fPIC", "-std=c99"]
MISSING = "is not built yet"
_FULL = (os.strerror(errno.ENOSPC), os.strerror(errno.EDQUOT))


class NativeUnavailable(RuntimeError):
    """The C kernel could not be built or loaded here (the message says why)."""


def cache_dir() -> Path:
    return Path(os.environ.get("SEQLAB_CACHE") or Path.home() / ".cache" / "seqlab") / "native"


def switched_off() -> bool:
    """Whether the user turned the C kernels off (``SEQLAB_NATIVE=0``)."""
    return os.environ.get("SEQLAB_NATIVE", "1") == "0"


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


def _target(source: Path, compiler: str) -> Path:
    """Where the library built from ``source`` by ``compiler`` on this CPU is cached."""
    key = hashlib.sha256(source.read_bytes() + " ".join(FLAGS).encode() + compiler.encode()
                         + _cpu_tag().encode()).hexdigest()[:16]
    return cache_dir() / f"{source.stem}-{key}.so"


def _checksum_path(target: Path) -> Path:
    return target.with_name(target.name + ".sha256")


def _cannot_write(folder: Path, why: str) -> str:
    if why in _FULL:
        return f"the cache {folder} is full ({why}); free some space or set SEQLAB_CACHE to another folder"
    return f"cannot write to {folder}: {why}; set SEQLAB_CACHE to a writable folder"


def _foreign(st: os.stat_result, mask: int) -> str:
    """Why a file or folder with this stat is not trusted ('' when it is): another user's, or writable by one."""
    if hasattr(os, "getuid") and st.st_uid != os.getuid():
        return f"belongs to user id {st.st_uid}, not to you"
    if st.st_mode & mask:
        return "is writable by other users"
    return ""


def _open_plain(path: Path) -> int:
    """A read-only descriptor of ``path``, refusing a symbolic link (ELOOP) and never blocking on a pipe."""
    return os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0))


def _verify(target: Path) -> str:
    """'' when ``target`` may be loaded, else what is wrong with it (a phrase after its name)."""
    try:
        fd = _open_plain(target)
    except (FileNotFoundError, NotADirectoryError):
        return MISSING
    except OSError as exc:
        return "is a symbolic link" if exc.errno == errno.ELOOP else f"cannot be read ({exc.strerror})"
    with os.fdopen(fd, "rb") as f:  # the checks and the hash read the same file
        st = os.fstat(f.fileno())
        if not stat.S_ISREG(st.st_mode):
            return "is not a regular file"
        problem = _foreign(st, stat.S_IWGRP | stat.S_IWOTH)
        if problem:
            return problem
        digest = hashlib.sha256(f.read()).hexdigest()
    try:
        with open(_open_plain(_checksum_path(target)), encoding="ascii", errors="replace") as f:
            recorded = f.read(200).split()
    except OSError:
        return "has no checksum beside it"
    return "" if recorded and recorded[0] == digest else "does not match its checksum (corrupt or replaced)"


def _replace_with(data: bytes, final: Path) -> None:
    """Write ``data`` to a temporary file beside ``final`` and rename it into place."""
    fd, tmp = tempfile.mkstemp(suffix=".tmp", dir=final.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, final)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def _compiler_complaint(proc: subprocess.CompletedProcess, folder: Path) -> str:
    text = (proc.stderr or proc.stdout).strip()
    full = next((why for why in _FULL if why in text), None)
    if full:
        return _cannot_write(folder, full)
    lines = text.splitlines()
    return next((line for line in lines if "error" in line.lower() or "failed" in line.lower()),
                lines[-1] if lines else f"exit code {proc.returncode}")


def _build(source: Path, target: Path, compiler: str) -> str:
    """Compile ``source`` into ``target`` and write its checksum beside it, each atomically (the
    library first: a reader that finds a new library with an old checksum rebuilds or waits, it
    never loads a mismatch). Returns '' or what went wrong."""
    try:
        target.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd, tmp = tempfile.mkstemp(suffix=".so", dir=target.parent)
        os.close(fd)
    except OSError as exc:
        return _cannot_write(target.parent, exc.strerror or str(exc))
    error = ""
    try:
        for flags in (FLAGS, FALLBACK_FLAGS):
            proc = subprocess.run([compiler, *flags, str(source), "-o", tmp, "-lm"],
                                  capture_output=True, text=True, check=False)
            if proc.returncode == 0:
                os.chmod(tmp, 0o755)  # whatever the umask: never writable by others, or _verify refuses it
                digest = hashlib.sha256(Path(tmp).read_bytes()).hexdigest()
                os.replace(tmp, target)
                _replace_with(f"{digest}  {target.name}\n".encode(), _checksum_path(target))
                return ""
            error = _compiler_complaint(proc, target.parent)
    except OSError as exc:
        error = _cannot_write(target.parent, exc.strerror) if exc.strerror in _FULL else str(exc)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return error or "build failed"


def _rebuild(source: Path, target: Path, compiler: str, problem: str, force: bool = False) -> str:
    """Build ``target`` under its lock, unless (without ``force``) another process did it
    meanwhile; '' or why not, with ``problem`` (what was wrong with the cached file)."""
    try:
        target.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        lock = open(target.with_suffix(".lock"), "a")  # noqa: SIM115 (closed by the with below)
    except OSError as exc:
        error = _cannot_write(target.parent, exc.strerror or str(exc))
    else:
        with lock:
            if fcntl is not None:
                fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes, or the process dies
            if not force and not _verify(target):
                return ""
            error = _build(source, target, compiler)
            if not error and _verify(target):
                error = f"{target} {_verify(target)} right after it was built"
            if not error:
                return ""
    if problem == MISSING:
        return f"building {source.name} failed: {error}"
    return f"the cached {target} {problem}, and building it again failed: {error}"


def _open(target: Path, symbols: Sequence[str]) -> tuple[ctypes.CDLL | str, list[str]]:
    """(library, names of the missing symbols), or (why it did not load, [])."""
    try:
        lib = ctypes.CDLL(str(target))
    except OSError as exc:
        return f"loading {target} failed: {exc}", []
    return lib, [name for name in symbols if not hasattr(lib, name)]


def _unload(lib: ctypes.CDLL) -> None:
    """Close a library, so that dlopen of the same path after a rebuild loads the new file (glibc
    hands back an open library of the same name otherwise)."""
    import _ctypes

    if hasattr(_ctypes, "dlclose"):
        _ctypes.dlclose(lib._handle)


def _private_folder(folder: Path) -> str:
    """'' when ``folder`` is absent or only this user can write to it, else the reason to refuse it."""
    try:
        problem = _foreign(os.stat(folder), stat.S_IWGRP | stat.S_IWOTH)
    except OSError:
        return ""  # absent (made private when built) or unreadable (the build says why)
    fix = f"chmod go-w {folder}, or " if problem.startswith("is writable") else ""
    return problem and f"the cache {folder} {problem}; {fix}set SEQLAB_CACHE to a folder of your own"


def _library(source: Path, symbols: Sequence[str]) -> ctypes.CDLL | str:
    """The verified library built from ``source`` with ``symbols``, or why it is unavailable."""
    compiler = _compiler()
    if compiler is None:
        return "no C compiler (install gcc, or set CC to one)"
    target = _target(source, compiler)
    error = _private_folder(target.parent)
    problem = _verify(target)
    if not error and problem:
        error = _rebuild(source, target, compiler, problem)
    if error:
        return error
    lib, missing = _open(target, symbols)
    if missing and not isinstance(lib, str):  # another library that matches its checksum: rebuild once
        _unload(lib)
        error = _rebuild(source, target, compiler, f"does not define {', '.join(missing)}", force=True)
        if error:
            return error
        lib, missing = _open(target, symbols)
    if missing:
        return f"{target}, built from {source.name}, does not define {', '.join(missing)}"
    return lib


@cache
def _load(source_name: str, symbols: tuple[str, ...]) -> ctypes.CDLL | str:
    """The library, or why it is unavailable (remembered for this process only)."""
    return _library(Path(__file__).resolve().parent / source_name, symbols)


def load(source_name: str, symbols: Sequence[str] = ()) -> ctypes.CDLL:
    """The shared library built from ``seqlab/<source_name>``, defining ``symbols``; raises
    NativeUnavailable with a one-line reason."""
    if switched_off():
        raise NativeUnavailable("SEQLAB_NATIVE=0")
    result = _load(source_name, tuple(symbols))
    if isinstance(result, str):
        raise NativeUnavailable(" ".join(result.split()))
    return result


def available(source_name: str, symbols: Sequence[str] = ()) -> tuple[bool, str]:
    """(True, '') when the kernel loads, else (False, reason)."""
    try:
        load(source_name, symbols)
    except NativeUnavailable as exc:
        return False, str(exc)
    return True, ""


@cache
def announce_fallback(why: str) -> None:
    """Warn (:func:`seqlab.log.warn`: the ``seqlab.native`` logger, and stderr), once per process and reason,
    that ``cpu_kernel = "auto"`` trains with the torch steps because the C kernel is unavailable (``why``);
    silent when SEQLAB_NATIVE=0 asked for it."""
    if not switched_off():
        warn(f"seqlab: the C kernel is unavailable ({why}); training with the slower torch kernel "
             "(cpu_kernel = \"torch\" silences this)", __name__)


def use_native(kernel: str, device_type: str, status: Callable[[], tuple[bool, str]]) -> bool:
    """Whether the ``cpu_kernel`` setting ``kernel`` means a C kernel on a ``device_type`` device, given its
    ``status()`` ((True, '') or (False, why)): never off the CPU or with ``torch``; with ``auto`` when it
    loads (else the fallback is announced); any other choice (``native``, ``batched``) needs it, and
    without it is a ConfigError saying why."""
    if device_type != "cpu" or kernel == "torch":
        return False
    ok, why = status()
    if ok:
        return True
    if kernel != "auto":
        raise ConfigError(f"cpu_kernel {kernel}: the C kernel is unavailable here ({why}); "
                          "use cpu_kernel auto or torch")
    announce_fallback(why)
    return False
