"""``seqlab embed train`` when the C kernel cannot be had: ``--cpu-kernel native`` is a one-line error
with exit status 2, ``auto`` trains with the torch kernel and says why on stderr."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from seqlab import native
from seqlab.cli.main import main
from seqlab.embeddings import word2vec_native

TEXT = "the river runs through the old town .\nthe market is busy every morning in the town .\n" * 5


@pytest.fixture
def corpus(tmp_path, one_thread) -> Path:
    path = tmp_path / "town.txt"
    path.write_text(TEXT, encoding="utf-8")
    return path


@pytest.fixture(autouse=True)
def forget():
    """Kernels loaded and fallbacks announced by earlier tests are forgotten, before and after."""
    native._load.cache_clear()
    word2vec_native.announce_fallback.cache_clear()
    yield
    native._load.cache_clear()
    word2vec_native.announce_fallback.cache_clear()


def train(corpus: Path, output: Path, kernel: str):
    return CliRunner().invoke(main, ["embed", "train", str(corpus), "-o", str(output), "--epochs", "1",
                                     "--min-count", "1", "--dim", "8", "--quiet", "--device", "cpu",
                                     "--cpu-kernel", kernel])


def test_native_without_a_compiler_is_one_line_and_exit_2(corpus, tmp_path, monkeypatch):
    monkeypatch.setenv("CC", str(tmp_path / "no-such-cc"))
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    result = train(corpus, tmp_path / "vectors.txt", "native")
    assert result.exit_code == 2 and "Traceback" not in result.stderr
    assert result.stderr == ("seqlab: error: cpu_kernel native: the C kernel is unavailable here (no C compiler "
                             "(install gcc, or set CC to one)); use cpu_kernel auto or torch\n")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["town.txt"]  # nothing partial left behind


def test_auto_with_an_unwritable_cache_trains_with_torch_and_says_why(corpus, tmp_path, monkeypatch):
    if native._compiler() is None:
        pytest.skip("no C compiler here: the reason would be that, not the cache")
    blocker = tmp_path / "file"
    blocker.write_text("not a folder", encoding="utf-8")
    monkeypatch.setenv("SEQLAB_CACHE", str(blocker))
    result = train(corpus, tmp_path / "vectors.txt", "auto")
    assert result.exit_code == 0, result.stderr
    assert result.stderr == (f"seqlab: the C kernel is unavailable (building word2vec_cpu.c failed: cannot write to "
                             f"{blocker / 'native'}: Not a directory; set SEQLAB_CACHE to a writable folder); training "
                             'with the slower torch kernel (cpu_kernel = "torch" silences this)\n')
    assert (tmp_path / "vectors.txt").is_file()
