"""An instant command line (issue 25): help, the version and the group listings import no heavy library;
the queries on the shipped vectors import neither torch nor scikit-learn, and answer as KeyedVectors does;
each command's summary in a listing is the command's own."""

from __future__ import annotations

import json
import subprocess
import sys

import click
import numpy as np
import pytest

from seqlab import __version__
from seqlab.cli.main import LazyGroup, main
from seqlab.embeddings.keyed_vectors import KeyedVectors, load_default_vectors
from seqlab.embeddings.nearest import VectorIndex
from seqlab.errors import UnknownWordError
from seqlab.shipped import default_vectors_path

HEAVY = ("torch", "sklearn", "gensim", "sacrebleu")
GROUPS = ["embed", "glove", "seq2seq", "sentiment", "vision", "generative", "rl"]

# Runs the command line in a fresh interpreter as the `seqlab` script does and prints, after its output,
# one JSON line: the exit status and which heavy modules were imported.
PROBE = """
import json, sys
from seqlab.cli.main import main
status = 0
try:
    main(sys.argv[1:], prog_name="seqlab")
except SystemExit as exit:
    status = exit.code or 0
print(json.dumps({"status": status, "imported": [m for m in HEAVY if m in sys.modules]}))
""".replace("HEAVY", repr(HEAVY))


def run_probe(*args: str) -> tuple[str, dict]:
    """The command's output and the probe's report."""
    done = subprocess.run([sys.executable, "-c", PROBE, *args], capture_output=True, text=True, timeout=120)
    output, _, report = done.stdout.rstrip("\n").rpartition("\n")
    assert done.returncode == 0, done.stderr
    return output, json.loads(report)


@pytest.mark.parametrize("args", [["--help"], ["--version"], ["-h"]] + [[group, "--help"] for group in GROUPS],
                         ids=" ".join)
def test_help_and_version_import_nothing_heavy(args):
    output, report = run_probe(*args)
    assert report == {"status": 0, "imported": []}
    assert (output == f"seqlab, version {__version__}") if args == ["--version"] else ("Commands:" in output)


needs_vectors = pytest.mark.skipif(not default_vectors_path().exists(), reason="no shipped vectors in data/")


@needs_vectors
@pytest.mark.parametrize("args", [["analogy", "king", "man", "woman"], ["similar", "france", "-n", "5", "--json"],
                                  ["analogy", "king", "man", "woman", "--method", "mul", "--device", "cpu"]],
                         ids=" ".join)
def test_queries_on_the_shipped_vectors_need_neither_torch_nor_sklearn(args):
    output, report = run_probe(*args)
    assert report["status"] == 0
    assert not {"torch", "sklearn"} & set(report["imported"])
    kv = load_default_vectors()
    if args[0] == "analogy":
        expected = kv.analogy("king", "man", "woman", method="mul" if "mul" in args else "add")
        assert [line.split("\t")[0] for line in output.splitlines()] == [word for word, _ in expected]
        assert output.splitlines()[0].startswith("queen\t")
    else:
        assert [item["word"] for item in json.loads(output)] == [w for w, _ in kv.similar_by_word("france", 5)]


@needs_vectors
def test_an_unknown_word_is_a_one_line_error_without_torch():
    done = subprocess.run([sys.executable, "-c", PROBE, "similar", "zzzqqqxx"], capture_output=True, text=True,
                          timeout=120)
    report = json.loads(done.stdout.splitlines()[-1])
    assert report["status"] == 2 and "torch" not in report["imported"]
    assert done.stderr.count("\n") == 1 and "zzzqqqxx" in done.stderr and "Traceback" not in done.stderr


def lazy_entries(group: LazyGroup, path: tuple[str, ...] = ()):
    for name, (target, summary) in group.lazy.items():
        yield (*path, name), target, summary
    for name, command in group.commands.items():
        if isinstance(command, LazyGroup):
            yield from lazy_entries(command, (*path, name))


@pytest.mark.parametrize("path, target, summary", list(lazy_entries(main)), ids=lambda x: " ".join(x)
                         if isinstance(x, tuple) else None)
def test_each_summary_is_the_commands_own(path, target, summary):
    group = main
    for name in path[:-1]:
        group = group.commands[name]
    command = group.get_command(click.Context(group), path[-1])
    assert isinstance(command, click.Command) and command.name == path[-1]
    # the listing shows the summary cut to the terminal's width, as Click would cut the command's help
    for width in (40, 60, 10**6):
        assert click.Command(path[-1], help=summary).get_short_help_str(width) == command.get_short_help_str(width)


# ------------------------------------------------------------------ VectorIndex answers as KeyedVectors does
@pytest.fixture(scope="module")
def pair():
    rng = np.random.default_rng(3)
    words = [f"w{i}" for i in range(300)]
    vectors = rng.standard_normal((300, 16)).astype(np.float32)
    vectors[7] = 0.0  # a zero row is no one's neighbour
    return KeyedVectors(words, vectors), VectorIndex(words, vectors, "test.vec")


@pytest.mark.parametrize("call", [
    lambda v: v.most_similar(positive=["w1", "w2"], negative=["w3"], topn=12),
    lambda v: v.most_similar(positive=[("w1", 2.0), "w5"], negative="w9", topn=20, restrict_vocab=50),
    lambda v: v.most_similar(negative=["w4"], topn=5),
    lambda v: v.most_similar_cosmul(positive=["w1", "w2"], negative=["w3"], topn=12),
    lambda v: v.most_similar_cosmul(positive="w10", topn=400, restrict_vocab=100),
    lambda v: v.analogy("w1", "w2", "w3", topn=7, method="mul"),
    lambda v: v.similar_by_word("w7", topn=3),
    lambda v: v.similar_by_word("w0", topn=0),
])
def test_vector_index_answers_as_keyed_vectors(pair, call):
    kv, index = pair
    expected, got = call(kv), call(index)
    assert [w for w, _ in got] == [w for w, _ in expected]
    np.testing.assert_allclose([s for _, s in got], [s for _, s in expected], rtol=1e-5, atol=1e-6)


@needs_vectors
def test_vector_index_on_the_shipped_vectors_matches_keyed_vectors():
    kv, index = load_default_vectors(), VectorIndex.load_default()
    for a, b, c in [("king", "man", "woman"), ("paris", "france", "germany"), ("walking", "walk", "swim")]:
        for method in ("add", "mul"):
            expected, got = kv.analogy(a, b, c, 10, method), index.analogy(a, b, c, 10, method)
            assert [w for w, _ in got] == [w for w, _ in expected]
            np.testing.assert_allclose([s for _, s in got], [s for _, s in expected], rtol=1e-5, atol=1e-6)


def test_vector_index_names_an_unknown_word_and_its_file(pair):
    with pytest.raises(UnknownWordError, match="'nope'.*test.vec"):
        pair[1].analogy("w1", "nope", "w2")


def test_phrases_runs_without_torch(tmp_path):
    """`seqlab embed phrases` counts with numpy: it reaches its progress bar without importing torch."""
    corpus = tmp_path / "corpus.txt"
    corpus.write_text("new york is big\nin new york\nnew york new york\n" * 20)
    output, report = run_probe("embed", "phrases", str(corpus), "-o", str(tmp_path / "out.txt"),
                               "--min-count", "2", "--threshold", "0.1", "--json")
    assert report == {"status": 0, "imported": []}
    assert json.loads(output)["phrases"] >= 1


@pytest.mark.parametrize("test", ["--paired-bs", "--paired-ar"])
def test_paired_significance_on_the_cpu_runs_without_torch(tmp_path, test):
    """`seqlab bleu REF -i SYS... --paired-*` resamples in numpy on the CPU: no torch import (about a
    second), and the same table as the library call."""
    ref, base, other = (tmp_path / name for name in ("ref.txt", "base.txt", "other.txt"))
    ref.write_text("the cat sat on the mat\na dog runs in the park\nbirds fly over the sea\n" * 10)
    base.write_text("the cat sat on a mat\na dog runs in a park\nbirds fly over sea\n" * 10)
    other.write_text("cat sat mat\nthe dog is running in the park\nthe birds fly over the sea\n" * 10)
    output, report = run_probe("bleu", str(ref), "-i", str(base), str(other), "--metrics", "bleu,chrf,ter", test,
                               "--json")
    assert report["status"] == 0 and "torch" not in report["imported"]
    from seqlab.metrics.evaluate import evaluate_systems

    systems = [(str(path), path.read_text().splitlines()) for path in (base, other)]
    expected = evaluate_systems(systems, [ref.read_text().splitlines()], "bleu,chrf,ter", test[-2:])
    assert json.loads(output) == json.loads(json.dumps(expected.to_dict()))
