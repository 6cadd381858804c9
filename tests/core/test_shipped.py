"""seqlab.shipped: every shipped file is found one way, and the functions that found them before agree."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

from seqlab import shipped
from seqlab.embeddings.evaluate import gensim_test_data
from seqlab.embeddings.glove import glove_default_corpus
from seqlab.embeddings.keyed_vectors import default_vectors_path
from seqlab.embeddings.word2vec_io import config_file, default_corpus
from seqlab.embeddings.word_lists import data_path
from seqlab.errors import DataError
from seqlab.sentiment.predict import default_model_path as sentiment_model_path
from seqlab.seq2seq.translate import default_model_path as dates_model_path

ROOT = Path(__file__).resolve().parents[2]


def test_the_shipped_files_are_where_the_repository_keeps_them():
    assert shipped.data_file() == ROOT / "data" and shipped.config_file("x.toml").parent == ROOT / "configs"
    assert (default_vectors_path() / "meta.json").is_file()
    assert dates_model_path() == ROOT / "data" / "dates_model"
    assert sentiment_model_path() == ROOT / "data" / "sentiment_sst2"
    for name in ("definitional_pairs.json", "weat.json"):
        assert data_path(name) == shipped.debias_file(name) == ROOT / "data" / "debias" / name
        assert data_path(name).is_file()
    for preset in (ROOT / "configs").glob("*.toml"):
        assert config_file(preset.name) == shipped.config_file(preset.name) == preset


def test_default_corpora_and_gensim_test_data():
    corpus, config = default_corpus()
    assert corpus.name == "lee_background.cor" and corpus.is_file() and config.name == "word2vec_lee.toml"
    assert glove_default_corpus() == (corpus, shipped.config_file("glove_lee.toml"))
    for name in ("questions-words.txt", "wordsim353.tsv", "lee_background.cor"):
        assert gensim_test_data(name) == shipped.gensim_test_data(name) and gensim_test_data(name).is_file()
    with pytest.raises(DataError, match="no such file in gensim's test data"):
        shipped.gensim_test_data("no-such-file.txt")


def test_finding_files_imports_nothing():
    shipped.gensim_test_data("wordsim353.tsv")
    assert shipped.package_dir("no_such_package.sub") is None and shipped.package_dir("no_such_package") is None
    if "gensim" not in sys.modules:  # another test may have imported it
        assert shipped.package_dir("gensim") is not None and "gensim" not in sys.modules


def test_a_missing_model_or_checkout_says_how_to_make_it(tmp_path, monkeypatch):
    monkeypatch.setattr(shipped, "package_dir", lambda package: None)  # a source checkout, not installed
    monkeypatch.setattr(shipped, "SOURCE_ROOT", tmp_path)
    assert shipped.config_file("dates.toml") == tmp_path / "configs" / "dates.toml"
    with pytest.raises(DataError, match=r"the default dates model is missing; train it with 'seqlab seq2seq "
                                        r"train --config configs/dates.toml -o .*dates_model' or pass --model"):
        dates_model_path()
    with pytest.raises(DataError, match="the default sentiment model is missing.*or pass a model directory"):
        sentiment_model_path()
    with pytest.raises(DataError, match="gensim is not installed"):
        shipped.gensim_test_data("wordsim353.tsv")


def test_no_module_imports_another_modules_private_name():
    """The rule of issue 24: a name two modules need belongs in a shared module, under a public name."""
    offenders = []
    for path in [*(ROOT / "seqlab").rglob("*.py"), *(ROOT / "cli").rglob("*.py")]:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and (node.level or (node.module or "").startswith("seqlab")):
                offenders += [f"{path.relative_to(ROOT)}: {node.module}.{a.name}" for a in node.names
                              if a.name.startswith("_") and not a.name.startswith("__")]  # __version__ is public
    assert offenders == []
