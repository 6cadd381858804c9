"""seqlab GloVe against Stanford GloVe (the anchor) with demo.sh's settings, and hard-debiasing speed.

    python benchmarks/glove_vs_reference.py --device cuda --stanford-dir ~/GloVe   # measured anchor
    python benchmarks/glove_vs_reference.py --device cuda                         # published anchor
    python benchmarks/glove_vs_reference.py --max-words 1000000 --epochs 5 --device cpu   # quick check

seqlab counts co-occurrences and trains GloVe on the corpus (default: the text8-style
``../shared/data/corpus/wiki2015-text8style.xz``) with configs/glove_text8.toml, Stanford's demo.sh
settings (min count 5, window 15, dim 50, x_max 10, 15 iterations), and reports the time of each
stage, co-occurrence entries trained per second, and analogy accuracy on questions-words.txt
(3CosAdd) two ways: gensim's protocol restricted to the 30,000 most frequent words, and Stanford's
eval/python/evaluate.py protocol (the whole vocabulary, questions with unknown words skipped).

The anchor: with ``--stanford-dir`` (a built checkout of stanfordnlp/GloVe, with build/vocab_count,
cooccur, shuffle and glove), the same corpus goes through demo.sh's four commands on
``--threads`` threads and is evaluated by the same code. Without it, the published figure is used:
Stanford's CI (.travis.yml, commit bc565d8, 2017) required demo.sh on the real text8 to print
"Total accuracy" of 22.xx% or 23.xx% with evaluate.py, a different (older) corpus than ours.

Last, hard debiasing (neutralise + equalise) of random 100,000 x 300 vectors on the CPU is timed.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import subprocess
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from seqlab.config import build_config
from seqlab.device import resolve_device, synchronize
from seqlab.embeddings.debias import hard_debias
from seqlab.embeddings.evaluate import evaluate_analogies, gensim_test_data
from seqlab.embeddings.glove import Glove, GloveConfig, count_cooccurrences
from seqlab.embeddings.keyed_vectors import KeyedVectors
from seqlab.embeddings.word_lists import GenderLists, definitional_pairs
from seqlab.text.corpus import iter_sentences
from seqlab.text.vocab import Vocab

REPO = Path(__file__).resolve().parents[1]
DEFAULT_CORPUS = REPO.parent / "shared" / "data" / "corpus" / "wiki2015-text8style.xz"
PUBLISHED = "22.00-23.99% (Stanford CI check of demo.sh on text8, evaluate.py, .travis.yml @ bc565d8, 2017)"


def prefix_corpus(corpus: Path, max_words: int, folder: Path) -> Path:
    """The first ``max_words`` tokens of ``corpus`` as one line of plain text (text8 style)."""
    out = folder / f"prefix{max_words}.txt"
    taken = 0
    with open(out, "w", encoding="utf-8") as fh:
        for sentence in iter_sentences(corpus, max_sentence_length=1_000_000):
            part = sentence[: max_words - taken]
            fh.write(" ".join(part) + " ")
            taken += len(part)
            if taken >= max_words:
                break
        fh.write("\n")
    return out


def analogies(kv: KeyedVectors) -> dict[str, float]:
    questions = gensim_test_data("questions-words.txt")
    r30k = evaluate_analogies(kv, questions, restrict_vocab=30000)
    full = evaluate_analogies(kv, questions, restrict_vocab=len(kv))
    return {"acc_30k": r30k.accuracy, "acc_full": full.accuracy, "seen_full": full.correct + full.incorrect}


def run_seqlab(corpus: Path, cfg: GloveConfig, device: str) -> tuple[KeyedVectors, dict]:
    dev = resolve_device(device)
    t0 = time.perf_counter()
    cooc = count_cooccurrences(corpus, cfg, dev, quiet=True)
    synchronize(dev)
    t1 = time.perf_counter()
    model = Glove(Vocab(cooc.words, cooc.counts, cooc.total_words), cfg, dev)
    rows, cols, values = cooc.entries(dev)
    stats = model.train(rows, cols, values, quiet=True)
    t2 = time.perf_counter()
    return model.keyed_vectors(), {"count_s": t1 - t0, "train_s": t2 - t1, "total_s": t2 - t0, "nnz": cooc.nnz,
                                   "vocab": len(cooc.words), "entries_per_s": stats["entries_per_second"],
                                   "cost": stats["loss"]}


def run_stanford(corpus: Path, cfg: GloveConfig, stanford: Path, threads: int, work: Path) -> tuple[KeyedVectors, dict]:
    build = stanford / "build"
    vocab, cooc, shuf, save = work / "vocab.txt", work / "cooccurrence.bin", work / "cooccurrence.shuf.bin", \
        work / "vectors"
    plain = corpus
    if corpus.suffix in (".xz", ".gz", ".bz2"):  # the C tools read plain text on stdin
        plain = work / "corpus.txt"
        with open(plain, "w", encoding="utf-8") as fh:
            for sentence in iter_sentences(corpus, max_sentence_length=1_000_000):
                fh.write(" ".join(sentence) + "\n")
    times = {}

    def stage(name: str, args: list[str], stdin: Path, stdout: Path | None) -> None:
        t = time.perf_counter()
        with open(stdin, "rb") as fin, open(stdout, "wb") if stdout else open(os.devnull, "wb") as fout:
            subprocess.run([str(build / name), *args], stdin=fin, stdout=fout, stderr=subprocess.DEVNULL, check=True)
        times[name] = time.perf_counter() - t

    stage("vocab_count", ["-min-count", str(cfg.min_count), "-verbose", "0"], plain, vocab)
    stage("cooccur", ["-memory", "4.0", "-vocab-file", str(vocab), "-verbose", "0", "-window-size", str(cfg.window)],
          plain, cooc)
    stage("shuffle", ["-memory", "4.0", "-verbose", "0"], cooc, shuf)
    stage("glove", ["-save-file", str(save), "-threads", str(threads), "-input-file", str(shuf), "-x-max",
                    str(cfg.x_max), "-iter", str(cfg.epochs), "-vector-size", str(cfg.dim), "-binary", "0",
                    "-vocab-file", str(vocab), "-verbose", "0", "-eta", str(cfg.eta), "-alpha", str(cfg.alpha)],
          plain, None)
    words, rows = [], []
    with open(str(save) + ".txt", encoding="utf-8") as fh:
        for line in fh:
            parts = line.rstrip("\n").split(" ")
            if parts[0] != "<unk>":
                words.append(parts[0])
                rows.append(np.asarray(parts[1:], dtype=np.float32))
    nnz = os.path.getsize(shuf) // 16  # CREC: int, int, double
    stats = {"count_s": times["vocab_count"] + times["cooccur"] + times["shuffle"], "train_s": times["glove"],
             "total_s": sum(times.values()), "nnz": nnz, "vocab": len(words),
             "entries_per_s": nnz * cfg.epochs / times["glove"], "cost": float("nan")}
    return KeyedVectors(words, np.stack(rows)), stats


def time_debias(words: int, dim: int, repeats: int = 3) -> float:
    """Median seconds of hard_debias on random (words, dim) vectors on the CPU (after a warm-up)."""
    rng = np.random.default_rng(0)
    pairs = definitional_pairs()
    names = [w for p in pairs for w in p] + [f"w{i}" for i in range(words - 2 * len(pairs))]
    kv = KeyedVectors(names, rng.standard_normal((words, dim)).astype(np.float32))
    specific = [w for p in pairs for w in p] + [f"w{i}" for i in range(0, 2000, 2)]
    equalize = [(f"w{i}", f"w{i + 1}") for i in range(2000, 2104, 2)]  # 52 pairs, as Bolukbasi's list
    lists = GenderLists(pairs, equalize, specific, [f"w{i}" for i in range(3000, 3320)])
    hard_debias(kv, lists, "cpu")
    seconds = []
    for _ in range(repeats):
        t = time.perf_counter()
        hard_debias(kv, lists, "cpu")
        seconds.append(time.perf_counter() - t)
    return float(np.median(seconds))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS)
    parser.add_argument("--device", default="auto")
    parser.add_argument("--max-words", type=int, default=0, help="Use only the first N tokens (0: all).")
    parser.add_argument("--epochs", type=int, default=None, help="Override the 15 iterations of demo.sh.")
    parser.add_argument("--batch-size", type=int, default=None)
    parser.add_argument("--stanford-dir", type=Path, help="A built stanfordnlp/GloVe checkout (build/glove ...).")
    parser.add_argument("--threads", type=int, default=os.cpu_count() or 1,
                        help="Threads for Stanford glove and for seqlab (torch and its C kernels).")
    parser.add_argument("--debias-words", type=int, default=100_000)
    parser.add_argument("--debias-dim", type=int, default=300)
    parser.add_argument("--skip-glove", action="store_true", help="Only time debiasing.")
    args = parser.parse_args()

    if not args.skip_glove:
        cfg = build_config(GloveConfig, REPO / "configs" / "glove_text8.toml", section="glove", epochs=args.epochs,
                           batch_size=args.batch_size)
        with tempfile.TemporaryDirectory() as tmp:
            corpus = prefix_corpus(args.corpus, args.max_words, Path(tmp)) if args.max_words else args.corpus
            print(f"corpus {args.corpus}" + (f" (first {args.max_words:,} tokens)" if args.max_words else ""))
            print(f"settings {dataclasses.asdict(cfg)}")
            results = {}
            torch.set_num_threads(args.threads)
            kv, stats = run_seqlab(corpus, cfg, args.device)
            results[f"seqlab ({resolve_device(args.device)})"] = {**stats, **analogies(kv)}
            if args.stanford_dir:
                kv, stats = run_stanford(corpus, cfg, args.stanford_dir, args.threads, Path(tmp))
                results[f"Stanford GloVe ({args.threads} threads)"] = {**stats, **analogies(kv)}
        header = (f"{'':28} {'vocab':>7} {'nonzero':>11} {'count s':>8} {'train s':>8} {'total s':>8} "
                  f"{'entries/s':>11} {'acc@30k':>8} {'acc@all':>8}")
        print(header)
        for name, r in results.items():
            print(f"{name:28} {r['vocab']:>7,} {r['nnz']:>11,} {r['count_s']:>8.1f} {r['train_s']:>8.1f} "
                  f"{r['total_s']:>8.1f} {r['entries_per_s']:>11,.0f} {100 * r['acc_30k']:>7.2f}% "
                  f"{100 * r['acc_full']:>7.2f}%")
        names = list(results)
        if len(names) == 2:
            ours, ref = results[names[0]], results[names[1]]
            print(f"ratio seqlab / Stanford: end-to-end speed x{ref['total_s'] / ours['total_s']:.2f}, "
                  f"accuracy (all words) {100 * (ours['acc_full'] - ref['acc_full']):+.2f} points")
        else:
            print(f"anchor (published, not measured here; real text8, not this corpus): Total accuracy {PUBLISHED}")
            print("seqlab's acc@all is the comparable figure (evaluate.py's protocol: the whole vocabulary).")
    torch.set_num_threads(os.cpu_count() or 1)
    seconds = time_debias(args.debias_words, args.debias_dim)
    print(f"hard debias of {args.debias_words:,} x {args.debias_dim} random vectors on the CPU "
          f"({torch.get_num_threads()} threads): {seconds:.3f} s (median of 3)")


if __name__ == "__main__":
    main()
