"""Building the C kernels: compile errors and unwritable caches become reasons, not tracebacks."""

from __future__ import annotations

import ctypes

import pytest

from seqlab import native


@pytest.fixture
def compiler() -> str:
    name = native._compiler()
    if name is None:
        pytest.skip("no C compiler here")
    return name


def test_a_good_source_builds_and_loads(tmp_path, compiler):
    source = tmp_path / "add.c"
    source.write_text("int add(int a, int b) { return a + b; }\n", encoding="utf-8")
    target = tmp_path / "cache" / "add.so"
    assert native._build(source, target, compiler) == ""
    assert ctypes.CDLL(str(target)).add(2, 3) == 5
    assert sorted(p.name for p in target.parent.iterdir()) == ["add.so"]  # no temporary file left


def test_a_compile_error_is_a_reason(tmp_path, compiler):
    source = tmp_path / "bad.c"
    source.write_text("int broken( {\n", encoding="utf-8")
    target = tmp_path / "cache" / "bad.so"
    error = native._build(source, target, compiler)
    assert error and "error" in error.lower()
    assert not target.exists() and list(target.parent.iterdir()) == []


def test_an_unwritable_cache_is_a_reason(tmp_path, compiler):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder", encoding="utf-8")
    error = native._build(tmp_path / "x.c", blocker / "sub" / "x.so", compiler)
    assert error.startswith(f"cannot write to {blocker / 'sub'}")


def test_switched_off_by_the_environment(monkeypatch):
    monkeypatch.setenv("SEQLAB_NATIVE", "0")
    assert native.available("embeddings/word2vec_cpu.c") == (False, "SEQLAB_NATIVE=0")
    with pytest.raises(native.NativeUnavailable, match="SEQLAB_NATIVE=0"):
        native.load("embeddings/word2vec_cpu.c")
