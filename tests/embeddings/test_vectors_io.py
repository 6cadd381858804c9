"""The vectors file formats on their own (seqlab.embeddings.vectors_io), and GloVe text files without a
header, read by gensim as the reference and by every command that takes vectors."""

from __future__ import annotations

import gzip
import subprocess
import sys

import numpy as np
import pytest
from click.testing import CliRunner
from gensim.models import KeyedVectors as GensimKeyedVectors

from seqlab.cli.main import main
from seqlab.embeddings.keyed_vectors import KeyedVectors
from seqlab.embeddings.vectors_io import Vectors, format_of, read_vectors, write_vectors
from seqlab.errors import DataError

WORDS = ["king", "queen", "man", "woman", "royal", "apple"]


def matrix() -> np.ndarray:
    rng = np.random.default_rng(0)
    return rng.standard_normal((len(WORDS), 5)).astype(np.float32)


def glove_text(words: list[str], rows: np.ndarray) -> str:
    """What Stanford's glove writes: ``word v1 ... vD`` per line, no header."""
    return "".join(f"{w} {' '.join(f'{v:.6f}' for v in row)}\n" for w, row in zip(words, rows, strict=True))


@pytest.fixture
def glove(tmp_path):
    path = tmp_path / "glove.6B.5d.txt"
    path.write_text(glove_text(WORDS, matrix()), encoding="utf-8")
    return path


@pytest.mark.parametrize("name", ["g.txt", "g.txt.gz", "g.vec"])
def test_glove_text_without_a_header_loads_as_gensim_reads_it(tmp_path, name):
    data = glove_text(WORDS, matrix()).encode()
    path = tmp_path / name
    path.write_bytes(gzip.compress(data) if name.endswith(".gz") else data)
    reference = GensimKeyedVectors.load_word2vec_format(str(path), binary=False, no_header=True)
    kv = KeyedVectors.load(path)
    assert kv.words == reference.index_to_key
    assert np.array_equal(kv.vectors.numpy(), reference.vectors)
    ours, theirs = kv.most_similar("king", topn=3), reference.most_similar("king", topn=3)
    assert [w for w, _ in ours] == [w for w, _ in theirs]
    assert [s for _, s in ours] == pytest.approx([s for _, s in theirs], abs=1e-6)
    assert KeyedVectors.load(path, limit=2).words == WORDS[:2]
    assert KeyedVectors.load(path, limit=0).vectors.shape == (0, 5)


def test_glove_text_grows_its_matrix_and_skips_blank_lines(tmp_path, monkeypatch):
    from seqlab.embeddings import vectors_io

    monkeypatch.setattr(vectors_io, "_BLOCK_BYTES", 4 * 5 * 2)  # room for two rows at first: grown twice
    text = glove_text(WORDS, matrix())
    path = tmp_path / "g.txt"
    path.write_text(text.replace("\nman ", "\n\nman ") + "\n", encoding="utf-8")
    words, rows, counts = read_vectors(path)
    assert words == WORDS and counts is None
    assert rows.shape == (6, 5) and np.allclose(rows, matrix(), atol=1e-6)


GLOVE_DAMAGE = {
    "too few values": ("a 1 2 3\nb 1 2\n", "line 2: expected 3 values after 'b', got 2"),
    "not a number": ("a 1 2 3\nb 1 x 3\n", "line 2: word 'b' has a value that is not a number"),
    "nan": ("a 1 2 3\n\nb 1 nan 3\n", "line 3: word 'b' has a NaN or infinite value"),
    "duplicate": ("a 1 2 3\na 1 2 3\n", "line 2: duplicate word 'a'"),
    "one dimension": ("a 1\nb 2\n", "line 1: expected a word2vec header"),  # cannot be told from a header
    "words only": ("a b c\n", "line 1: expected a word2vec header 'vocab_size vector_size' or a GloVe row"),
}


@pytest.mark.parametrize("case", list(GLOVE_DAMAGE))
def test_damaged_glove_files_name_the_file_and_line(tmp_path, case):
    text, message = GLOVE_DAMAGE[case]
    path = tmp_path / "bad.txt"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(DataError, match="bad.txt: " + message.replace("(", r"\(")):
        KeyedVectors.load(path)


@pytest.mark.parametrize("name", ["v.txt", "v.bin", "v.bin.gz", "native"])
def test_write_and_read_without_keyed_vectors(tmp_path, name):
    counts = np.arange(len(WORDS), 0, -1)
    path = write_vectors(tmp_path / name, WORDS, matrix(), counts)
    back = read_vectors(path)
    assert isinstance(back, Vectors) and back.words == WORDS and np.array_equal(back.matrix, matrix())
    assert back.counts is None if name != "native" else back.counts.tolist() == counts.tolist()
    kept = read_vectors(path, keep=lambda word: word.endswith("n"))
    assert kept.words == ["queen", "man", "woman"] and np.array_equal(kept.matrix, matrix()[[1, 2, 3]])


def test_keep_reads_only_the_wanted_rows_of_a_text_file(glove, tmp_path):
    words, rows, _ = read_vectors(glove, keep={"apple", "man"}.__contains__)
    assert words == ["man", "apple"] and np.allclose(rows, matrix()[[2, 5]], atol=1e-6)
    (tmp_path / "nan.txt").write_text("a 1 2\nb nan 2\nc 3 4\n", encoding="utf-8")
    assert read_vectors(tmp_path / "nan.txt", keep={"a", "c"}.__contains__).words == ["a", "c"]
    with pytest.raises(DataError, match="line 2: word 'b'"):
        read_vectors(tmp_path / "nan.txt")


def test_write_vectors_refuses_what_it_cannot_store(tmp_path):
    with pytest.raises(ValueError, match="shape"):
        write_vectors(tmp_path / "v.txt", WORDS[:2], matrix())
    with pytest.raises(ValueError, match="only for the native format"):
        write_vectors(tmp_path / "v.txt", WORDS, matrix(), dtype="float16")
    with pytest.raises(DataError, match="float16 holds at most 65504"):
        write_vectors(tmp_path / "v", WORDS, matrix() * 1e5, dtype="float16")
    assert not (tmp_path / "v").exists() and not (tmp_path / "v.txt").exists()


@pytest.mark.parametrize(("name", "fmt"), [("a.txt", "text"), ("a.vec.xz", "text"), ("a.bin", "bin"),
                                           ("a.bin.gz", "bin"), ("dir", "native"), ("a.npy", "native")])
def test_format_of_follows_the_name(name, fmt):
    assert format_of(name) == fmt
    assert format_of(name, "bin") == "bin"
    with pytest.raises(ValueError, match="fmt must be one of"):
        format_of(name, "glove")


def test_the_file_formats_know_nothing_of_torch_or_the_query_class():
    code = ("import sys, seqlab.embeddings.vectors_io as v; "
            "assert 'torch' not in sys.modules and 'seqlab.embeddings.keyed_vectors' not in sys.modules")
    subprocess.run([sys.executable, "-c", code], check=True)


@pytest.mark.parametrize(("command", "expected"), [
    (["similar", "king", "-n", "1"], "\t"),
    (["analogy", "king", "man", "woman", "-n", "1"], "\t"),
    (["embed", "eval", "{glove}", "--analogies", "{questions}", "--similarity", "{pairs}"], "accuracy"),
])
def test_commands_take_glove_files(glove, tmp_path, command, expected):
    (tmp_path / "questions.txt").write_text(": royalty\nman king woman queen\n", encoding="utf-8")
    (tmp_path / "pairs.tsv").write_text("king\tqueen\t8.5\nman\twoman\t8.3\nking\tapple\t0.5\n", encoding="utf-8")
    names = {"glove": glove, "questions": tmp_path / "questions.txt", "pairs": tmp_path / "pairs.tsv"}
    args = [part.format(**names) for part in command]
    if command[0] != "embed":
        args += ["--vectors", str(glove)]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    assert expected in result.stdout.lower()
