"""BLEU on strings (Papineni et al. 2002), with sacrebleu's tokenisers, smoothing and signature.

For a corpus of hypotheses h_s, each with references R_s:

- modified n-gram precision p_n = sum_s sum_g min(c_h(g), max_{r in R_s} c_r(g)) / sum_s #n-grams(h_s)
  (each hypothesis n-gram count is clipped by its largest count in any one reference);
- brevity penalty BP = 1 if c > r else exp(1 - r / c), with c the summed hypothesis lengths and r the
  summed "closest" reference lengths (per sentence, the reference length nearest the hypothesis
  length, ties to the shorter one; Papineni et al. section 2.2.2);
- BLEU = BP * exp(sum_{n=1..N} log(p_n) / N), N = 4, reported on a 0-100 scale.

Sentence-level BLEU needs smoothing because a short sentence often has no 4-gram match. The
methods are those of Chen & Cherry (2014), as sacrebleu implements them: ``none``; ``floor``
(method 1: a zero count becomes ``smooth_value``, default 0.1); ``add-k`` (method 2: k, default 1,
added to the counts and totals of orders n > 1); ``exp`` (method 3, NIST: the k-th order with no
match gets precision 1 / (2^k total)). ``effective_order`` stops at the highest order that has
any n-gram in the hypothesis (sacrebleu turns it on for sentence-level scores).

Tokenisation is sacrebleu's own (13a, intl, char, zh, none, ...): this module only counts. The
statistics of a sentence are one flat row ``[hyp_len, ref_len, correct_1..N, total_1..N]``, as in
sacrebleu, so that corpus scores are sums of sentence rows, and :mod:`seqlab.metrics.bleu_ids`
computes the same rows from token ids in torch.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from importlib import import_module
from itertools import islice

import numpy as np
import sacrebleu

from seqlab.errors import ConfigError, DataError
from seqlab.metrics.arrays import Array, cast, clone, dtype_in, exp, log, namespace, scalar

MAX_ORDER = 4
SMOOTH_DEFAULTS: dict[str, float | None] = {"none": None, "floor": 0.1, "add-k": 1.0, "exp": None}
SMOOTH_METHODS = tuple(SMOOTH_DEFAULTS)

# sacrebleu's tokenisers by name (sacrebleu.metrics.bleu._TOKENIZERS); the ones that need no extra
# install (MeCab, a downloaded sentencepiece model) are listed first.
TOKENIZERS: dict[str, str] = {
    "13a": "tokenizer_13a.Tokenizer13a",
    "intl": "tokenizer_intl.TokenizerV14International",
    "char": "tokenizer_char.TokenizerChar",
    "zh": "tokenizer_zh.TokenizerZh",
    "none": "tokenizer_none.NoneTokenizer",
    "ja-mecab": "tokenizer_ja_mecab.TokenizerJaMecab",
    "ko-mecab": "tokenizer_ko_mecab.TokenizerKoMecab",
    "spm": "tokenizer_spm.TokenizerSPM",
    "flores101": "tokenizer_spm.Flores101Tokenizer",
    "flores200": "tokenizer_spm.Flores200Tokenizer",
}


def smoothing_value(method: str, value: float | None = None) -> float | None:
    """The value ``method`` smooths with: ``value``, or the method's default when None.

    ConfigError for an unknown method, for a value given to a method that takes none (``none``, ``exp``),
    and for a value that would give a math error or a score outside 0-100: ``floor`` replaces a zero
    count by ``value``, so it must be in [0, 1] (a precision is then at most 100%); ``add-k`` adds k to
    counts and totals, so k must be finite and >= 0.
    """
    if method not in SMOOTH_DEFAULTS:
        raise ConfigError(f"unknown smoothing method {method!r}; choose one of {', '.join(SMOOTH_METHODS)}")
    if value is None:
        return SMOOTH_DEFAULTS[method]
    if SMOOTH_DEFAULTS[method] is None:
        raise ConfigError(f"smoothing {method!r} takes no value (got {value!r}); values are for floor and add-k")
    if method == "floor" and not 0 <= value <= 1:  # NaN fails this too
        raise ConfigError(f"floor smoothing needs a value in [0, 1] (the count given to an n-gram order with no "
                          f"match), got {value!r}")
    if method == "add-k" and not 0 <= value < math.inf:
        raise ConfigError(f"add-k smoothing needs a finite k >= 0 (added to the counts and totals), got {value!r}")
    return float(value)


def get_tokenizer(name: str):
    """sacrebleu's tokeniser called ``name`` (a callable str -> str with a ``signature()``)."""
    if name not in TOKENIZERS:
        raise ConfigError(f"unknown BLEU tokenizer {name!r}; choose one of {', '.join(TOKENIZERS)}")
    module, cls = TOKENIZERS[name].rsplit(".", 1)
    try:
        return getattr(import_module(f"sacrebleu.tokenizers.{module}"), cls)()
    except (ImportError, RuntimeError, OSError) as exc:  # sacrebleu's messages span several lines
        raise ConfigError(f"BLEU tokenizer {name!r} is not available here: {' '.join(str(exc).split())}") from None


def ngram_counts(tokens: Sequence[str], max_order: int) -> Counter:
    """Counts of every n-gram (as a tuple) of ``tokens``, for n = 1..max_order."""
    counts: Counter = Counter()
    for n in range(1, max_order + 1):
        counts.update(zip(*(islice(tokens, i, None) for i in range(n)), strict=False))
    return counts


def closest_ref_len(hyp_len: int, ref_lens: Iterable[int]) -> int:
    """The reference length nearest ``hyp_len``; of two equally near, the shorter (as sacrebleu)."""
    return min(ref_lens, key=lambda r: (abs(hyp_len - r), r))


def reference_info(refs: Sequence[Sequence[str]], max_order: int) -> tuple[dict, list[int]]:
    """(n-gram -> max count over the references, reference lengths) for one sentence's references."""
    merged: dict = {}
    lengths = []
    for tokens in refs:
        lengths.append(len(tokens))
        for gram, count in ngram_counts(tokens, max_order).items():
            if count > merged.get(gram, 0):
                merged[gram] = count
    return merged, lengths


def segment_statistics(hyp: Sequence[str], ref_ngrams: dict, ref_lens: Sequence[int], max_order: int) -> list[int]:
    """One sentence's row ``[hyp_len, ref_len, correct_1..N, total_1..N]`` (tokens already split)."""
    correct = [0] * max_order
    total = [0] * max_order
    hyp_len = len(hyp)
    for n in range(max_order):
        total[n] = max(0, hyp_len - n)
    get = ref_ngrams.get
    for gram, count in ngram_counts(hyp, max_order).items():
        ref_count = get(gram)
        if ref_count:
            correct[len(gram) - 1] += count if count < ref_count else ref_count
    return [hyp_len, closest_ref_len(hyp_len, ref_lens) if ref_lens else 0, *correct, *total]


def check_streams(hypotheses: Sequence[str], references: Sequence[Sequence[str | None]]) -> None:
    """Every reference stream must have one line per hypothesis."""
    for k, stream in enumerate(references):
        if len(stream) != len(hypotheses):
            raise DataError(f"reference stream {k + 1} has {len(stream)} lines, the hypotheses {len(hypotheses)}")


LOG_ZERO = -9999999999.0  # sacrebleu's log(0)


def _log(x: float) -> float:
    """log with log(0) = -9999999999, as sacrebleu (so a zero precision gives a score of 0)."""
    return LOG_ZERO if x == 0.0 else math.log(x)


def _percent(count: float, total: float) -> float:
    """100 count / total, as sacrebleu computes it; in the other order when 100 x count overflows (an add-k
    of 1e308 makes count and total huge, and their ratio 1)."""
    value = 100.0 * count / total
    return value if math.isfinite(value) else 100.0 * (count / total)


@dataclass
class BLEUScore:
    """A BLEU score and the statistics it came from (the fields of sacrebleu's BLEUScore)."""

    score: float
    counts: list[float]
    totals: list[float]
    precisions: list[float]
    bp: float
    sys_len: int
    ref_len: int
    signature: str = ""
    name: str = field(default="BLEU", repr=False)
    mean: float | None = field(default=None, repr=False)  # bootstrap mean and 95% CI half-width, when estimated
    ci: float | None = field(default=None, repr=False)

    @property
    def ratio(self) -> float:
        """Hypothesis length / reference length (0 without references)."""
        return self.sys_len / self.ref_len if self.ref_len else 0.0

    @property
    def hyp_len(self) -> int:
        return self.sys_len

    def verbose(self) -> str:
        """``p1/p2/p3/p4 (BP = ... ratio = ... hyp_len = ... ref_len = ...)`` as sacrebleu prints it."""
        precisions = "/".join(f"{p:.1f}" for p in self.precisions)
        return (f"{precisions} (BP = {self.bp:.3f} ratio = {self.ratio:.3f} hyp_len = {self.sys_len:d} "
                f"ref_len = {self.ref_len:d})")

    def format(self, width: int = 2, signature: bool = True) -> str:
        """The one-line report, ``BLEU|<signature> = 35.21 66.1/41.2/... (BP = ...)``, as sacrebleu; with a
        bootstrap estimate, ``= 35.21 (μ = 35.18 ± 1.02) 66.1/...``."""
        name = f"{self.name}|{self.signature}" if signature and self.signature else self.name
        score = f"{self.score:.{width}f}"
        if self.mean is not None:
            score += f" (μ = {self.mean:.{width}f} ± {self.ci:.{width}f})"
        return f"{name} = {score} {self.verbose()}"

    def to_dict(self) -> dict:
        """Every field at full precision, plus the signature split into its parts."""
        out = {"name": self.name, "score": self.score, "signature": self.signature,
               "precisions": list(self.precisions), "bp": self.bp, "ratio": self.ratio,
               "hyp_len": self.sys_len, "ref_len": self.ref_len,
               "counts": list(self.counts), "totals": list(self.totals), "verbose_score": self.verbose()}
        if self.mean is not None:
            out.update(mean=self.mean, ci=self.ci)
        for part in self.signature.split("|") if self.signature else []:
            key, _, value = part.partition(":")
            out.setdefault(key, value)
        return out

    def __str__(self) -> str:
        return self.format()


def compute_bleu(correct: Sequence[float], total: Sequence[float], sys_len: int, ref_len: int,
                 smooth_method: str = "none", smooth_value: float | None = None, effective_order: bool = False,
                 max_order: int = MAX_ORDER) -> BLEUScore:
    """BLEU from summed statistics, with smoothing; the same arithmetic as sacrebleu's compute_bleu.

    correct, total: (max_order,) matched and total n-gram counts; sys_len, ref_len: summed lengths.
    """
    smooth_value = smoothing_value(smooth_method, smooth_value)
    correct, total = list(correct), list(total)
    bp = 1.0
    if sys_len < ref_len:
        bp = math.exp(1 - ref_len / sys_len) if sys_len > 0 else 0.0
    precisions = [0.0] * max_order
    if not any(correct):
        return BLEUScore(0.0, correct, total, precisions, bp, sys_len, ref_len)

    smooth_mteval = 1.0
    eff_order = max_order
    for n in range(1, max_order + 1):
        if smooth_method == "add-k" and n > 1:
            correct[n - 1] += smooth_value
            total[n - 1] += smooth_value
        if total[n - 1] == 0:
            break
        if effective_order:
            eff_order = n
        if correct[n - 1] == 0:
            if smooth_method == "exp":
                smooth_mteval *= 2
                precisions[n - 1] = 100.0 / (smooth_mteval * total[n - 1])
            elif smooth_method == "floor":
                precisions[n - 1] = 100.0 * smooth_value / total[n - 1]
        else:
            precisions[n - 1] = _percent(correct[n - 1], total[n - 1])
    score = bp * math.exp(sum([_log(p) for p in precisions[:eff_order]]) / eff_order)
    return BLEUScore(score, correct, total, precisions, bp, sys_len, ref_len)


@np.errstate(over="ignore", invalid="ignore")  # 100 * an add-k count of 1e308 overflows; see _percent
def sentence_bleu_from_statistics(stats: Array, smooth_method: str = "exp", smooth_value: float | None = None,
                                  effective_order: bool = True, max_order: int = MAX_ORDER,
                                  dtype: object = "float64") -> Array:
    """BLEU (0-100) of every row of ``stats`` (..., 2 + 2N): (...) float64, vectorised, for a numpy array
    or a torch tensor (on its device; see :mod:`seqlab.metrics.arrays`).

    The arithmetic of :func:`compute_bleu` (sacrebleu's), row by row, in the same order of operations
    (true divisions, the logs summed order by order). ``dtype`` is that of the n-gram precisions:
    float64, or float32 to reproduce sacrebleu's bootstrap resampling, which sums float32 statistics (so
    its ``100 * correct / total`` is a float32 division); lengths, brevity penalty, logs and the score
    stay float64, as there.
    """
    smooth_value = smoothing_value(smooth_method, smooth_value)
    xp = namespace(stats)
    shape = stats.shape[:-1]
    stats = stats.reshape(-1, stats.shape[-1])
    lengths = cast(stats[:, :2], "float64")
    sys_len, ref_len = lengths[:, 0], lengths[:, 1]
    correct = clone(cast(stats[:, 2:2 + max_order], dtype))
    total = clone(cast(stats[:, 2 + max_order:2 + 2 * max_order], dtype))
    ratio = ref_len / xp.where(sys_len > 1, sys_len, 1.0)
    bp = xp.where(sys_len < ref_len, xp.where(sys_len > 0, exp(1 - ratio), 0.0), 1.0)
    no_match = (correct == 0).all(1)
    if smooth_method == "add-k":
        correct[:, 1:] += smooth_value
        total[:, 1:] += smooth_value
    active = xp.cumprod(cast(total > 0, "int64"), 1) > 0  # the loop stops at the first empty order
    safe_total = xp.where(active, total, 1)
    zero = (correct == 0) & active
    percent = 100.0 * correct / safe_total
    percent = xp.where(xp.isfinite(percent), percent, 100.0 * (correct / safe_total))  # see _percent
    precisions = xp.where(active, percent, 0.0)
    if smooth_method == "exp":
        doublings = xp.cumsum(cast(zero, dtype), 1)
        precisions = xp.where(zero, scalar(100.0, dtype, stats) / (2.0 ** doublings * safe_total), precisions)
    elif smooth_method == "floor":
        precisions = xp.where(zero, scalar(100.0 * smooth_value, dtype, stats) / safe_total, precisions)
    if effective_order:
        orders = active.sum(1)
        eff_order = xp.where(orders > 1, orders, 1)
    else:
        eff_order = xp.full_like(sys_len, max_order, dtype=dtype_in(xp, "int64"))
    precisions = cast(precisions, "float64")
    logs = xp.where(precisions > 0, log(xp.where(precisions > 1e-300, precisions, 1e-300)), LOG_ZERO)
    log_sum = xp.zeros_like(sys_len)
    for n in range(max_order):  # in order, as sacrebleu's sum(): a tree sum may differ in the last bit
        log_sum = log_sum + xp.where(n < eff_order, logs[:, n], 0.0)
    score = bp * exp(log_sum / eff_order)
    return xp.where(no_match, 0.0, score).reshape(shape)


class BLEU:
    """BLEU with fixed options: tokenise, count, score (corpus or sentence), and sign.

    ``BLEU(tokenize="13a").corpus_score(hyps, [refs_a, refs_b])`` takes reference *streams*
    like sacrebleu: ``refs[k][i]`` is the k-th reference of sentence i; a ``None`` entry means that
    sentence has fewer references.
    """

    def __init__(self, lowercase: bool = False, tokenize: str = "13a", smooth_method: str = "exp",
                 smooth_value: float | None = None, max_order: int = MAX_ORDER, effective_order: bool = False):
        smoothing_value(smooth_method, smooth_value)  # refuse a bad method or value before any work
        if max_order < 1:
            raise ConfigError(f"max_order must be at least 1, got {max_order}")
        self.lowercase = lowercase
        self.tokenize = tokenize
        self.tokenizer = get_tokenizer(tokenize)
        self.smooth_method = smooth_method
        self.smooth_value = smooth_value
        self.max_order = max_order
        self.effective_order = effective_order
        self.num_refs: int | None = None

    def tokenize_line(self, line: str) -> list[str]:
        """Lowercase (if asked), strip trailing whitespace, tokenise, split: sacrebleu's preprocessing."""
        if self.lowercase:
            line = line.lower()
        return self.tokenizer(line.rstrip()).split()

    def reference_table(self, references: Sequence[Sequence[str | None]]) -> list[tuple[dict, list[int]]]:
        """The references' side of :meth:`statistics`, per sentence: (n-gram -> max count over its
        references, reference lengths). Counted once, it serves every system scored against the same
        references (as sacrebleu's ``BLEU(references=...)`` caches them)."""
        if not references:
            raise DataError("no reference stream given")
        tok = self.tokenize_line
        table, num_refs = [], set()
        for i, refs in enumerate(zip(*references, strict=True)):
            tokens = [tok(ref) for ref in refs if ref is not None]
            if not tokens:
                raise DataError(f"sentence {i + 1} has no reference")
            num_refs.add(len(tokens))
            table.append(reference_info(tokens, self.max_order))
        self.num_refs = num_refs.pop() if len(num_refs) == 1 else -1
        return table

    def statistics(self, hypotheses: Sequence[str], references: Sequence[Sequence[str | None]],
                   table: list[tuple[dict, list[int]]] | None = None) -> list[list[int]]:
        """Per-sentence rows ``[hyp_len, ref_len, correct_1..N, total_1..N]``.

        hypotheses: (S,) strings; references: K streams of S strings (None = missing reference);
        ``table``: their :meth:`reference_table`, when already counted.
        """
        check_streams(hypotheses, references)
        table = self.reference_table(references) if table is None else table
        tok, order = self.tokenize_line, self.max_order
        return [segment_statistics(tok(hyp), ngrams, lengths, order)
                for hyp, (ngrams, lengths) in zip(hypotheses, table, strict=True)]

    def score_statistics(self, row: Sequence[float]) -> BLEUScore:
        """A BLEUScore from one (summed) statistics row."""
        m = self.max_order
        result = compute_bleu(row[2:2 + m], row[2 + m:2 + 2 * m], int(row[0]), int(row[1]), self.smooth_method,
                              self.smooth_value, self.effective_order, m)
        result.signature = self.signature()
        return result

    def corpus_score(self, hypotheses: Sequence[str], references: Sequence[Sequence[str | None]]) -> BLEUScore:
        """Corpus BLEU of ``hypotheses`` (S,) against K reference streams of S lines each."""
        return self.score_statistics(self.summed(self.statistics(hypotheses, references)))

    def summed(self, rows: Sequence[Sequence[float]]) -> list[float]:
        """The corpus statistics row: the column sums of the sentences' rows."""
        width = 2 + 2 * self.max_order
        return [sum(row[j] for row in rows) for j in range(width)] if rows else [0] * width

    def scores(self, hypotheses: Sequence[str], references: Sequence[Sequence[str | None]], sentence: bool = False,
               device: object = "cpu") -> list[BLEUScore]:
        """Corpus BLEU (a list of one score) or, with ``sentence``, one score a line. The statistics are counted
        on ``device`` (a GPU counts n-grams of token ids, :func:`seqlab.metrics.bleu_ids.string_statistics`;
        the numbers are the same)."""
        if str(getattr(device, "type", device)).split(":")[0] == "cpu":
            rows = self.statistics(hypotheses, references)
        else:
            from seqlab.metrics.bleu_ids import string_statistics

            rows = string_statistics(self, hypotheses, references, device).tolist()
        return [self.score_statistics(row) for row in rows] if sentence else [self.score_statistics(self.summed(rows))]

    def sentence_scores(self, hypotheses: Sequence[str],
                        references: Sequence[Sequence[str | None]]) -> list[BLEUScore]:
        """One BLEUScore per sentence (use ``effective_order=True`` for sacrebleu's sentence BLEU)."""
        return [self.score_statistics(row) for row in self.statistics(hypotheses, references)]

    def sentence_score(self, hypothesis: str, references: Sequence[str]) -> BLEUScore:
        """BLEU of one hypothesis against its references (a list of strings)."""
        return self.sentence_scores([hypothesis], [[r] for r in references])[0]

    def signature(self) -> str:
        """``nrefs:1|case:mixed|eff:no|tok:13a|smooth:exp|version:2.6.0``, as sacrebleu's BLEU signature.

        The version is sacrebleu's: its tokenisers define the numbers. ``nrefs`` is ``var`` when the
        number of references varied between sentences, ``?`` before anything was scored.
        """
        nrefs = {None: "?", -1: "var"}.get(self.num_refs, self.num_refs)
        smooth = self.smooth_method
        if SMOOTH_DEFAULTS[smooth] is not None:
            value = self.smooth_value if self.smooth_value is not None else SMOOTH_DEFAULTS[smooth]
            smooth += f"[{value:.2f}]"
        case, eff = "lc" if self.lowercase else "mixed", "yes" if self.effective_order else "no"
        return (f"nrefs:{nrefs}|case:{case}|eff:{eff}|tok:{self.tokenizer.signature()}|smooth:{smooth}"
                f"|version:{sacrebleu.__version__}")


def corpus_bleu(hypotheses: Sequence[str], references: Sequence[Sequence[str | None]], smooth_method: str = "exp",
                smooth_value: float | None = None, lowercase: bool = False, tokenize: str = "13a",
                max_order: int = MAX_ORDER, effective_order: bool = False) -> BLEUScore:
    """Corpus BLEU with sacrebleu's defaults (13a, exp smoothing); references are K streams."""
    return BLEU(lowercase, tokenize, smooth_method, smooth_value, max_order, effective_order).corpus_score(
        hypotheses, references)


def sentence_bleu(hypothesis: str, references: Sequence[str], smooth_method: str = "exp",
                  smooth_value: float | None = None, lowercase: bool = False, tokenize: str = "13a",
                  max_order: int = MAX_ORDER, effective_order: bool = True) -> BLEUScore:
    """Sentence BLEU with sacrebleu's sentence defaults (exp smoothing, effective order)."""
    return BLEU(lowercase, tokenize, smooth_method, smooth_value, max_order, effective_order).sentence_score(
        hypothesis, references)
