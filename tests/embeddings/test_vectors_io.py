"""The vectors file formats on their own (seqlab.embeddings.vectors_io), and GloVe text files without a
header, read by gensim as the reference and by every command that takes vectors."""

from __future__ import annotations

import bz2
import gzip
import json
import subprocess
import sys

import numpy as np
import pytest
import torch
from click.testing import CliRunner
from gensim.models import KeyedVectors as GensimKeyedVectors

from seqlab.cli.main import main
from seqlab.embeddings.keyed_vectors import KeyedVectors
from seqlab.embeddings.vectors_io import Vectors, convert_vectors, format_of, read_vectors, write_vectors
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
                                           ("a.bin.gz", "bin"), ("dir", "native"), ("a.npy", "native"),
                                           ("a.glove", "glove"), ("a.GLOVE.bz2", "glove"), ("lee.glove.bin", "bin")])
def test_format_of_follows_the_name(name, fmt):
    assert format_of(name) == fmt
    assert format_of(name, "bin") == "bin" and format_of(name, "glove") == "glove"
    with pytest.raises(ValueError, match="fmt must be one of text, bin, native, glove"):
        format_of(name, "word2vec")


def test_the_file_formats_know_nothing_of_torch_or_the_query_class():
    code = ("import sys, seqlab.embeddings.vectors_io as v; "
            "assert 'torch' not in sys.modules and 'seqlab.embeddings.keyed_vectors' not in sys.modules")
    subprocess.run([sys.executable, "-c", code], check=True)


@pytest.mark.parametrize("name", ["glove.6B.5d.txt", "g.glove", "g.txt.gz", "glove.6B.5d"])
@pytest.mark.parametrize(("command", "expected"), [
    (["similar", "king", "-n", "1"], "\t"),
    (["analogy", "king", "man", "woman", "-n", "1"], "\t"),
    (["embed", "eval", "{glove}", "--analogies", "{questions}", "--similarity", "{pairs}"], "accuracy"),
])
def test_commands_take_glove_files(tmp_path, command, expected, name):
    glove = tmp_path / name
    data = glove_text(WORDS, matrix()).encode()
    glove.write_bytes(gzip.compress(data) if name.endswith(".gz") else data)
    (tmp_path / "questions.txt").write_text(": royalty\nman king woman queen\n", encoding="utf-8")
    (tmp_path / "pairs.tsv").write_text("king\tqueen\t8.5\nman\twoman\t8.3\nking\tapple\t0.5\n", encoding="utf-8")
    names = {"glove": glove, "questions": tmp_path / "questions.txt", "pairs": tmp_path / "pairs.tsv"}
    args = [part.format(**names) for part in command]
    if command[0] != "embed":
        args += ["--vectors", str(glove)]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    assert expected in result.stdout.lower()


@pytest.mark.parametrize("name", ["g.txt", "g.glove", "g.txt.gz", "glove.6B.5d", "g.gz"])
@pytest.mark.parametrize("command", [["similar", "queen"], ["analogy", "king", "man", "woman"]], ids=" ".join)
def test_queries_on_headerless_files_answer_as_gensim(tmp_path, name, command):
    data = glove_text(WORDS, matrix()).encode()
    path = tmp_path / name
    path.write_bytes(gzip.compress(data) if name.endswith(".gz") else data)
    reference = GensimKeyedVectors.load_word2vec_format(str(path), binary=False, no_header=True)
    for device in ("cpu", "auto"):  # cpu: the numpy VectorIndex; auto: KeyedVectors on a GPU when there is one
        result = CliRunner().invoke(main, [*command, "--vectors", str(path), "-n", "3", "--json", "--device", device])
        assert result.exit_code == 0, result.output
        got = json.loads(result.stdout)
        positive, negative = ([command[1]], []) if command[0] == "similar" else ([command[1], command[3]], [command[2]])
        expected = reference.most_similar(positive=positive, negative=negative, topn=3)
        assert [item["word"] for item in got] == [w for w, _ in expected]
        assert [item["score"] for item in got] == pytest.approx([s for _, s in expected], abs=1e-5)


# ------------------------------------------------------------------------------- writing GloVe text
@pytest.mark.parametrize(("name", "fmt"), [("g.txt", "glove"), ("g.glove", None), ("g.glove.gz", None),
                                           ("g.txt.gz", "glove"), ("g.vec.bz2", "glove"), ("g", "glove")])
def test_glove_text_round_trips_without_a_header(tmp_path, name, fmt):
    kv = KeyedVectors(WORDS, matrix(), counts=np.arange(6, 0, -1))
    path = kv.save(tmp_path / name, fmt=fmt)
    assert path == tmp_path / name and path.is_file()
    raw = path.read_bytes()
    text = {".gz": gzip.decompress, ".bz2": bz2.decompress}.get(path.suffix, lambda b: b)(raw).decode()
    assert text.splitlines()[0].split()[0] == "king" and len(text.splitlines()) == len(WORDS)  # no header line
    back = KeyedVectors.load(path, fmt=fmt)
    assert back.words == WORDS and torch.equal(back.vectors, kv.vectors) and back.counts is None
    if not name.endswith((".gz", ".bz2")):  # gensim reads the same
        reference = GensimKeyedVectors.load_word2vec_format(str(path), binary=False, no_header=True)
        assert reference.index_to_key == WORDS and np.array_equal(reference.vectors, matrix())


def test_a_glove_file_of_one_dimension_needs_fmt_glove(tmp_path):
    path = tmp_path / "one.txt"
    path.write_text("king 0.5\nqueen -1.25\nman 3\n", encoding="utf-8")
    with pytest.raises(DataError, match=r"one.txt: line 1: expected a word2vec header .* needs fmt='glove'"):
        KeyedVectors.load(path)
    for loaded in (KeyedVectors.load(path, fmt="glove"), KeyedVectors.load(write_vectors(
            tmp_path / "one.glove", ["king", "queen", "man"], [[0.5], [-1.25], [3.0]]))):
        assert loaded.words == ["king", "queen", "man"]
        assert loaded.vectors.flatten().tolist() == [0.5, -1.25, 3.0]
    # a one-dimensional row that is also a header ('3 2': word '3', value 2) is read as a header
    (tmp_path / "ints.txt").write_text("3 2\nqueen -1.25\nman 3\n", encoding="utf-8")
    with pytest.raises(DataError, match="line 2: expected 2 values after 'queen', got 1; if line 1 is a one-dim"):
        read_vectors(tmp_path / "ints.txt")
    assert read_vectors(tmp_path / "ints.txt", "glove").words == ["3", "queen", "man"]


def test_a_word2vec_header_is_read_as_one_unless_glove_is_asked_for(tmp_path):
    kv = KeyedVectors(WORDS, matrix())
    for name in ("h.txt", "h.vec", "h.txt.gz", "h"):  # the last: no format in the name, a file: text
        path = kv.save(tmp_path / name, fmt="text")
        assert (gzip.decompress(path.read_bytes()) if name.endswith(".gz") else path.read_bytes()).startswith(b"6 5\n")
        assert torch.equal(KeyedVectors.load(path).vectors, kv.vectors)
    with pytest.raises(DataError, match=r"h.txt: line 2: expected 1 values after 'king', got 5; line 1 looks like a "
                                        r"word2vec header: read the file as word2vec text \(fmt='text'\)"):
        KeyedVectors.load(tmp_path / "h.txt", fmt="glove")
    (tmp_path / "h.glove").write_bytes((tmp_path / "h.txt").read_bytes())  # a .glove name says: no header
    with pytest.raises(DataError, match="h.glove: line 2: .* looks like a word2vec header"):
        KeyedVectors.load(tmp_path / "h.glove")
    assert KeyedVectors.load(tmp_path / "h.glove", fmt="text").words == WORDS


def test_a_file_whose_name_says_no_format_is_read_as_text(tmp_path):
    kv = KeyedVectors(WORDS, matrix())
    kv.save(tmp_path / "w.bin")
    (tmp_path / "w.bin").rename(tmp_path / "w2v")  # word2vec binary under a name that does not say so
    with pytest.raises(DataError, match=r"w2v: .*\(read as word2vec or GloVe text, as the name 'w2v' says no "
                                        r"format; word2vec binary needs a .bin name or fmt='bin'\)"):
        KeyedVectors.load(tmp_path / "w2v")
    assert torch.equal(KeyedVectors.load(tmp_path / "w2v", fmt="bin").vectors, kv.vectors)
    with pytest.raises(DataError, match="w2v: not a seqlab vectors directory"):
        read_vectors(tmp_path / "w2v", "native")


def test_writing_glove_text_refuses_what_it_cannot_hold(tmp_path):
    with pytest.raises(DataError, match="word 'new york' cannot be stored in GloVe text format"):
        write_vectors(tmp_path / "a.glove", ["new york"], np.ones((1, 2)))
    with pytest.raises(DataError, match="GloVe text cannot hold 0 x 3 vectors"):
        write_vectors(tmp_path / "b.txt", [], np.ones((0, 3)), fmt="glove")
    with pytest.raises(ValueError, match="only for the native format; .*c.glove is GloVe text"):
        write_vectors(tmp_path / "c.glove", ["a"], np.ones((1, 2)), dtype="float16")
    assert sorted(p.name for p in tmp_path.iterdir()) == []


# ----------------------------------------------------------------------------------- seqlab convert
def test_convert_between_every_format(tmp_path):
    counts = np.arange(6, 0, -1)
    write_vectors(tmp_path / "start", WORDS, matrix(), counts)
    chain = [("start", "a.glove", None, None), ("a.glove", "b.bin.gz", None, None),
             ("b.bin.gz", "c.txt", None, "glove"), ("c.txt", "d.vec", "glove", None), ("d.vec", "e", None, None)]
    for source, target, source_fmt, target_fmt in chain:
        read = convert_vectors(tmp_path / source, tmp_path / target, source_fmt, target_fmt)
        assert read.words == WORDS and np.array_equal(read.matrix, matrix())
    assert (tmp_path / "c.txt").read_text(encoding="utf-8").startswith("king ")  # --to glove: no header
    assert (tmp_path / "d.vec").read_text(encoding="utf-8").startswith("6 5\n")
    assert read_vectors(tmp_path / "start").counts.tolist() == counts.tolist()
    assert read_vectors(tmp_path / "e").counts is None  # word2vec and GloVe files have none


def test_convert_command(tmp_path):
    write_vectors(tmp_path / "v.txt", WORDS, matrix())
    result = CliRunner().invoke(main, ["convert", str(tmp_path / "v.txt"), "-o", str(tmp_path / "v.out"), "--to",
                                       "glove"])
    assert result.exit_code == 0, result.output
    assert result.stdout == f"converted 6 x 5 vectors: {tmp_path / 'v.txt'} -> {tmp_path / 'v.out'} (GloVe text)\n"
    assert np.array_equal(read_vectors(tmp_path / "v.out", "glove").matrix, matrix())
    result = CliRunner().invoke(main, ["convert", str(tmp_path / "v.out"), "-o", str(tmp_path / "half"),
                                       "--store-dtype", "float16"])
    assert result.exit_code == 0, result.output
    assert np.allclose(read_vectors(tmp_path / "half").matrix, matrix(), atol=2e-3)
    for args, message in [(["--to", "glove"], "give -o OUTPUT"), (["-o", "x.txt", "--store-dtype", "float16"],
                                                                  "float16 is only for the native format"),
                          (["-o", "y.bin", "--from", "bin"], "holds a newline, so this is not word2vec binary")]:
        result = CliRunner().invoke(main, ["convert", str(tmp_path / "v.txt"), *args])
        assert result.exit_code == 2 and message in result.output and "Traceback" not in result.output, result.output


# ------------------------------------------------------------------------------- gensim in memory
def test_to_gensim_and_back(tmp_path):
    counts = np.array([50, 40, 30, 20, 10, 5])
    ours = KeyedVectors(WORDS, matrix(), counts)
    theirs = ours.to_gensim()
    assert isinstance(theirs, GensimKeyedVectors) and theirs.index_to_key == WORDS
    assert theirs.vectors.dtype == np.float32 and np.array_equal(theirs.vectors, matrix())
    assert [theirs.get_vecattr(w, "count") for w in WORDS] == counts.tolist()
    for positive, negative in [(["king"], []), (["king", "woman"], ["man"])]:
        expected = theirs.most_similar(positive=positive, negative=negative, topn=4)
        got = ours.most_similar(positive=positive, negative=negative, topn=4)
        assert [w for w, _ in got] == [w for w, _ in expected]
        assert [s for _, s in got] == pytest.approx([s for _, s in expected], abs=1e-6)
    back = KeyedVectors.from_gensim(theirs)
    assert back.words == WORDS and torch.equal(back.vectors, ours.vectors) and back.counts.tolist() == counts.tolist()
    theirs.vectors[0] = 0  # copies, not views
    assert ours.vectors[0].abs().sum() > 0 and back.vectors[0].abs().sum() > 0
    assert "count" not in KeyedVectors(WORDS, matrix()).to_gensim().expandos
    assert KeyedVectors.from_gensim(ours).counts.tolist() == counts.tolist()  # ours too (seqlab's Word2Vec.wv)


def test_from_gensim_reads_a_trained_model_and_a_file_gensim_loaded(tmp_path):
    from gensim.models import Word2Vec

    sentences = [["the", "king", "and", "the", "queen"], ["a", "man", "and", "a", "woman"]] * 5
    model = Word2Vec(sentences, vector_size=8, min_count=1, epochs=1, workers=1, seed=1)
    ours = KeyedVectors.from_gensim(model)  # a model: its .wv
    assert ours.words == model.wv.index_to_key and np.array_equal(ours.vectors.numpy(), model.wv.vectors)
    assert ours.counts.tolist() == [model.wv.get_vecattr(w, "count") for w in ours.words]
    got, expected = ours.most_similar("king", topn=3), model.wv.most_similar("king", topn=3)
    assert [w for w, _ in got] == [w for w, _ in expected]
    assert [s for _, s in got] == pytest.approx([s for _, s in expected], abs=1e-6)
    path = tmp_path / "g.txt"
    path.write_text(glove_text(WORDS, matrix()), encoding="utf-8")
    loaded = KeyedVectors.from_gensim(GensimKeyedVectors.load_word2vec_format(str(path), no_header=True))
    assert loaded.words == WORDS and np.allclose(loaded.vectors.numpy(), matrix(), atol=1e-6)
    with pytest.raises(TypeError, match="expects a gensim KeyedVectors"):
        KeyedVectors.from_gensim(object())


def test_gensim_is_imported_only_when_asked_for():
    code = ("import sys; from seqlab.embeddings.keyed_vectors import KeyedVectors; import numpy as np; "
            "kv = KeyedVectors(['a', 'b'], np.eye(2)); "
            "assert 'gensim' not in sys.modules; kv.to_gensim(); assert 'gensim' in sys.modules")
    subprocess.run([sys.executable, "-c", code], check=True)
