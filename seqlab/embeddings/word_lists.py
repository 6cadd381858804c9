"""The word lists of the bias measures and of hard debiasing.

Shipped in ``data/debias/`` (installed as ``seqlab.data``): the ten definitional pairs of
Bolukbasi et al. 2016 and the WEAT word sets of Caliskan et al. 2017 (tests 6, 7 and 8), written
out from the papers. The longer lists of the Bolukbasi et al. release (equalise pairs, the
gender-specific words, professions; tolga-b/debiaswe at a pinned commit, MIT, licence beside them)
ship in ``data/debias/debiaswe/`` and are checked against their SHA-256 before use, so debiasing works
offline right after install. ``--lists DIR`` reads another set; where the shipped copy is missing or
altered, the pinned release is downloaded once into the user cache (``$SEQLAB_CACHE_DIR``, else
``$XDG_CACHE_HOME/seqlab``, else ``~/.cache/seqlab``) and checked the same way.
"""

from __future__ import annotations

import hashlib
import json
import os
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from seqlab.errors import DataError
from seqlab.io import atomic_open, check_readable
from seqlab.shipped import debias_file

RELEASE_REPO = "tolga-b/debiaswe"
RELEASE_COMMIT = "6bb03ee2a0d7214339e513ca71cd0a99069dc29c"
RELEASE_URL = f"https://raw.githubusercontent.com/{RELEASE_REPO}/{RELEASE_COMMIT}/data/{{name}}"
RELEASE_SHA256 = {
    "definitional_pairs.json": "f2387fdd4ae4d956083ee7594f1401b1ba112914d40a99bb61d481de73db9614",
    "equalize_pairs.json": "b6e7dda64461e7828f8d184a51216a87aefcfc2b726d3691aa15b7acc2a1994c",
    "gender_specific_full.json": "300068da1885e9dc8bf2235d987fd0cf5d0b08a6877a0a639ee0060a989bac1f",
    "professions.json": "32cc82c7761e7cfb14e37e06dc1aa9f758bc8441f79ca7288996d3fc7c24639a",
}
NEEDED = ("equalize_pairs.json", "gender_specific_full.json", "professions.json")
DOWNLOAD_TIMEOUT = 30.0


@dataclass(frozen=True)
class GenderLists:
    """Bolukbasi et al.'s lists: ``definitional`` and ``equalize`` pairs, the ``gender_specific``
    words hard debiasing leaves alone, and ``professions`` (the words DirectBias averages over)."""

    definitional: list[tuple[str, str]]
    equalize: list[tuple[str, str]] = field(default_factory=list)
    gender_specific: list[str] = field(default_factory=list)
    professions: list[str] = field(default_factory=list)
    source: str = "seqlab.data"


@dataclass(frozen=True)
class WeatTest:
    """One Word Embedding Association Test: targets X, Y and attributes A, B (Caliskan et al. 2017)."""

    name: str
    X: list[str]
    Y: list[str]
    A: list[str]
    B: list[str]
    names: dict[str, str] = field(default_factory=dict)


# ----------------------------------------------------------------------------- shipped lists
def data_path(name: str) -> Path:
    """Path of a shipped file under ``data/debias/`` (installed as ``seqlab.data``)."""
    return debias_file(name)


def _read_json(path: Path) -> Any:
    check_readable(path)
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError) as exc:
        raise DataError(f"{path}: not valid JSON ({exc})") from None


def _pairs(data: Any, path: Path) -> list[tuple[str, str]]:
    items = data["pairs"] if isinstance(data, dict) and "pairs" in data else data
    if not isinstance(items, list) or not all(
            isinstance(p, list) and len(p) == 2 and all(isinstance(w, str) for w in p) for p in items):
        raise DataError(f"{path}: expected a JSON list of [word, word] pairs")
    return [(a, b) for a, b in items]


def _words(data: Any, path: Path) -> list[str]:
    if not isinstance(data, list):
        raise DataError(f"{path}: expected a JSON list of words")
    # professions.json holds [word, definitional score, stereotypical score] entries
    words = [item[0] if isinstance(item, list) and item else item for item in data]
    if not all(isinstance(w, str) for w in words):
        raise DataError(f"{path}: expected a JSON list of words (or of [word, score, score] entries)")
    return words


def definitional_pairs() -> list[tuple[str, str]]:
    """The ten definitional pairs of Bolukbasi et al. 2016, female word first (shipped)."""
    path = data_path("definitional_pairs.json")
    return _pairs(_read_json(path), path)


def weat_tests() -> dict[str, WeatTest]:
    """The shipped WEAT tests by name: career_family (WEAT 6), math_arts (7), science_arts (8)."""
    path = data_path("weat.json")
    tests = {}
    for name, t in _read_json(path)["tests"].items():
        names = {k: t.get(f"{k}_name", k) for k in "XYAB"}
        tests[name] = WeatTest(name, t["X"], t["Y"], t["A"], t["B"], names)
    return tests


# ------------------------------------------------------------------- Bolukbasi release lists
def cache_dir() -> Path:
    """Where downloaded lists are kept: $SEQLAB_CACHE_DIR, $XDG_CACHE_HOME/seqlab or ~/.cache/seqlab."""
    root = os.environ.get("SEQLAB_CACHE_DIR") or Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / \
        "seqlab"
    return Path(root) / "debiaswe" / RELEASE_COMMIT[:12]


def sha256_of(path: str | os.PathLike) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def verified(path: str | os.PathLike, name: str) -> bool:
    """True when ``path`` exists and has the release's SHA-256 for ``name``."""
    return Path(path).is_file() and sha256_of(path) == RELEASE_SHA256[name]


def download(name: str, target: Path, timeout: float = DOWNLOAD_TIMEOUT) -> None:
    """Fetch release file ``name`` to ``target`` (atomically); DataError when it fails or its hash differs."""
    url = RELEASE_URL.format(name=name)
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:  # noqa: S310 (a fixed https URL)
            body = response.read()
    except (urllib.error.URLError, OSError, ValueError) as exc:
        raise DataError(f"cannot download {url} ({getattr(exc, 'reason', exc)})") from None
    if hashlib.sha256(body).hexdigest() != RELEASE_SHA256[name]:
        raise DataError(f"{url}: downloaded file has the wrong SHA-256")
    with atomic_open(target, "wb") as fh:
        fh.write(body)


def shipped_release_file(name: str) -> Path | None:
    """The copy of release file ``name`` shipped in data/debias/debiaswe/, when it is there and unaltered."""
    path = debias_file(f"debiaswe/{name}")
    return path if verified(path, name) else None


def release_file(name: str, cache: Path | None = None, allow_download: bool = True) -> Path:
    """The verified cached copy of release file ``name``, downloading it when absent or corrupt."""
    cache = cache or cache_dir()
    path = cache / name
    if verified(path, name):
        return path
    problem = "has the wrong SHA-256" if path.exists() else "is not there"
    hint = (f"pass --lists DIR with {', '.join(NEEDED)} from {RELEASE_REPO} data/ "
            "(e.g. --lists ../shared/data/debias)")
    if not allow_download:
        raise DataError(f"{path}: {problem} and downloading is off; {hint}")
    try:
        download(name, path)
    except DataError as exc:
        raise DataError(f"the Bolukbasi et al. word lists are needed: {path} {problem} and {exc}; {hint}") from None
    return path


def load_gender_lists(lists_dir: str | os.PathLike | None = None, cache: Path | None = None,
                      allow_download: bool = True) -> GenderLists:
    """The Bolukbasi et al. lists from ``lists_dir`` (files named as in the release; the shipped
    definitional pairs unless the directory has its own), or else from the verified cache,
    downloading what is missing."""
    if lists_dir is not None:
        root = Path(lists_dir)
        if not root.is_dir():
            raise DataError(f"{root}: no such directory (--lists wants a directory with {', '.join(NEEDED)})")
        paths = {name: root / name for name in NEEDED}
        for path in paths.values():
            if not path.is_file():
                raise DataError(f"{path}: no such file; --lists DIR needs {', '.join(NEEDED)} "
                                f"(from {RELEASE_REPO} data/)")
        own = root / "definitional_pairs.json"
        definitional = _pairs(_read_json(own), own) if own.is_file() else definitional_pairs()
        source = str(root)
    else:
        paths = {name: shipped_release_file(name) or release_file(name, cache, allow_download) for name in NEEDED}
        definitional, source = definitional_pairs(), f"{RELEASE_REPO}@{RELEASE_COMMIT[:12]}"
    return GenderLists(
        definitional=definitional,
        equalize=_pairs(_read_json(paths["equalize_pairs.json"]), paths["equalize_pairs.json"]),
        gender_specific=_words(_read_json(paths["gender_specific_full.json"]), paths["gender_specific_full.json"]),
        professions=_words(_read_json(paths["professions.json"]), paths["professions.json"]),
        source=source,
    )
