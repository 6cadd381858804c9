"""Building and loading the C kernels: compile errors and unwritable caches become reasons, not
tracebacks, and a cached library is loaded only when it is ours and matches its checksum."""

from __future__ import annotations

import ctypes
import hashlib
import os
import subprocess
import threading
from pathlib import Path

import pytest

from seqlab import native

ADD = "int add(int a, int b) { return a + b; }\n"


@pytest.fixture
def compiler() -> str:
    name = native._compiler()
    if name is None:
        pytest.skip("no C compiler here")
    return name


@pytest.fixture
def cache(tmp_path, monkeypatch) -> Path:
    """An empty SEQLAB_CACHE; the process-wide memory of loaded kernels is cleared before and after."""
    monkeypatch.setenv("SEQLAB_CACHE", str(tmp_path / "cache"))
    native._load.cache_clear()
    yield tmp_path / "cache" / "native"
    native._load.cache_clear()


@pytest.fixture
def builds(monkeypatch) -> list[Path]:
    """The targets native._build is asked to build, in order."""
    calls: list[Path] = []
    real = native._build

    def counted(source, target, compiler):
        calls.append(target)
        return real(source, target, compiler)

    monkeypatch.setattr(native, "_build", counted)
    return calls


def write_source(folder: Path, name: str, text: str) -> Path:
    """A C file of its own name in its own folder, so that two tests never share a library path
    (glibc hands back an already opened library of the same path)."""
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def recorded(target: Path) -> str:
    return native._checksum_path(target).read_text(encoding="ascii").split()[0]


def test_a_good_source_builds_and_loads(tmp_path, compiler):
    source = write_source(tmp_path, "add.c", ADD)
    target = tmp_path / "cache" / "add.so"
    assert native._build(source, target, compiler) == ""
    assert ctypes.CDLL(str(target)).add(2, 3) == 5
    assert sorted(p.name for p in target.parent.iterdir()) == ["add.so", "add.so.sha256"]  # no temporary file
    assert recorded(target) == sha256(target) and native._verify(target) == ""
    assert target.stat().st_mode & 0o022 == 0


def test_a_compile_error_is_a_reason(tmp_path, compiler):
    source = write_source(tmp_path, "bad.c", "int broken( {\n")
    target = tmp_path / "cache" / "bad.so"
    error = native._build(source, target, compiler)
    assert error and "error" in error.lower()
    assert not target.exists() and list(target.parent.iterdir()) == []


def test_an_unwritable_cache_is_a_reason(tmp_path, compiler):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder", encoding="utf-8")
    error = native._build(tmp_path / "x.c", blocker / "sub" / "x.so", compiler)
    assert error.startswith(f"cannot write to {blocker / 'sub'}") and "set SEQLAB_CACHE" in error


def test_an_unwritable_cache_folder_is_a_one_line_reason(tmp_path, monkeypatch, compiler):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder", encoding="utf-8")
    monkeypatch.setenv("SEQLAB_CACHE", str(blocker))
    source = write_source(tmp_path, "add.c", ADD)
    assert native._library(source, ("add",)) == (
        f"building add.c failed: cannot write to {blocker / 'native'}: Not a directory; "
        "set SEQLAB_CACHE to a writable folder")


def test_a_verified_library_is_loaded_without_rebuilding(tmp_path, cache, compiler, builds):
    source = write_source(tmp_path / "verified", "add.c", ADD)
    assert native._library(source, ("add",)).add(2, 3) == 5
    assert builds == [native._target(source, compiler)]
    assert native._library(source, ("add",)).add(4, 5) == 9
    assert len(builds) == 1


@pytest.mark.parametrize("damage", ["truncated", "flipped", "no checksum", "empty checksum"])
def test_a_damaged_library_is_rebuilt(tmp_path, cache, compiler, builds, damage):
    source = write_source(tmp_path / damage.replace(" ", "_"), "add.c", ADD)
    target = native._target(source, compiler)
    assert native._build(source, target, compiler) == ""  # built, never loaded in this process
    data = target.read_bytes()
    if damage == "truncated":
        target.write_bytes(data[: len(data) // 2])
    elif damage == "flipped":
        target.write_bytes(data[:1000] + bytes([data[1000] ^ 1]) + data[1001:])
    elif damage == "no checksum":
        native._checksum_path(target).unlink()
    else:
        native._checksum_path(target).write_text("", encoding="ascii")
    assert native._verify(target) != ""
    builds.clear()
    assert native._library(source, ("add",)).add(2, 3) == 5
    assert builds == [target] and target.read_bytes() == data and recorded(target) == sha256(target)


PLANTED = """
#include <stdio.h>
__attribute__((constructor)) static void planted(void) {
    FILE *f = fopen("%s", "w");
    if (f) { fputs("ran", f); fclose(f); }
}
int add(int a, int b) { return a - b; }
"""


@pytest.mark.parametrize("how", ["no checksum", "stale checksum", "writable by others", "symbolic link",
                                 "another user's"])
def test_a_planted_library_never_runs(tmp_path, cache, compiler, builds, how):
    if how == "another user's" and os.getuid() != 0:
        pytest.skip("giving a file to another user needs root")
    marker = tmp_path / "constructor-ran"
    source = write_source(tmp_path / how.replace(" ", "_").replace("'", ""), "add.c", ADD)
    target = native._target(source, compiler)
    target.parent.mkdir(parents=True, mode=0o700)
    planted = write_source(tmp_path / "plant", "planted.c", PLANTED % marker)
    built = tmp_path / "plant" / "planted.so"
    subprocess.run([compiler, "-shared", "-fPIC", str(planted), "-o", str(built)], check=True)
    digest = sha256(built)
    if how == "symbolic link":
        target.symlink_to(built)
    else:
        target.write_bytes(built.read_bytes())
        target.chmod(0o755)
    if how != "no checksum":
        checksum = "0" * 64 if how == "stale checksum" else digest
        native._checksum_path(target).write_text(f"{checksum}  {target.name}\n", encoding="ascii")
    if how == "writable by others":
        target.chmod(0o777)
    if how == "another user's":
        os.chown(target, 65534, 65534)
    assert native._verify(target) != ""
    lib = native._library(source, ("add",))
    assert not isinstance(lib, str), lib
    assert lib.add(2, 3) == 5 and not marker.exists()  # the real library, and the planted one never ran
    assert builds == [target] and not target.is_symlink() and recorded(target) == sha256(target)


def test_a_library_without_the_symbols_is_rebuilt(tmp_path, cache, compiler, builds):
    """A file that matches its checksum yet lacks a function (put there by this user) is rebuilt."""
    source = write_source(tmp_path / "symbols", "add.c", ADD)
    target = native._target(source, compiler)
    other = write_source(tmp_path / "other", "add.c", "int sub(int a, int b) { return a - b; }\n")
    assert native._build(other, target, compiler) == ""
    builds.clear()
    lib = native._library(source, ("add",))
    assert not isinstance(lib, str), lib
    assert lib.add(2, 3) == 5 and builds == [target]


def test_a_missing_symbol_in_the_source_is_a_reason(tmp_path, cache, compiler):
    source = write_source(tmp_path / "nosym", "add.c", ADD)
    reason = native._library(source, ("add", "mul"))
    assert reason == f"{native._target(source, compiler)}, built from add.c, does not define mul"


def test_a_cache_folder_others_can_write_is_refused(tmp_path, cache, compiler):
    source = write_source(tmp_path / "shared", "add.c", ADD)
    cache.mkdir(parents=True)
    cache.chmod(0o777)
    assert native._library(source, ("add",)) == (f"the cache {cache} is writable by other users; chmod go-w "
                                                   f"{cache}, or set SEQLAB_CACHE to a folder of your own")
    assert list(cache.iterdir()) == []  # nothing built or loaded there


def fake_compiler(tmp_path: Path, script: str) -> Path:
    path = tmp_path / "fakecc"
    path.write_text("#!/bin/sh\n" + script, encoding="utf-8")
    path.chmod(0o755)
    return path


def test_a_full_cache_is_named(tmp_path, cache, monkeypatch):
    """What gcc says when the disk is full (ld: final link failed), turned into what to do."""
    cc = fake_compiler(tmp_path, "echo '/usr/bin/ld: final link failed: No space left on device' >&2\n"
                                 "echo 'collect2: error: ld returned 1 exit status' >&2\nexit 1\n")
    monkeypatch.setenv("CC", str(cc))
    source = write_source(tmp_path / "full", "add.c", ADD)
    assert native._library(source, ("add",)) == (
        f"building add.c failed: the cache {cache} is full (No space left on device); "
        "free some space or set SEQLAB_CACHE to another folder")
    assert sorted(p.suffix for p in cache.iterdir()) == [".lock"]  # no library, no checksum, no marker


def test_a_failed_build_is_not_remembered(tmp_path, cache, monkeypatch, compiler):
    """Once the problem is fixed, the next process (here: a cleared cache) builds the kernel."""
    broken = tmp_path / "broken"
    broken.touch()
    cc = fake_compiler(tmp_path, f'[ -e "{broken}" ] && {{ echo "error: the compiler is broken" >&2; exit 1; }}\n'
                                 f'exec {compiler} "$@"\n')
    monkeypatch.setenv("CC", str(cc))
    source = write_source(tmp_path / "retry", "add.c", ADD)
    assert native._library(source, ("add",)) == "building add.c failed: error: the compiler is broken"
    broken.unlink()
    assert native._library(source, ("add",)).add(2, 3) == 5


def test_concurrent_first_uses_build_once(tmp_path, cache, compiler, builds):
    source = write_source(tmp_path / "concurrent", "add.c", ADD)
    results: list[object] = []
    threads = [threading.Thread(target=lambda: results.append(native._library(source, ("add",))))
               for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert [lib.add(1, 2) for lib in results] == [3] * 4
    assert len(builds) == 1 and native._verify(builds[0]) == ""


def test_no_compiler_is_a_reason(tmp_path, cache, monkeypatch):
    monkeypatch.setenv("CC", str(tmp_path / "no-such-cc"))
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    assert native.available("embeddings/word2vec_cpu.c") == (False, "no C compiler (install gcc, or set CC to one)")


def test_switched_off_by_the_environment(monkeypatch):
    monkeypatch.setenv("SEQLAB_NATIVE", "0")
    assert native.available("embeddings/word2vec_cpu.c") == (False, "SEQLAB_NATIVE=0")
    with pytest.raises(native.NativeUnavailable, match="SEQLAB_NATIVE=0"):
        native.load("embeddings/word2vec_cpu.c")
