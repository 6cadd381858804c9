"""Evaluation and error analysis of a translation model.

Error analysis (the "search or model?" test; e.g. Ng's deeplearning.ai sequence-models course,
after Koehn 2004): for each sentence the system gets wrong, score the reference y* and the
output y^ under the model with the objective the search maximised (log P(y|x) over the length
penalty, plus the coverage penalty when the search used one). If the reference scores higher,
the model preferred it and the search missed it: a search error (a wider beam may help).
Otherwise the model itself ranks the wrong output higher: a model error (more data, a better
model).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass

import torch

from seqlab.metrics.bleu import corpus_bleu
from seqlab.seq2seq.search import coverage_penalty, length_penalty
from seqlab.seq2seq.translate import Translator
from seqlab.text.padding import length_mask


@dataclass
class EvalResult:
    bleu: float
    signature: str
    exact_match: float
    sentences: int
    failed: int
    report: str

    def to_dict(self) -> dict:
        return asdict(self)


def evaluate(translator: Translator, sources: Sequence[str], references: Sequence[str], beam: int = 5,
             alpha: float | None = None, tokenize: str | None = None,
             batch_size: int = 64, beta: float | None = None, **controls: object) -> tuple[EvalResult, list[str]]:
    """BLEU (seqlab's, equal to sacrebleu's) and exact match of the translations; also returns them. ``controls``:
    :meth:`Translator.translate`'s other settings (``prefixes``, ``sample``, ``min_len``, ...)."""
    results = translator.translate(sources, beam=beam, alpha=alpha, batch_size=batch_size, beta=beta, **controls)
    hyps = [r.text for r in results]
    score = corpus_bleu(hyps, [list(references)], tokenize=tokenize or translator.cfg.bleu_tokenize)
    exact = sum(h.strip() == r.strip() for h, r in zip(hyps, references, strict=True)) / max(1, len(hyps))
    failed = sum(r.error is not None for r in results)
    return EvalResult(score.score, score.signature, exact, len(hyps), failed, score.format()), hyps


@torch.no_grad()
def sequence_scores(translator: Translator, sources: Sequence[str], targets: Sequence[str], alpha: float,
                    penalty: str, batch_size: int = 64, beta: float = 0.0) -> torch.Tensor:
    """The beam-search objective of each pair under the model: log P(target | source) over the length
    penalty, plus the coverage penalty of the teacher-forced attention when ``beta`` > 0: (N,) float."""
    out = torch.zeros(len(sources), device=translator.device)
    for index, src, lengths, tgt, tgt_len in translator.teacher_batches(sources, targets, batch_size):
        score = translator.model.score(src, lengths, tgt) / length_penalty(tgt_len, alpha, penalty)
        if beta > 0:  # a second teacher-forced pass, for the attention
            coverage = translator.model.coverage(src, lengths, tgt)
            score = score + coverage_penalty(coverage, length_mask(lengths, src.shape[1]), beta)
        out[index] = score.float()
    return out.cpu()


def error_analysis(translator: Translator, sources: Sequence[str], references: Sequence[str], beam: int = 5,
                   alpha: float | None = None, batch_size: int = 64, beta: float | None = None) -> dict:
    """Counts and shares of search and model errors over the sentences the system gets wrong."""
    alpha = translator.cfg.alpha if alpha is None else alpha
    beta = translator.cfg.coverage_beta if beta is None else beta
    penalty = translator.cfg.penalty
    results = translator.translate(sources, beam=beam, alpha=alpha, batch_size=batch_size, beta=beta)
    wrong = [i for i, (r, ref) in enumerate(zip(results, references, strict=True))
             if r.error is None and r.text.strip() != ref.strip()]
    src = [sources[i] for i in wrong]
    ref_scores = sequence_scores(translator, src, [references[i] for i in wrong], alpha, penalty, batch_size, beta)
    out_scores = sequence_scores(translator, src, [results[i].text for i in wrong], alpha, penalty, batch_size, beta)
    search = int((ref_scores > out_scores).sum())
    model = len(wrong) - search
    examples = [{"line": i + 1, "source": sources[i], "reference": references[i], "output": results[i].text,
                 "reference_score": float(r), "output_score": float(o),
                 "error": "search" if r > o else "model"}
                for i, r, o in zip(wrong, ref_scores.tolist(), out_scores.tolist(), strict=True)]
    return {"sentences": len(sources), "correct": len(sources) - len(wrong) - sum(r.error is not None for r in results),
            "wrong": len(wrong), "search_errors": search, "model_errors": model,
            "search_share": search / len(wrong) if wrong else 0.0, "model_share": model / len(wrong) if wrong else 0.0,
            "beam": beam, "alpha": alpha, "beta": beta, "examples": examples}


def plot_attention(source: list[str], target: list[str], weights: torch.Tensor, path: str) -> None:
    """A heatmap of the attention weights (target pieces down, source pieces across) written to ``path``."""
    from seqlab.errors import ConfigError

    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        raise ConfigError("plotting needs matplotlib: pip install 'seqlab[plot]'") from None
    fig, ax = plt.subplots(figsize=(max(4, 0.35 * len(source) + 2), max(3, 0.35 * len(target) + 1.5)))
    ax.imshow(weights.numpy(), cmap="viridis", aspect="auto", vmin=0.0)
    ax.set_xticks(range(len(source)), source, rotation=90)
    ax.set_yticks(range(len(target)), target)
    ax.set_xlabel("source")
    ax.set_ylabel("output")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
