"""Multi30k translation with seqlab's attention encoder-decoder: BLEU, training time, decoding speed.

    python benchmarks/seq2seq_multi30k.py --device cuda                       # the H100 run (De->En, En->De)
    python benchmarks/seq2seq_multi30k.py --device cpu --max-train 3000 --epochs 1 --directions de-en   # smoke
    python benchmarks/seq2seq_multi30k.py --device cpu --directions de-en --model runs/multi30k_de_en   # no training
    python benchmarks/seq2seq_multi30k.py --directions de-en --model runs/a --model runs/b --rerank runs/r2l --alpha 1

For each direction it trains with ``configs/multi30k_<src>_<tgt>.toml`` (wall time of the whole
training, validation included), then translates val, test_2016_flickr and test_2017_flickr with
beam 5 and scores the detokenised output with seqlab's BLEU, checked equal to sacrebleu's. Decoding
speed: beam 5 over the 1000 test_2016 sentences (batched, synchronised), against the anchor, a
plain per-sentence beam search written the obvious way (a Python loop over sentences, one decoder
call per step for the beams of one sentence, finished hypotheses kept in a list), timed in the same
run on a sample and reported as sentences/s. Targets (issue 8): >= 37 BLEU De->En test_2016 with
beam 5, training < 15 min and beam-5 decoding of the test set < 3 s on the H100, batched beam search
>= 3x the per-sentence loop. ``--model`` twice or more decodes with the ensemble of those models, and
``--rerank`` reranks the beam's hypotheses with more models (a right-to-left one); the decoding time
then includes the reranking, and the per-sentence anchor runs the same ensemble without it.
"""

from __future__ import annotations

import argparse
import gzip
import tempfile
import time
from pathlib import Path

import sacrebleu
import torch

from seqlab.cli.common import parse_sets
from seqlab.config import build_config
from seqlab.device import resolve_device, synchronize
from seqlab.metrics.bleu import corpus_bleu
from seqlab.seq2seq.config import Seq2SeqConfig
from seqlab.seq2seq.search import length_penalty
from seqlab.seq2seq.train import train_seq2seq
from seqlab.seq2seq.translate import Translator
from seqlab.text.subword import BOS, EOS

REPO = Path(__file__).resolve().parents[1]
DATA = REPO.parent / "shared" / "data" / "multi30k"


def read(path: Path) -> list[str]:
    with gzip.open(path, "rt", encoding="utf-8") as fh:
        return [line.rstrip("\n") for line in fh]


@torch.no_grad()
def naive_beam(translator: Translator, sentence: str, beam: int, alpha: float) -> str:
    """Per-sentence beam search, the straightforward way: lists of hypotheses, one sentence at a time."""
    model, cfg = translator.model, translator.cfg
    ids = translator.src_sp.encode(sentence)
    src = torch.tensor([ids], device=translator.device)
    memory, mask, state = model.encode(src, torch.tensor([len(ids)], device=translator.device))
    keys = model.keys(memory)
    feed = model.initial_feed(1, src.device, memory.dtype)
    hyps = [([], 0.0, state, feed)]
    finished: list[tuple[list[int], float]] = []
    max_len = int(len(ids) * cfg.max_len_ratio + cfg.max_len_offset)
    for t in range(max_len):
        candidates = []
        for tokens, score, st, fd in hyps:
            prev = torch.tensor([tokens[-1] if tokens else BOS], device=src.device)
            logits, st2, fd2, _ = model.step(prev, st, fd, memory, keys, mask)
            logp = torch.log_softmax(logits.float(), -1)[0]
            top = logp.topk(beam)
            for lp, tok in zip(top.values.tolist(), top.indices.tolist(), strict=True):
                candidates.append((tokens + [tok], score + lp, st2, fd2))
        candidates.sort(key=lambda c: c[1], reverse=True)
        hyps = []
        for tokens, score, st, fd in candidates[:beam]:
            if tokens[-1] == EOS or t + 1 == max_len:
                finished.append((tokens, score / float(length_penalty(torch.tensor(len(tokens)), alpha))))
            else:
                hyps.append((tokens, score, st, fd))
        if not hyps or len(finished) >= beam:
            break
    best = max(finished, key=lambda f: f[1])[0]
    return translator.target_text(best)


def train_direction(src: str, tgt: str, args, device: torch.device, workdir: Path) -> Path:
    """Train with the direction's config; prints the wall time; returns the model directory."""
    config = REPO / "configs" / f"multi30k_{src}_{tgt}.toml"
    overrides = {**({"epochs": args.epochs} if args.epochs else {}), **parse_sets(tuple(args.set))}
    cfg = build_config(Seq2SeqConfig, config, "seq2seq", **overrides)
    out = workdir / f"{src}_{tgt}"
    texts = None
    if args.max_train or args.max_valid:
        from seqlab.seq2seq.train import load_texts

        tr_s, tr_t, va_s, va_t = load_texts(cfg)
        train, valid = slice(args.max_train or None), slice(args.max_valid or None)
        texts = (tr_s[train], tr_t[train], va_s[valid], va_t[valid])
    synchronize(device)
    start = time.perf_counter()
    if texts:
        from seqlab.seq2seq.train import Seq2SeqTrainer

        summary = Seq2SeqTrainer(cfg, out, device, texts=texts, quiet=args.quiet, log=print).fit()
    else:
        summary = train_seq2seq(cfg, out, device, quiet=args.quiet, log=print)
    synchronize(device)
    train_s = time.perf_counter() - start
    print(f"\n{src}->{tgt}: trained {summary['epochs']} epochs in {train_s / 60:.1f} min "
          f"(best validation BLEU {summary['best_valid_bleu']:.2f}, greedy)")
    return out


def evaluate_direction(src: str, tgt: str, models: list[Path], args, device: torch.device) -> None:
    """Beam-5 BLEU on val and both test sets, decoding time, and the per-sentence loop anchor."""
    translator = Translator.load_ensemble(models, device)
    if args.rerank:
        translator.set_rerankers([Translator.load(path, device) for path in args.rerank], args.rerank_weight)
    cfg = translator.cfg
    alpha = cfg.alpha if args.alpha is None else args.alpha
    rerank = f", reranked with {' + '.join(map(str, args.rerank))} (weight {args.rerank_weight})" if args.rerank else ""
    print(f"{src}->{tgt}: model {' + '.join(map(str, models))}{rerank}, alpha {alpha}")

    for split in ("val", "test_2016_flickr", "test_2017_flickr"):
        sources, references = read(DATA / f"{split}.{src}.gz"), read(DATA / f"{split}.{tgt}.gz")
        if args.eval_limit:
            sources, references = sources[:args.eval_limit], references[:args.eval_limit]
        translator.translate(sources[:64], beam=5)  # warm-up
        synchronize(device)
        t0 = time.perf_counter()
        hyps = [r.text for r in translator.translate(sources, beam=5, alpha=alpha, batch_size=args.batch_size)]
        synchronize(device)
        decode_s = time.perf_counter() - t0
        ours = corpus_bleu(hyps, [references])
        theirs = sacrebleu.corpus_bleu(hyps, [references])
        assert ours.score == theirs.score, (ours.score, theirs.score)
        print(f"  {split:18s} BLEU {ours.score:6.2f} (beam 5, sacrebleu equal)  decode {decode_s:6.2f} s "
              f"= {len(sources) / decode_s:8.1f} sentences/s  {ours.format()}")
        if split == "test_2016_flickr":
            sample = sources[:args.naive_sample]
            synchronize(device)
            t0 = time.perf_counter()
            for sentence in sample:
                naive_beam(translator, sentence, 5, alpha)
            synchronize(device)
            naive_rate = len(sample) / (time.perf_counter() - t0)
            batched_rate = len(sources) / decode_s
            print(f"  beam-5 throughput: batched {batched_rate:.1f} sentences/s, per-sentence loop "
                  f"{naive_rate:.1f} sentences/s (on {len(sample)}): ratio {batched_rate / naive_rate:.1f}x")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda"])
    parser.add_argument("--directions", default="de-en,en-de", help="comma-separated src-tgt pairs")
    parser.add_argument("--epochs", type=int, default=None, help="override the config's epochs")
    parser.add_argument("--max-train", type=int, default=0, help="train on the first N pairs only (smoke test)")
    parser.add_argument("--max-valid", type=int, default=0, help="validate on the first N pairs only (smoke test)")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                        help="override a setting of the config (repeatable), as seqlab seq2seq train --set")
    parser.add_argument("--eval-limit", type=int, default=0, help="score only the first N sentences of each split")
    parser.add_argument("--batch-size", type=int, default=128, help="decoding batch size")
    parser.add_argument("--naive-sample", type=int, default=100, help="sentences for the per-sentence loop")
    parser.add_argument("--workdir", type=Path, default=None, help="where models go (default: a temp dir)")
    parser.add_argument("--model", type=Path, action="append", default=None,
                        help="evaluate this trained model instead of training one (one direction); repeat it "
                             "for an ensemble")
    parser.add_argument("--rerank", type=Path, action="append", default=[],
                        help="rerank the beam's hypotheses with this model too (repeatable)")
    parser.add_argument("--rerank-weight", type=float, default=0.5, help="the rerankers' share of the score")
    parser.add_argument("--alpha", type=float, default=None, help="length-normalisation exponent (default: the "
                                                                  "model's)")
    parser.add_argument("--quiet", action="store_true")
    args = parser.parse_args()
    device = resolve_device(args.device)
    pairs = [tuple(pair.strip().split("-")) for pair in args.directions.split(",")]
    if args.model is not None and len(pairs) != 1:
        parser.error("--model evaluates one direction: give --directions SRC-TGT too")
    if not DATA.is_dir():
        raise SystemExit(f"{DATA}: Multi30k not found (../shared/data beside the checkout)")
    print(f"device {device}, torch {torch.__version__}")
    with tempfile.TemporaryDirectory() as tmp:
        workdir = args.workdir or Path(tmp)
        for src, tgt in pairs:
            models = args.model or [train_direction(src, tgt, args, device, workdir)]
            evaluate_direction(src, tgt, models, args, device)


if __name__ == "__main__":
    main()
