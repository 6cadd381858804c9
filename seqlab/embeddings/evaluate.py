"""Intrinsic evaluation of word vectors: analogies and word-pair similarity, gensim-exact but batched.

Analogies (Mikolov et al., 2013, "Efficient Estimation of Word Representations in Vector Space", sec. 4.1):
a question ``a b c d`` reads "a is to b as c is to d"; the answer is the best word for b - a + c among
the first ``restrict_vocab`` words, a, b and c excluded, by 3CosAdd or 3CosMul (Levy & Goldberg, 2014).
Every rule of gensim 4.4's ``KeyedVectors.evaluate_word_analogies`` is kept: questions with a word outside
the first ``restrict_vocab`` words are skipped (or counted wrong with ``dummy4unknown``), case-insensitive
matching upper-cases words and lets the most frequent case variant stand for all, and the prediction is the
first of the top 5 whose upper-cased form is not a query word. Unlike gensim, all questions of a file are
scored together, ``batch_size`` at a time, as one (batch, D) x (D, R) product on the vectors' device.

Similarity (Finkelstein et al., 2002; Hill et al., 2015): Spearman's and Pearson's correlation between the
cosine of each pair and the human score, as gensim's ``evaluate_word_pairs``.
"""

from __future__ import annotations

import math
import os
from dataclasses import asdict, dataclass, field

import numpy as np
import torch
from scipy import stats

from seqlab.embeddings.keyed_vectors import KeyedVectors, cosmul_scores, topk_excluding
from seqlab.errors import DataError
from seqlab.io import check_readable, open_binary
from seqlab.shipped import gensim_test_data as gensim_test_data  # where it was

ANALOGY_TOPN = 5  # gensim looks at the 5 best answers and takes the first that is not a query word
METHODS = ("add", "mul")


@dataclass(frozen=True)
class SectionResult:
    """One ``: section`` of an analogy file."""

    section: str
    correct: int
    incorrect: int

    @property
    def accuracy(self) -> float:
        """correct / (correct + incorrect), 0.0 for a section with no question used (as gensim)."""
        used = self.correct + self.incorrect
        return self.correct / used if used else 0.0

    def to_dict(self) -> dict:
        return {**asdict(self), "accuracy": self.accuracy}


@dataclass(frozen=True)
class AnalogyResult:
    """Accuracy on an analogy file. ``skipped``: questions not scored because of an unknown word."""

    file: str
    correct: int
    incorrect: int
    skipped: int
    total_questions: int
    sections: list[SectionResult] = field(default_factory=list)
    method: str = "add"
    restrict_vocab: int | None = None

    @property
    def accuracy(self) -> float:
        """correct / (correct + incorrect) over all sections, in [0, 1]."""
        used = self.correct + self.incorrect
        return self.correct / used if used else 0.0

    def to_dict(self) -> dict:
        """JSON-ready summary."""
        return {
            "file": self.file,
            "accuracy": self.accuracy,
            "correct": self.correct,
            "questions_used": self.correct + self.incorrect,
            "questions_skipped": self.skipped,
            "sections": [s.to_dict() for s in self.sections],
        }


@dataclass(frozen=True)
class SimilarityResult:
    """Correlation with human similarity scores. ``oov_ratio``: pairs with an unknown word / all pairs."""

    file: str
    spearman: float
    pearson: float
    pairs_used: int
    pairs_skipped: int
    oov_ratio: float

    def to_dict(self) -> dict:
        """JSON-ready summary."""
        return asdict(self)


def _ok_vocab(kv: KeyedVectors, restrict_vocab: int | None, case_insensitive: bool) -> tuple[dict, int]:
    """gensim's ok_vocab: (maybe upper-cased) word -> row among the first R rows, the earliest row winning."""
    num_rows = len(kv) if restrict_vocab is None else min(restrict_vocab, len(kv))
    if num_rows < 0:
        raise ValueError(f"restrict_vocab must be >= 0, got {restrict_vocab}")
    keys = kv.words[:num_rows]
    if case_insensitive:
        keys = [w.upper() for w in keys]
    return {key: i for i, key in reversed(list(enumerate(keys)))}, num_rows


def evaluate_analogies(
    kv: KeyedVectors,
    path: str | os.PathLike,
    restrict_vocab: int | None = 300000,
    case_insensitive: bool = True,
    dummy4unknown: bool = False,
    method: str = "add",
    batch_size: int | None = None,
) -> AnalogyResult:
    """Score every question of an analogy file (``: section`` headers, then ``a b c d`` lines).

    Counts equal gensim's ``evaluate_word_analogies`` (``method="add"``); ``method="mul"`` ranks by 3CosMul.
    """
    if method not in METHODS:
        raise ValueError(f"method must be one of {', '.join(METHODS)}, got {method!r}")
    path = check_readable(path)
    ok_vocab, num_rows = _ok_vocab(kv, restrict_vocab, case_insensitive)
    names: list[str] = []
    questions: list[tuple[int, int, int, int, int]] = []  # (section, a, b, c, expected) rows
    dummy_wrong: list[int] = []  # sections of unknown-word questions counted wrong (dummy4unknown)
    skipped = total = 0
    with open_binary(path) as fh:
        for line_no, raw in enumerate(fh, start=1):
            try:
                line = raw.decode("utf-8")
            except UnicodeDecodeError as exc:
                raise DataError(f"{path}: line {line_no}: not valid UTF-8 ({exc.reason})") from None
            if line.startswith(": "):
                names.append(line.lstrip(": ").strip())
                continue
            if not names:
                raise DataError(
                    f"{path}: line {line_no}: missing ': section' header before the first question"
                )
            words = [w.upper() for w in line.split()] if case_insensitive else line.split()
            if len(words) != 4:
                continue  # gensim skips invalid lines, blank ones included
            total += 1
            rows = [ok_vocab.get(w) for w in words]
            if None in rows:
                skipped += 1
                if dummy4unknown:
                    dummy_wrong.append(len(names) - 1)
                continue
            questions.append((len(names) - 1, *rows))
    if not names:
        raise DataError(f"{path}: no ': section' header and no question; is it an analogy file?")

    correct = torch.zeros(0, dtype=torch.bool)
    if questions:
        table = torch.tensor(questions, dtype=torch.long, device=kv.device)
        canonical = torch.tensor(
            [ok_vocab[w.upper() if case_insensitive else w] for w in kv.words[:num_rows]],
            dtype=torch.long, device=kv.device,
        )  # fmt: skip
        correct = _solve(kv.unit_vectors()[:num_rows], table[:, 1:], canonical, method, batch_size).cpu()
    section_of = torch.tensor([q[0] for q in questions], dtype=torch.long)
    right = torch.bincount(section_of[correct], minlength=len(names)).tolist()
    wrong = torch.bincount(section_of[~correct], minlength=len(names))
    wrong = (
        wrong + torch.bincount(torch.tensor(dummy_wrong, dtype=torch.long), minlength=len(names))
    ).tolist()
    sections = [SectionResult(n, r, w) for n, r, w in zip(names, right, wrong, strict=True)]
    return AnalogyResult(
        file=str(path),
        correct=sum(right),
        incorrect=sum(wrong),
        skipped=0 if dummy4unknown else skipped,
        total_questions=total,
        sections=sections,
        method=method,
        restrict_vocab=restrict_vocab,
    )


def _solve(
    unit: torch.Tensor, questions: torch.Tensor, canonical: torch.Tensor, method: str, batch_size: int | None
) -> torch.Tensor:
    """Which questions (Q, 4) of rows (a, b, c, expected) are answered right, as a (Q,) bool tensor.

    ``unit`` (R, D) holds the searchable unit rows; ``canonical`` (R,) maps a row to the row that stands for
    its (upper-cased) word, so "is it a query word?" compares canonical rows, as gensim compares strings.
    """
    num_rows = unit.shape[0]
    if batch_size is None:  # keep the (batch, R) scores, or (batch, 3, R) cosines, near 64 MiB of float32
        batch_size = max(1, (1 << 24) // (max(num_rows, 1) * (1 if method == "add" else 3)))
    results = []
    for start in range(0, questions.shape[0], batch_size):
        a, b, c, expected = questions[start : start + batch_size].unbind(dim=1)
        if method == "add":  # cos(w, b - a + c), as gensim's most_similar(positive=[b, c], negative=[a])
            query = unit[b] + unit[c] - unit[a]
            query = query / torch.linalg.vector_norm(query, dim=1, keepdim=True).clamp_min(1e-30)
            scores = query @ unit.T  # (batch, R)
        else:
            cosines = unit[torch.stack([b, c, a], dim=1)] @ unit.T  # (batch, 3, R)
            scores = cosmul_scores(cosines[:, :2], cosines[:, 2:])
        values, top = topk_excluding(scores, torch.stack([a, b, c], dim=1), ANALOGY_TOPN)
        found = canonical[top]  # (batch, k)
        valid = values != float("-inf")
        is_query = (found == a[:, None]) | (found == b[:, None]) | (found == c[:, None])
        candidate = valid & ~is_query
        first = candidate.to(torch.uint8).argmax(dim=1, keepdim=True)
        # gensim's loop leaves `predicted` at the last answer seen when every answer was a query word
        last = (valid.sum(dim=1, keepdim=True) - 1).clamp_min(0)
        predicted = torch.where(
            candidate.any(dim=1), found.gather(1, first)[:, 0], found.gather(1, last)[:, 0]
        )
        predicted = torch.where(valid.any(dim=1), predicted, -1)
        results.append(predicted == expected)
    return torch.cat(results)


def _pair_fields(line: str, delimiter: str) -> list[str]:
    fields = line.split(delimiter)
    if len(fields) != 3 and len(line.split()) == 3:
        fields = line.split()  # "w1 w2 score" with spaces in a file read with delimiter="\t"
    return fields


def evaluate_similarity(
    kv: KeyedVectors,
    path: str | os.PathLike,
    delimiter: str = "\t",
    restrict_vocab: int | None = 300000,
    case_insensitive: bool = True,
    dummy4unknown: bool = False,
) -> SimilarityResult:
    """Spearman and Pearson correlation of cosine similarities with the scores of a ``w1 w2 score`` file.

    Lines starting with ``#`` are comments; lines without two words and a number are skipped.
    Pairs with a word outside the first ``restrict_vocab`` words are skipped (scored 0 with dummy4unknown).
    """
    path = check_readable(path)
    ok_vocab, _ = _ok_vocab(kv, restrict_vocab, case_insensitive)
    gold: list[float] = []
    pairs: list[
        tuple[int, int]
    ] = []  # rows of the used pairs; (0, 0) for an unknown pair under dummy4unknown
    unknown: list[bool] = []  # per used pair
    oov = num_lines = 0
    with open_binary(path) as fh:
        for num_lines, raw in enumerate(fh, start=1):
            try:
                line = raw.decode("utf-8")
            except UnicodeDecodeError as exc:
                raise DataError(f"{path}: line {num_lines}: not valid UTF-8 ({exc.reason})") from None
            if line.startswith("#"):
                continue
            fields = _pair_fields(line, delimiter)
            try:
                first, second, score = (f.upper() for f in fields) if case_insensitive else fields
                score = float(score)
            except ValueError:
                continue  # gensim skips invalid lines
            if not math.isfinite(score):  # gensim would report a correlation of nan
                raise DataError(f"{path}: line {num_lines}: the score of {fields[0]} {fields[1]} is {score}, not a "
                                f"finite number")
            rows = (ok_vocab.get(first), ok_vocab.get(second))
            if None in rows:
                oov += 1
                if not dummy4unknown:
                    continue
            gold.append(score)
            pairs.append((rows[0] or 0, rows[1] or 0))
            unknown.append(None in rows)
    if num_lines == 0:
        raise DataError(f"{path}: file is empty")
    if not gold:
        what = (
            f"all {oov} pairs have a word missing from the vectors" if oov else "no 'word1 word2 score' line"
        )
        raise DataError(f"{path}: no usable word pairs ({what})")
    if len(set(gold)) < 2:
        raise DataError(f"{path}: the {len(gold)} usable word pair(s) all have the score {gold[0]}; a correlation "
                        f"needs at least two different scores")
    unit = kv.unit_vectors()
    index = torch.tensor(pairs, dtype=torch.long, device=kv.device)
    model = (unit[index[:, 0]] * unit[index[:, 1]]).sum(dim=1)  # (pairs,) cosines
    model = model.masked_fill(torch.tensor(unknown, device=kv.device), 0.0).cpu().numpy()
    gold_array = np.asarray(gold, dtype=np.float64)
    return SimilarityResult(
        file=str(path),
        spearman=float(stats.spearmanr(gold_array, model).statistic),
        pearson=float(stats.pearsonr(gold_array, model).statistic),
        pairs_used=len(gold),
        pairs_skipped=0 if dummy4unknown else oov,
        oov_ratio=oov / (len(gold) + (0 if dummy4unknown else oov)),
    )
