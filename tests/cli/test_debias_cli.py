"""``seqlab debias``, ``seqlab embed bias``, ``seqlab embed plot`` and ``plot-bias`` through Click's
test runner: outputs, the --json report, and one-line errors for bad input."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from seqlab.cli.main import main
from seqlab.embeddings import word_lists
from seqlab.embeddings.keyed_vectors import KeyedVectors, load_default_vectors
from seqlab.errors import DataError


@pytest.fixture(scope="module")
def small_vectors(tmp_path_factory):
    """The first 5000 default vectors, as a word2vec text file."""
    path = tmp_path_factory.mktemp("vectors") / "small.txt"
    KeyedVectors.load(load_default_vectors().source, limit=5000).save(path)
    return path


@pytest.fixture
def lists(shared_data):
    return str(shared_data / "debias")


def invoke(*args):
    return CliRunner().invoke(main, [str(a) for a in args])


def assert_one_line_error(result, *fragments: str) -> None:
    assert result.exit_code == 2, (result.stdout, result.stderr)
    assert isinstance(result.exception, SystemExit) and "Traceback" not in result.stderr
    assert result.stderr.startswith("seqlab: error: ") and result.stderr.count("\n") == 1, result.stderr
    for fragment in fragments:
        assert fragment in result.stderr, result.stderr
    assert result.stdout == ""


def test_debias_then_bias_json(small_vectors, lists, tmp_path):
    out = tmp_path / "debiased.bin"
    result = invoke("debias", small_vectors, "-o", out, "--lists", lists, "--json", "--device", "cpu")
    assert result.exit_code == 0, result.stderr
    summary = json.loads(result.stdout)
    assert summary["method"] == "hard" and summary["direct_bias_after"] < 1e-5 < summary["direct_bias_before"]
    assert len(summary["explained_variance_ratio"]) == 10 and summary["neutralized"] > 4000
    assert len(KeyedVectors.load(out)) == 5000

    result = invoke("embed", "bias", out, "--reference", small_vectors, "--lists", lists, "--json",
                    "--cluster-words", "100", "--weat", "math_arts", "--device", "cpu")
    assert result.exit_code == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["direct_bias"] < 1e-5 and set(report["weat"]) == {"math_arts"}
    assert {"effect_size", "p_value"} <= set(report["weat"]["math_arts"])
    assert 0.5 <= report["cluster_accuracy"] <= 1.0 and report["cluster_words"] == 200

    text = invoke("embed", "bias", small_vectors, "--lists", lists, "--cluster-words", "100", "--words",
                  "she,zzqq,he", "--device", "cpu")
    assert text.exit_code == 0, text.stderr
    assert "DirectBias   0." in text.stdout and "clustering   accuracy" in text.stdout
    assert "projections  she +0." in text.stdout and "  he " in text.stdout and "zzqq" not in text.stdout
    assert "WEAT         math_arts: effect size +" in text.stdout
    assert "WEAT         career_family: skipped (WEAT career_family: no word of female names" in text.stdout


def test_plots(small_vectors, lists, tmp_path):
    image = pytest.importorskip("matplotlib.image")
    result = invoke("embed", "plot", small_vectors, "--top", "40", "-o", tmp_path / "top.png", "--method", "pca")
    assert result.exit_code == 0, result.stderr
    assert result.stdout == f"wrote {tmp_path / 'top.png'}\n" and image.imread(str(tmp_path / "top.png")).std() > 0.05
    result = invoke("embed", "plot-bias", small_vectors, "--lists", lists, "-o", tmp_path / "bias.png",
                    "--words", "nurse,engineer,she,he,doctor")
    assert result.exit_code == 0, result.stderr
    assert image.imread(str(tmp_path / "bias.png")).std() > 0.05


@pytest.mark.parametrize("args,fragments", [
    (["debias", "{tmp}/none.bin", "-o", "{tmp}/o.bin", "--lists", "{lists}"], ["none.bin: no such file"]),
    (["debias", "{vectors}", "-o", "{tmp}/o.bin", "--lists", "{tmp}/nodir"], ["nodir: no such directory"]),
    (["debias", "{vectors}", "-o", "{tmp}/o.bin", "--lists", "{tmp}"],
     ["equalize_pairs.json: no such file; --lists DIR needs"]),
    (["embed", "bias", "{vectors}", "--lists", "{lists}", "--weat", "nosuch"],
     ["unknown WEAT test 'nosuch'; known: career_family, math_arts, science_arts"]),
    (["embed", "bias", "{tmp}/none.txt", "--lists", "{lists}"], ["none.txt: no such file"]),
    (["embed", "plot", "{vectors}", "-o", "{tmp}/x.png"], ["give either --words w1,w2,... or --top N"]),
    (["embed", "plot", "{vectors}", "--words", "zzq,qqz,the", "-o", "{tmp}/x.png"],
     ["at least 3 words in the vocabulary; found 1 of 3"]),
])
def test_bad_input(small_vectors, lists, tmp_path, args, fragments):
    args = [a.format(tmp=tmp_path, lists=lists, vectors=small_vectors) for a in args]
    assert_one_line_error(invoke(*args), *fragments)


def test_the_shipped_lists_work_offline_with_no_lists_option(small_vectors, tmp_path, monkeypatch):
    """seqlab debias V -o OUT and seqlab embed bias V --json, right after install, with no network."""
    monkeypatch.setenv("SEQLAB_CACHE_DIR", str(tmp_path / "cache"))

    def offline(name, target, timeout=0):
        raise AssertionError(f"tried to download {name}")

    monkeypatch.setattr(word_lists, "download", offline)
    result = invoke("debias", small_vectors, "-o", tmp_path / "o.bin", "--json")
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert summary["lists"].startswith("tolga-b/debiaswe@6bb03ee2a0d7") and summary["direct_bias_after"] < 1e-6
    result = invoke("embed", "bias", small_vectors, "--json")
    assert result.exit_code == 0, result.output
    assert not (tmp_path / "cache").exists()


def test_no_lists_and_no_network(small_vectors, tmp_path, monkeypatch):
    """An install without the shipped lists (or with altered ones) downloads them; offline that is one line."""
    monkeypatch.setenv("SEQLAB_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setattr(word_lists, "shipped_release_file", lambda name: None)

    def offline(name, target, timeout=0):
        raise DataError(f"cannot download {name} (offline)")

    monkeypatch.setattr(word_lists, "download", offline)
    result = invoke("debias", small_vectors, "-o", tmp_path / "o.bin")
    assert_one_line_error(result, "Bolukbasi et al. word lists are needed", "cannot download", "pass --lists DIR")
    assert not (tmp_path / "o.bin").exists()
