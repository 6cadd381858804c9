"""Files that come with seqlab, and where they are.

* ``data/`` (installed as the package ``seqlab.data``; data/README.md says how each was made): the default
  vectors (``default_vectors/``), the dates model (``dates_model/``), the SST-2 sentiment model
  (``sentiment_sst2/``) and the debias word lists (``debias/``).
* ``configs/`` (installed as ``seqlab.configs``): the TOML presets, one per pipeline.
* gensim's bundled test data (gensim is a dependency): the default corpus ``lee_background.cor`` and the
  evaluation sets ``questions-words.txt``, ``wordsim353.tsv``, ``simlex999.txt``.

All are found one way: the folder of an installed package, read from its import spec (:func:`package_dir`),
so that finding a file imports nothing (gensim alone takes about a second to import). In a source checkout
that is not installed, data/ and configs/ are the folders beside seqlab/.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

from seqlab.errors import DataError
from seqlab.io import model_file

SOURCE_ROOT = Path(__file__).resolve().parent.parent  # the repository, in a source checkout
DEFAULT_CORPUS = "lee_background.cor"  # gensim's Lee background corpus (300 news articles, 60k words)
# the models in data/: folder -> (what it is, the command that trains it, what to give instead)
MODELS = {
    "dates_model": ("dates", "seqlab seq2seq train --config configs/dates.toml", "--model"),
    "sentiment_sst2": ("sentiment", "seqlab sentiment pretrain ../shared/data/sentiment-extra/imdb -o runs/imdb.txt "
                       "--vectors runs/imdb_vectors, then seqlab sentiment train --config "
                       "configs/sentiment_sst2_imdb.toml", "a model directory"),
}


def package_dir(package: str) -> Path | None:
    """The folder of the installed package ``package`` (e.g. ``seqlab.data``, ``gensim``), found without
    importing it; None when it is not installed."""
    try:
        spec = importlib.util.find_spec(package)
    except ModuleNotFoundError:  # a parent package is missing
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations)))


def data_file(*parts: str) -> Path:
    """A path under data/, e.g. ``data_file("debias", "weat.json")``, whether or not it exists."""
    return (package_dir("seqlab.data") or SOURCE_ROOT / "data").joinpath(*parts)


def config_file(name: str) -> Path:
    """A preset in configs/, e.g. ``config_file("word2vec_lee.toml")``, whether or not it exists."""
    return (package_dir("seqlab.configs") or SOURCE_ROOT / "configs") / name


def gensim_test_data(name: str) -> Path:
    """``gensim/test/test_data/<name>`` (questions-words.txt, wordsim353.tsv, simlex999.txt,
    lee_background.cor...); DataError when gensim or the file is missing."""
    root = package_dir("gensim")
    if root is None:
        raise DataError(f"gensim is not installed, so its test file {name!r} is not available")
    path = root / "test" / "test_data" / name
    if not path.is_file():
        raise DataError(f"{path}: no such file in gensim's test data")
    return path


def default_corpus(config: str = "word2vec_lee.toml") -> tuple[Path, Path]:
    """The default training corpus (gensim's Lee background corpus) and the preset ``config`` made for it."""
    return gensim_test_data(DEFAULT_CORPUS), config_file(config)


def default_vectors_path() -> Path:
    """The default vectors of ``seqlab similar``, ``analogy`` and ``embed eval``: data/default_vectors."""
    return data_file("default_vectors")


def debias_file(name: str) -> Path:
    """A word list shipped in data/debias/ (``definitional_pairs.json``, ``weat.json``)."""
    return data_file("debias", name)


def shipped_model(name: str) -> Path:
    """The model folder data/``name`` (a key of :data:`MODELS`); DataError saying how to train it when its
    model file is missing."""
    what, command, instead = MODELS[name]
    path = data_file(name)
    if not model_file(path).exists():
        raise DataError(f"{path}: the default {what} model is missing; train it with '{command} -o {path}' or pass "
                        f"{instead}")
    return path
