"""Measures of gender bias in word vectors, before and after debiasing.

* DirectBias_c (Bolukbasi et al. 2016, sec. 5.2): mean over gender-neutral words N of |cos(w, g)|^c,
  here over the professions that are neither gender-specific nor in an equalise pair.
* Projections cos(w, g) of chosen words, and the "she - he" analogy pairs (Bolukbasi et al. 2016,
  sec. 4.1): pairs (x, y) with ||x - y|| <= delta (unit vectors) ranked by cos(she - he, x - y).
* WEAT (Caliskan, Bryson & Narayanan 2017): s(w, A, B) = mean_a cos(w, a) - mean_b cos(w, b);
  effect size (mean_X s - mean_Y s) / std_{X u Y} s (sample std, ddof = 1); one-sided
  p-value P[sum_Xi s - sum_Yi s > sum_X s - sum_Y s] over the equal-size re-partitions of X u Y,
  all of them when there are at most ``max_exact`` (12,870 for 8 + 8 words), else a random sample.
* The clustering test of Gonen & Goldberg 2019 ("Lipstick on a Pig", sec. 3): the 500 most
  male- and 500 most female-biased words by projection on the original g (among the most frequent
  words, gender-specific words excluded) are clustered by k-means (k = 2) in the vectors under test;
  the accuracy of the clusters against those labels (0.5: no trace left, 1.0: fully recoverable).

Everything is computed with matrix products on unit vectors, on the vectors' device.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import asdict, dataclass, field

import numpy as np
import torch
from sklearn.cluster import KMeans

from seqlab.embeddings.debias import DebiasResult, GenderDirection, find_word, gender_direction, normalized
from seqlab.embeddings.keyed_vectors import KeyedVectors
from seqlab.embeddings.word_lists import GenderLists, WeatTest, definitional_pairs, weat_tests
from seqlab.errors import DataError

DEFAULT_WORDS = ("nurse", "homemaker", "receptionist", "librarian", "hairdresser", "secretary", "dancer", "teacher",
                 "doctor", "engineer", "programmer", "architect", "captain", "philosopher", "carpenter", "surgeon",
                 "she", "he", "woman", "man")


def _unit_rows(kv: KeyedVectors, words: list[str]) -> torch.Tensor:
    return kv.unit_vectors()[[kv.index(w) for w in words]]


def present(kv: KeyedVectors, words: list[str] | tuple[str, ...]) -> tuple[list[str], list[str]]:
    """(found, missing): the words as spelt in ``kv`` (see :func:`find_word`) and those it lacks."""
    found, missing = [], []
    for word in words:
        spelt = find_word(kv, word)
        (found if spelt is not None else missing).append(spelt if spelt is not None else word)
    return list(dict.fromkeys(found)), missing


def projections(kv: KeyedVectors, direction: torch.Tensor, words: list[str]) -> dict[str, float]:
    """cos(w, g) of each known word (unknown words are left out)."""
    found, _ = present(kv, words)
    if not found:
        return {}
    values = _unit_rows(kv, found) @ direction.to(kv.device)
    return dict(zip(found, values.tolist(), strict=True))


def neutral_words(words: list[str], lists: GenderLists) -> list[str]:
    """``words`` without the gender-specific ones and the members of equalise pairs (as listed or in
    lower case): what hard debiasing neutralises."""
    gendered = list(lists.gender_specific) + [w for pair in lists.equalize for w in pair]
    specific = set(gendered) | {w.lower() for w in gendered}
    return [w for w in words if w not in specific and w.lower() not in specific]


def direct_bias(kv: KeyedVectors, direction: torch.Tensor, words: list[str], c: float = 1.0) -> tuple[float, int]:
    """DirectBias_c = mean |cos(w, g)|^c over the known ``words``; returns (value, words used)."""
    found, _ = present(kv, words)
    if not found:
        raise DataError("none of the profession words is in the vocabulary; DirectBias needs some")
    cosines = _unit_rows(kv, found) @ direction.to(kv.device)
    return float(cosines.abs().pow(c).mean()), len(found)


def analogy_pairs(kv: KeyedVectors, seed: tuple[str, str] = ("she", "he"), topn: int = 10,
                  restrict_vocab: int = 10000, delta: float = 1.0, chunk: int = 1024) -> list[tuple[str, str, float]]:
    """The ``topn`` pairs (x, y) among the first ``restrict_vocab`` words with ||x - y|| <= delta and the
    largest cos(seed[0] - seed[1], x - y), as in Bolukbasi et al.'s analogy generation."""
    a, b = (find_word(kv, w) for w in seed)
    if a is None or b is None:
        raise DataError(f"the analogy seed {seed[0]!r} - {seed[1]!r} is not in the vocabulary")
    unit = kv.unit_vectors()[:restrict_vocab]
    d = normalized(kv.unit_vectors()[kv.index(a)] - kv.unit_vectors()[kv.index(b)])
    proj = unit @ d  # (R,)
    skip = torch.tensor([kv.index(a), kv.index(b)], device=unit.device)
    best_scores = torch.empty(0, device=unit.device)
    best_pairs = torch.empty(0, 2, dtype=torch.long, device=unit.device)
    for start in range(0, unit.shape[0], chunk):
        cos = unit[start:start + chunk] @ unit.T  # (C, R)
        dist2 = (2 - 2 * cos).clamp_min(0)
        score = (proj[start:start + chunk, None] - proj[None, :]) / dist2.sqrt().clamp_min(1e-12)
        ok = (dist2 <= delta * delta) & (dist2 > 1e-10)
        score = score.masked_fill(~ok, float("-inf"))
        score[:, skip[skip < unit.shape[0]]] = float("-inf")
        rows_skip = skip[(skip >= start) & (skip < start + chunk)] - start
        score[rows_skip] = float("-inf")
        values, flat = torch.topk(score.flatten(), min(topn, score.numel()))
        pairs = torch.stack([flat // score.shape[1] + start, flat % score.shape[1]], 1)
        best_scores = torch.cat([best_scores, values])
        best_pairs = torch.cat([best_pairs, pairs])
        keep = torch.topk(best_scores, min(topn, best_scores.numel())).indices
        best_scores, best_pairs = best_scores[keep], best_pairs[keep]
    return [(kv.words[x], kv.words[y], s) for (x, y), s in zip(best_pairs.tolist(), best_scores.tolist(), strict=True)
            if s != float("-inf")]


# ------------------------------------------------------------------------------------- WEAT
@dataclass
class WeatResult:
    """A WEAT outcome; ``missing`` lists the words not in the vocabulary (left out)."""

    name: str
    effect_size: float
    p_value: float
    statistic: float
    partitions: int
    exact: bool
    sizes: dict[str, int]
    missing: list[str] = field(default_factory=list)

    def to_dict(self) -> dict:
        return asdict(self)


def association(kv: KeyedVectors, words: list[str], a: list[str], b: list[str]) -> torch.Tensor:
    """s(w, A, B) = mean_a cos(w, a) - mean_b cos(w, b) for each of ``words``: (n,) float64."""
    w = _unit_rows(kv, words).double()
    return (w @ _unit_rows(kv, a).double().T).mean(1) - (w @ _unit_rows(kv, b).double().T).mean(1)


def weat(kv: KeyedVectors, test: WeatTest, max_exact: int = 100_000, samples: int = 100_000,
         seed: int = 0) -> WeatResult:
    """Effect size and one-sided permutation p-value of ``test`` on ``kv`` (see the module doc)."""
    sets, missing = {}, []
    for key in "XYAB":
        sets[key], lost = present(kv, getattr(test, key))
        missing += lost
        if not sets[key]:
            raise DataError(f"WEAT {test.name}: no word of {test.names.get(key, key)} is in the vocabulary")
    s = association(kv, sets["X"] + sets["Y"], sets["A"], sets["B"]).cpu()
    nx, n = len(sets["X"]), len(sets["X"]) + len(sets["Y"])
    s_x, s_y = s[:nx], s[nx:]
    effect = float((s_x.mean() - s_y.mean()) / s.std(correction=1)) if n > 2 else float("nan")
    observed = float(s_x.sum() - s_y.sum())
    total = float(s.sum())
    count = math.comb(n, nx)
    if count <= max_exact:
        members = torch.tensor(list(itertools.combinations(range(n), nx)), dtype=torch.long)
        exact = True
    else:
        gen = torch.Generator().manual_seed(seed)
        members = torch.argsort(torch.rand(samples, n, generator=gen), dim=1)[:, :nx]
        exact = False
    stats = 2 * s[members].sum(1) - total  # sum over Xi minus sum over Yi
    tolerance = 1e-12 * max(1.0, abs(observed))
    p_value = float((stats > observed + tolerance).double().mean())
    return WeatResult(test.name, effect, p_value, observed, int(members.shape[0]), exact,
                      {k: len(v) for k, v in sets.items()}, missing)


# ----------------------------------------------------------------------- clustering test
def most_biased(kv: KeyedVectors, direction: torch.Tensor, lists: GenderLists, n: int = 500,
                restrict_vocab: int = 50000) -> tuple[list[str], list[str]]:
    """The ``n`` most female- and ``n`` most male-biased words by cos(w, g) among the first
    ``restrict_vocab`` words of ``kv``, gender-specific words and non-alphabetic tokens excluded."""
    words = kv.words[:restrict_vocab]
    neutral = set(neutral_words(words, lists))
    candidates = [i for i, w in enumerate(words) if w in neutral and w.isalpha()]
    if len(candidates) < 2 * n:
        raise DataError(f"the clustering test needs {2 * n} candidate words, the vocabulary has {len(candidates)}")
    index = torch.tensor(candidates, device=kv.device)
    proj = kv.unit_vectors()[index] @ direction.to(kv.device)
    order = torch.argsort(proj, descending=True)
    female = [words[i] for i in index[order[:n]].tolist()]
    male = [words[i] for i in index[order[-n:]].tolist()]
    return female, male


def cluster_accuracy(kv: KeyedVectors, female: list[str], male: list[str], seed: int = 0) -> float:
    """k-means (k = 2) on the unit vectors of ``female + male`` in ``kv``; the share of words whose
    cluster agrees with their label, under the better of the two cluster-to-label matchings."""
    found_f, _ = present(kv, female)
    found_m, _ = present(kv, male)
    x = torch.cat([_unit_rows(kv, found_f), _unit_rows(kv, found_m)]).cpu().double().numpy()
    labels = np.r_[np.ones(len(found_f)), np.zeros(len(found_m))]
    clusters = KMeans(n_clusters=2, n_init=10, random_state=seed).fit_predict(x)
    agree = float((clusters == labels).mean())
    return max(agree, 1.0 - agree)


# ---------------------------------------------------------------------------------- report
def _weat_or_reason(kv: KeyedVectors, test: WeatTest, seed: int) -> dict:
    """The test's result, or null figures and the reason when a whole word set is out of the vocabulary."""
    try:
        return weat(kv, test, seed=seed).to_dict()
    except DataError as exc:
        return {"name": test.name, "effect_size": None, "p_value": None, "skipped": str(exc)}


def bias_report(kv: KeyedVectors, lists: GenderLists, reference: KeyedVectors | None = None,
                words: list[str] | None = None, tests: list[str] | None = None, cluster_words: int = 500,
                analogy_vocab: int = 10000, seed: int = 0) -> dict:
    """All measures for ``kv`` as one JSON-ready dict.

    ``reference`` (the vectors before debiasing) supplies the gender direction for DirectBias and
    projections and the labels of the clustering test; without it, ``kv``'s own direction is used.
    """
    all_tests = weat_tests()
    names = tests or list(all_tests)
    unknown = [t for t in names if t not in all_tests]
    if unknown:
        raise DataError(f"unknown WEAT test {unknown[0]!r}; known: {', '.join(all_tests)}")
    base = reference if reference is not None else kv
    direction: GenderDirection = gender_direction(base, lists.definitional or definitional_pairs())
    g = direction.direction
    professions = neutral_words(lists.professions, lists)
    value, used = direct_bias(kv, g, professions)
    female, male = most_biased(base, g, lists, cluster_words)
    return {
        "vectors": kv.source, "reference": reference.source if reference is not None else None,
        "vocab_size": len(kv), "dim": kv.vector_size,
        "gender_direction": {"explained_variance_ratio": direction.explained_variance_ratio,
                             "pairs": [list(p) for p in direction.pairs]},
        "direct_bias": value, "direct_bias_words": used,
        "projections": projections(kv, g, list(words or DEFAULT_WORDS)),
        "she_he_analogies": [{"she": x, "he": y, "score": s} for x, y, s in analogy_pairs(kv, restrict_vocab=
                                                                                          analogy_vocab)],
        "weat": {name: _weat_or_reason(kv, all_tests[name], seed) for name in names},
        "cluster_accuracy": cluster_accuracy(kv, female, male, seed), "cluster_words": len(female) + len(male),
        "lists": lists.source,
    }


def debias_report(kv: KeyedVectors, debiased: KeyedVectors, result: DebiasResult, lists: GenderLists) -> dict:
    """What a debiasing changed, as ``seqlab debias`` reports it: the gender direction's explained variance
    ratios, the words neutralised and the pairs equalised, and DirectBias (c = 1) over the gender-neutral
    professions before and after (with how many professions were in the vocabulary)."""
    g = result.direction.direction
    professions = neutral_words(lists.professions, lists)
    before, used = direct_bias(kv, g, professions)
    after, _ = direct_bias(debiased.to(kv.device), g, professions)
    return {"vocab_size": len(kv), "explained_variance_ratio": result.direction.explained_variance_ratio,
            "definitional_pairs": len(result.direction.pairs), "neutralized": result.neutralized,
            "equalized": [list(p) for p in result.equalized], "direct_bias_before": before,
            "direct_bias_after": after, "direct_bias_words": used}
