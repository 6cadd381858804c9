"""seqlab fastText against gensim's FastText (the anchor) on gensim's Lee corpus, same settings, same run.

    python benchmarks/fasttext_vs_gensim.py                      # fasttext-sg and fasttext-cbow, 1 thread
    python benchmarks/fasttext_vs_gensim.py --workers 2 --bucket 2000000 --cpu-kernel torch

Both train on the same token lists (gensim's ``simple_preprocess`` of each line) with gensim's settings:
dim 100, window 5, negative 5, sample 1e-3, min-count 2, n-grams 3-6 in ``--bucket`` buckets, 10 epochs,
``--workers`` threads (seqlab's C kernel: torch's thread count). Each is run once to warm up, then timed
``--repeats`` times (best kept: vocabulary and training). Printed: seconds, the co-occurrence score of the
vectors (mean cosine of words within 2 of each other minus that of random pairs, after centring; random
vectors: 0) and how many of the 10 nearest neighbours of three misspellings (words outside the vocabulary,
their n-gram vectors) the two share; the last row is the ratio gensim / seqlab of the seconds.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch
from gensim.models import FastText
from gensim.utils import simple_preprocess

from seqlab.embeddings.evaluate import gensim_test_data
from seqlab.embeddings.word2vec import Word2VecConfig, train_word2vec

MISSPELT = ("goverment", "australias", "presidnet")


def cooccurrence(words: list[str], vectors: np.ndarray, sentences: list[list[str]], window: int = 2,
                 n: int = 4000) -> float:
    """Mean cosine of words within ``window`` of each other minus that of random pairs (centred vectors)."""
    index = {w: i for i, w in enumerate(words)}
    ids = np.array([index[w] for s in sentences for w in s if w in index])
    rng = np.random.default_rng(0)
    centred = vectors - vectors.mean(0)
    unit = centred / np.linalg.norm(centred, axis=1, keepdims=True)
    pos = rng.integers(0, len(ids) - window, n)
    a, b = ids[pos], ids[pos + rng.integers(1, window + 1, n)]
    ra, rb = rng.integers(0, len(words), n), rng.integers(0, len(words), n)
    return float((unit[a] * unit[b]).sum(1).mean() - (unit[ra] * unit[rb]).sum(1).mean())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--bucket", type=int, default=200_000)
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--cpu-kernel", default="auto")
    args = parser.parse_args()
    torch.set_num_threads(args.workers)
    sentences = [simple_preprocess(line) for line in open(gensim_test_data("lee_background.cor"), encoding="utf-8")]
    settings = dict(window=5, negative=5, sample=1e-3, min_count=2, epochs=args.epochs, min_n=3, max_n=6,
                    bucket=args.bucket)
    print(f"Lee corpus ({sum(map(len, sentences)):,} tokens), {args.epochs} epochs, bucket {args.bucket:,}, "
          f"{args.workers} thread(s), seqlab cpu_kernel {args.cpu_kernel}")
    print(f"{'model':<14} {'seqlab s':>9} {'gensim s':>9} {'ratio':>6} {'cooc seqlab':>12} {'cooc gensim':>12} "
          f"{'shared neighbours':>18}")
    for model, sg in (("fasttext-sg", 1), ("fasttext-cbow", 0)):
        cfg = Word2VecConfig(model=model, dim=100, seed=1, cpu_kernel=args.cpu_kernel, **settings)
        ours_s, theirs_s = [], []
        for _ in range(args.repeats + 1):  # the first of each is the warm-up
            start = time.perf_counter()
            kv, _ = train_word2vec(sentences, cfg, "cpu", quiet=True)
            ours_s.append(time.perf_counter() - start)
            start = time.perf_counter()
            theirs = FastText(sentences, sg=sg, vector_size=100, workers=args.workers, seed=1, **settings).wv
            theirs_s.append(time.perf_counter() - start)
        ours, their = min(ours_s[1:]), min(theirs_s[1:])
        shared = [len({w for w, _ in kv.most_similar(m, topn=10)} & {w for w, _ in theirs.most_similar(m, topn=10)})
                  for m in MISSPELT]
        print(f"{model:<14} {ours:>9.2f} {their:>9.2f} {their / ours:>6.2f} "
              f"{cooccurrence(kv.words, kv.vectors.numpy(), sentences):>12.3f} "
              f"{cooccurrence(kv.words, theirs[kv.words], sentences):>12.3f} {'/'.join(map(str, shared)):>18}")


if __name__ == "__main__":
    main()
