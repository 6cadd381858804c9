"""seqlab word2vec against gensim (the anchor), same corpus, same settings, same run.

    python benchmarks/word2vec_vs_gensim.py --device cuda            # the H100 comparison
    python benchmarks/word2vec_vs_gensim.py --max-words 3000000     # a quick CPU check
    python benchmarks/word2vec_vs_gensim.py --configs sg-ns-native,sg-ns --seeds 1,2,3   # HogBatch vs exact

A configuration is MODEL-LOSS, optionally with seqlab's CPU kernel after it (``sg-ns-native``:
word2vec.c's exact loop; ``sg-ns`` is HogBatch, the default, also ``sg-ns-batched``; ``cbow-ns-torch``:
the batched torch steps); gensim runs once per MODEL-LOSS and seed. With several seeds each run is
printed and then the mean of each configuration; when MODEL-LOSS-native ran too, each other variant
of that MODEL-LOSS is also compared with it ("vs exact").

For each configuration (sg-ns, sg-hs, cbow-ns by default) it trains gensim (all CPU cores) and
seqlab (``--device``) with matched settings (dim 100, window 5, negative 5, sample 1e-3,
min-count 5, 5 epochs, alpha 0.025 -> 0.0001, sentences of at most 10,000 words) and prints raw
words/s of training, wall time (vocabulary + training), analogy accuracy on gensim's
questions-words.txt (restrict_vocab 30,000), Spearman on SimLex-999 and WS-353, and the ratios
seqlab / gensim. Both models are evaluated by the same code (seqlab's gensim-exact evaluation).
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

from seqlab.device import resolve_device, synchronize
from seqlab.embeddings.evaluate import evaluate_analogies, evaluate_similarity, gensim_test_data
from seqlab.embeddings.keyed_vectors import KeyedVectors
from seqlab.embeddings.word2vec import Word2Vec, Word2VecConfig
from seqlab.text.corpus import Corpus, iter_sentences
from seqlab.text.encode import read_corpus

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared" / "data"
DEFAULT_CORPUS = SHARED / "corpus" / "wiki2015-text8style.xz"


def evaluate(kv: KeyedVectors, simlex: Path) -> dict[str, float]:
    analogy = evaluate_analogies(kv, gensim_test_data("questions-words.txt"), restrict_vocab=30000)
    out = {"analogy": analogy.accuracy,
           "ws353": evaluate_similarity(kv, gensim_test_data("wordsim353.tsv")).spearman,
           "simlex": evaluate_similarity(kv, simlex).spearman}
    return out


def run_gensim(sentences: list[list[str]], cfg: Word2VecConfig, workers: int) -> tuple[KeyedVectors, dict]:
    from gensim.models import Word2Vec as GensimWord2Vec

    t0 = time.perf_counter()
    model = GensimWord2Vec(vector_size=cfg.dim, window=cfg.window, min_count=cfg.min_count, sample=cfg.sample,
                           sg=int(cfg.model == "sg"), hs=int(cfg.uses_hs),
                           negative=cfg.negative if cfg.uses_ns else 0, alpha=cfg.alpha,
                           min_alpha=cfg.min_alpha, seed=cfg.seed, workers=workers, max_vocab_size=None)
    model.build_vocab(sentences)
    t1 = time.perf_counter()
    model.train(sentences, total_examples=model.corpus_count, epochs=cfg.epochs)
    t2 = time.perf_counter()
    raw = model.corpus_total_words * cfg.epochs
    kv = KeyedVectors(list(model.wv.index_to_key), model.wv.vectors, None)
    return kv, {"words_per_second": raw / (t2 - t1), "train_s": t2 - t1, "wall_s": t2 - t0}


def run_seqlab(corpus: Path, cfg: Word2VecConfig, device: str) -> tuple[KeyedVectors, dict]:
    dev = resolve_device(device)
    t0 = time.perf_counter()
    with Corpus(str(corpus), cfg.lowercase, cfg.max_sentence_length) as sentences:
        vocab, data = read_corpus(sentences, cfg.min_count, cfg.max_vocab, quiet=True)  # what embed train does
    model = Word2Vec(vocab, cfg, dev)
    synchronize(dev)
    t1 = time.perf_counter()
    stats = model.train(data, quiet=True)
    synchronize(dev)
    t2 = time.perf_counter()
    return model.keyed_vectors(), {"words_per_second": stats["words_per_second"], "train_s": t2 - t1,
                                   "wall_s": t2 - t0}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS)
    parser.add_argument("--configs", default="sg-ns,sg-hs,cbow-ns")
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--seeds", default="1", help="comma-separated seeds; quality and speed are averaged")
    parser.add_argument("--max-words", type=int, default=0, help="Use only the first N tokens (0: all).")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--batch-size", type=int, default=0, help="seqlab centre words per step (0: default).")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1,
                        help="gensim worker threads, and seqlab's threads (torch and its C kernels).")
    parser.add_argument("--simlex", type=Path, default=SHARED / "wordsim" / "EN-SIMLEX-999.txt")
    args = parser.parse_args()
    import torch

    torch.set_num_threads(args.workers)
    simlex = args.simlex if args.simlex.exists() else gensim_test_data("simlex999.txt")

    with tempfile.TemporaryDirectory() as tmp:
        corpus = args.corpus
        sentences = list(iter_sentences(corpus, max_sentence_length=10_000))
        if args.max_words:
            kept, n = [], 0
            for s in sentences:
                kept.append(s[: args.max_words - n])
                n += len(kept[-1])
                if n >= args.max_words:
                    break
            sentences = kept
            corpus = Path(tmp) / "corpus.txt"
            corpus.write_text("\n".join(" ".join(s) for s in sentences) + "\n")
        n_words = sum(len(s) for s in sentences)
        print(f"corpus {args.corpus} ({n_words:,} words), {args.epochs} epochs, gensim workers {args.workers}, "
              f"seqlab device {resolve_device(args.device)}")
        header = f"{'config':14} {'impl':9} {'words/s':>10} {'train s':>8} {'wall s':>8} {'analogy':>8} " \
                 f"{'ws353':>7} {'simlex':>7}"
        rows = []
        means: dict[str, dict[str, float]] = {}
        gensim_runs: dict[tuple[str, int], dict[str, float]] = {}
        seeds = [int(x) for x in args.seeds.split(",")]
        for name in args.configs.split(","):
            model, loss, *kernel = name.split("-")
            runs: dict[str, list[dict[str, float]]] = {"gensim": [], "seqlab": []}
            for seed in seeds:
                cfg = Word2VecConfig(model=model, loss=loss, epochs=args.epochs, batch_size=args.batch_size,
                                     seed=seed, cpu_kernel=kernel[0] if kernel else "auto")
                for impl in ("gensim", "seqlab"):
                    if impl == "gensim" and (f"{model}-{loss}", seed) in gensim_runs:
                        runs[impl].append(gensim_runs[(f"{model}-{loss}", seed)])
                        continue
                    if impl == "gensim":
                        kv, timing = run_gensim(sentences, cfg, args.workers)
                    else:
                        kv, timing = run_seqlab(corpus, cfg, args.device)
                    r = {**timing, **evaluate(kv, simlex)}
                    runs[impl].append(r)
                    if impl == "gensim":
                        gensim_runs[(f"{model}-{loss}", seed)] = r
                    label = f"{impl} s{seed}" if len(seeds) > 1 else impl
                    rows.append(f"{name:14} {label:9} {r['words_per_second']:10,.0f} {r['train_s']:8.1f} "
                                f"{r['wall_s']:8.1f} {r['analogy']:8.2%} {r['ws353']:7.3f} {r['simlex']:7.3f}")
                    print(rows[-1], flush=True)
            g, s = ({k: sum(r[k] for r in runs[impl]) / len(runs[impl]) for k in runs[impl][0]}
                    for impl in ("gensim", "seqlab"))
            means[name] = s
            if len(seeds) > 1:
                for impl, r in (("gensim", g), ("seqlab", s)):
                    rows.append(f"{name:14} {impl + ' mean':9} {r['words_per_second']:10,.0f} {r['train_s']:8.1f} "
                                f"{r['wall_s']:8.1f} {r['analogy']:8.2%} {r['ws353']:7.3f} {r['simlex']:7.3f}")
                    print(rows[-1], flush=True)
            rows.append(f"{name:14} {'ratio':9} {s['words_per_second'] / g['words_per_second']:10.2f}x "
                        f"{'':17} {100 * (s['analogy'] - g['analogy']):+7.2f}pt "
                        f"{s['ws353'] - g['ws353']:+7.3f} {s['simlex'] - g['simlex']:+7.3f}")
            print(rows[-1], flush=True)
            exact = means.get(f"{model}-{loss}-native")
            if kernel != ["native"] and exact is not None:
                rows.append(f"{name:14} {'vs exact':9} {s['words_per_second'] / exact['words_per_second']:10.2f}x "
                            f"{'':17} {100 * (s['analogy'] - exact['analogy']):+7.2f}pt "
                            f"{s['ws353'] - exact['ws353']:+7.3f} {s['simlex'] - exact['simlex']:+7.3f}")
                print(rows[-1], flush=True)
        print()
        print(header)
        print("\n".join(rows))
        print("ratio row: seqlab/gensim words/s, and seqlab - gensim for analogy (points) and Spearman; "
              "vs exact: the same against seqlab's exact loop (MODEL-LOSS-native).")


if __name__ == "__main__":
    main()
