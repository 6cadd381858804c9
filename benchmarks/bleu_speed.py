"""seqlab BLEU against sacrebleu (the anchor), same sentences, same run.

    python benchmarks/bleu_speed.py --device cuda           # the H100 comparison
    python benchmarks/bleu_speed.py --device cpu --pairs 20000

The data are the Multi30k test_2016_flickr English captions (``../shared/data``), replicated to
``--pairs`` sentence pairs; each hypothesis is its reference with words dropped and swapped, so
scores are realistic (neither 0 nor 100). Two comparisons:

1. Sentence level: a loop over ``sacrebleu.sentence_bleu`` (CPU) against seqlab's token-id BLEU
   (``sentence_bleu_ids``) on ``--device``, from ids already on the device (what beam search and
   minimum-risk training have) and, separately, end to end from strings (tokenise, map to ids,
   copy, score).
2. Corpus level on strings, both on the CPU: ``sacrebleu.corpus_bleu`` against seqlab's
   ``corpus_bleu``. Tokeniser caches (sacrebleu's lru_cache, shared by both) are cleared before
   each timed call, so both tokenise everything.

Every seqlab result is checked against sacrebleu's before its time is printed.
"""

from __future__ import annotations

import argparse
import gzip
import random
import statistics
import time
from pathlib import Path

import sacrebleu
import torch

from seqlab.device import resolve_device, synchronize
from seqlab.metrics.bleu import BLEU, corpus_bleu
from seqlab.metrics.bleu_ids import pad_ids, sentence_bleu_from_statistics, sentence_bleu_ids, string_statistics

REPO = Path(__file__).resolve().parents[1]
DEFAULT_DATA = REPO.parent / "shared" / "data" / "multi30k" / "test_2016_flickr.en.gz"


def load_pairs(path: Path, pairs: int, seed: int) -> tuple[list[str], list[str]]:
    with gzip.open(path, "rt", encoding="utf-8") as fh:
        refs = [line.rstrip("\n") for line in fh]
    rng = random.Random(seed)
    refs = (refs * (pairs // len(refs) + 1))[:pairs]
    hyps = []
    for ref in refs:
        words = [w for w in ref.split() if rng.random() > 0.15]
        if len(words) > 2 and rng.random() < 0.5:
            i = rng.randrange(len(words) - 1)
            words[i], words[i + 1] = words[i + 1], words[i]
        hyps.append(" ".join(words))
    return hyps, refs


def clear_tokenizer_cache(metric: BLEU) -> None:
    call = type(metric.tokenizer).__call__
    if hasattr(call, "cache_clear"):
        call.cache_clear()


def timed(fn, device: torch.device, repeats: int, before=None) -> tuple[float, object]:
    """The median wall time of ``repeats`` calls of ``fn`` (the device synchronised around each; ``before``,
    if given, runs untimed before each call) and the last call's result."""
    times, result = [], None
    for _ in range(repeats):
        if before is not None:
            before()
        synchronize(device)
        start = time.perf_counter()
        result = fn()
        synchronize(device)
        times.append(time.perf_counter() - start)
    return statistics.median(times), result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="reference sentences (one a line, .gz ok)")
    parser.add_argument("--pairs", type=int, default=100_000, help="sentence pairs to score")
    parser.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda"])
    parser.add_argument("--repeats", type=int, default=3, help="timed repeats of the fast paths (median)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    device = resolve_device(args.device)
    if not args.data.exists():
        raise SystemExit(f"{args.data}: no such file (pass --data, one reference sentence a line)")
    hyps, refs = load_pairs(args.data, args.pairs, args.seed)
    print(f"{len(hyps):,} sentence pairs from {args.data.name}; seqlab device {device}; "
          f"torch {torch.__version__}, sacrebleu {sacrebleu.__version__}")

    # --- 1. sentence level --------------------------------------------------------------------
    start = time.perf_counter()
    sacre_scores = [sacrebleu.sentence_bleu(h, [r]).score for h, r in zip(hyps, refs, strict=True)]
    sacre_s = time.perf_counter() - start

    metric = BLEU(effective_order=True)
    vocab: dict[str, int] = {}
    hyp_ids, hyp_len = pad_ids([[vocab.setdefault(t, len(vocab)) for t in metric.tokenize_line(h)] for h in hyps],
                               device)
    ref_ids, ref_len = pad_ids([[vocab.setdefault(t, len(vocab)) for t in metric.tokenize_line(r)] for r in refs],
                               device)
    sentence_bleu_ids(hyp_ids[:256], hyp_len[:256], ref_ids[:256], ref_len[:256])  # warm-up
    ids_s, ids_scores = timed(lambda: sentence_bleu_ids(hyp_ids, hyp_len, ref_ids, ref_len), device, args.repeats)
    expected = torch.tensor(sacre_scores, dtype=torch.float64)
    max_diff = (ids_scores.cpu() - expected).abs().max().item()
    assert max_diff < 1e-9, f"token-id BLEU differs from sacrebleu by {max_diff}"

    def from_strings():
        clear_tokenizer_cache(metric)
        return sentence_bleu_from_statistics(string_statistics(metric, hyps, [refs], device))

    strings_s, string_scores = timed(from_strings, device, 1)
    assert (string_scores.cpu() - expected).abs().max().item() < 1e-9

    # --- 2. corpus level on strings (CPU) ------------------------------------------------------
    ours_metric = BLEU()

    def sacre_corpus():
        clear_tokenizer_cache(ours_metric)
        return sacrebleu.corpus_bleu(hyps, [refs])

    def ours_corpus():
        clear_tokenizer_cache(ours_metric)
        return corpus_bleu(hyps, [refs])

    cpu = torch.device("cpu")
    sacre_corpus_s, sacre_corpus_score = timed(sacre_corpus, cpu, args.repeats)
    ours_corpus_s, ours_corpus_score = timed(ours_corpus, cpu, args.repeats)
    assert ours_corpus_score.score == sacre_corpus_score.score, "corpus BLEU differs from sacrebleu"

    n = len(hyps)
    rows = [
        ("sentence BLEU, sacrebleu.sentence_bleu loop (CPU)", sacre_s, None),
        (f"sentence BLEU, seqlab token ids on {device.type}", ids_s, sacre_s / ids_s),
        (f"sentence BLEU, seqlab strings -> ids on {device.type}", strings_s, sacre_s / strings_s),
        ("corpus BLEU, sacrebleu.corpus_bleu (CPU)", sacre_corpus_s, None),
        ("corpus BLEU, seqlab corpus_bleu (CPU)", ours_corpus_s, sacre_corpus_s / ours_corpus_s),
    ]
    print(f"\n{'':56s} {'seconds':>9s} {'pairs/s':>12s} {'x anchor':>9s}")
    for name, seconds, ratio in rows:
        print(f"{name:56s} {seconds:9.3f} {n / seconds:12,.0f} {'' if ratio is None else f'{ratio:8.1f}x':>9s}")
    print(f"\ncorpus BLEU {ours_corpus_score.score:.4f} (equal to sacrebleu's); "
          f"sentence scores within {max_diff:.1e} of sacrebleu's")
    print("targets: token-id sentence BLEU on the H100 >= 50x the sacrebleu loop; corpus BLEU >= 1.0x sacrebleu")


if __name__ == "__main__":
    main()
