"""seqlab fastText against gensim's FastText (the anchor), same settings, same run: on gensim's Lee corpus,
or with ``--corpus`` on the shared corpus for quality (analogies, rare words) and words/s.

    python benchmarks/fasttext_vs_gensim.py                      # Lee: fasttext-sg and fasttext-cbow, 1 thread
    python benchmarks/fasttext_vs_gensim.py --workers 2 --bucket 2000000 --cpu-kernel torch
    python benchmarks/fasttext_vs_gensim.py --corpus ../shared/data/corpus/wiki2015-text8style.xz

**Shared corpus** (``--corpus``, its first ``--max-words`` tokens, default 5M; ``--epochs`` default 3 there):
gensim's FastText, seqlab's fastText and seqlab's word2vec (the same model, sg or cbow, with negative
sampling: what subwords are compared against) with gensim's defaults (dim 100, window 5, negative 5,
sample 1e-3, min-count 5, n-grams 3-6 in 2,000,000 buckets). Printed for each: raw words/s of training,
wall seconds (vocabulary + training), analogy accuracy (gensim's questions-words.txt, restrict_vocab 30,000,
each model's vocabulary vectors through the same evaluation code) and Spearman on the **rare-word split**
of SimLex-999 + SimVerb-3500: the pairs with a word seen fewer than ``--rare`` (20) times in the training
tokens, unseen words included. fastText scores every pair from n-grams; word2vec has no vector for a word
under min-count, so its pairs score 0 (gensim's ``dummy4unknown``); Spearman on the rare pairs whose both
words word2vec knows is printed too ("rare in-vocab"). The last rows: seqlab / gensim words/s and seqlab -
gensim analogy points, and seqlab fastText - seqlab word2vec on the rare split.

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
import dataclasses
import time
from collections import Counter
from pathlib import Path

import numpy as np
import torch
from gensim.models import FastText
from gensim.utils import simple_preprocess
from scipy.stats import spearmanr

from seqlab.embeddings.evaluate import evaluate_analogies, gensim_test_data
from seqlab.embeddings.keyed_vectors import KeyedVectors
from seqlab.embeddings.word2vec import Word2VecConfig, train_word2vec
from seqlab.text.corpus import iter_sentences

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"
PAIR_FILES = (SHARED / "wordsim" / "EN-SIMLEX-999.txt", SHARED / "wordsim" / "EN-SimVerb-3500.txt")

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


def rare_pairs(counts: Counter, rare: int) -> list[tuple[str, str, float]]:
    """The SimLex-999 and SimVerb-3500 pairs (lowercased) with a word seen fewer than ``rare`` times."""
    pairs = []
    for path in PAIR_FILES:
        for line in path.read_text(encoding="utf-8").splitlines():
            a, b, score = line.split("\t")[:3]
            a, b = a.lower(), b.lower()
            if min(counts[a], counts[b]) < rare:
                pairs.append((a, b, float(score)))
    return pairs


def rare_spearman(similarity, known, in_vocab, pairs: list[tuple[str, str, float]]) -> tuple[float, float]:
    """Spearman over all ``pairs`` (0 for a pair with a word ``known`` refuses) and over the pairs whose
    both words are ``in_vocab`` (seen at least min-count times: word2vec's vocabulary)."""
    sims = [similarity(a, b) if known(a) and known(b) else 0.0 for a, b, _ in pairs]
    gold = [g for _, _, g in pairs]
    inside = [i for i, (a, b, _) in enumerate(pairs) if in_vocab(a) and in_vocab(b)]
    return (float(spearmanr(sims, gold).statistic),
            float(spearmanr([sims[i] for i in inside], [gold[i] for i in inside]).statistic))


def corpus_run(args: argparse.Namespace) -> None:
    """The shared-corpus comparison (see the module docstring)."""
    sentences, n = [], 0
    for sentence in iter_sentences(args.corpus, max_sentence_length=10_000):
        sentences.append(sentence[: args.max_words - n])
        n += len(sentences[-1])
        if n >= args.max_words:
            break
    counts = Counter(w for s in sentences for w in s)
    pairs = rare_pairs(counts, args.rare)
    epochs = args.epochs or 3
    settings = dict(window=5, negative=5, sample=1e-3, min_count=5, epochs=epochs, min_n=3, max_n=6,
                    bucket=args.bucket)
    unseen = sum(min(counts[a], counts[b]) < 5 for a, b, _ in pairs)
    inside = len(pairs) - unseen
    in_vocab = lambda w: counts[w] >= 5  # noqa: E731  (min_count: word2vec's vocabulary)
    print(f"{args.corpus} (first {n:,} tokens), {epochs} epochs, bucket {args.bucket:,}, {args.workers} thread(s); "
          f"rare split: {len(pairs)} SimLex/SimVerb pairs with a word seen < {args.rare} times ({unseen} with one "
          f"under min-count 5)")
    header = (f"{'model':<14} {'impl':<15} {'words/s':>9} {'wall s':>7} {'analogy':>8} {'rare':>6} "
              f"{'rare in-vocab':>13} {'in-vocab pairs':>14}")
    print(header, flush=True)
    analogies = gensim_test_data("questions-words.txt")
    for model, sg in [(m, int(m.endswith("sg"))) for m in args.models.split(",")]:
        rows = {}
        cfg = Word2VecConfig(model=model, dim=100, seed=1, cpu_kernel=args.cpu_kernel, **settings)
        w2v_cfg = dataclasses.replace(cfg, model="sg" if sg else "cbow", min_n=3, max_n=6)
        for impl in ("gensim fastText", "seqlab fastText", "seqlab word2vec"):
            start = time.perf_counter()
            if impl.startswith("gensim"):
                ft = FastText(vector_size=100, sg=sg, workers=args.workers, seed=1, **settings)
                ft.build_vocab(sentences)
                trained = time.perf_counter()
                ft.train(sentences, total_examples=ft.corpus_count, epochs=epochs)
                wall = time.perf_counter() - start
                rate = ft.corpus_total_words * epochs / (time.perf_counter() - trained)
                wv = ft.wv
                kv = KeyedVectors(list(wv.index_to_key), wv.vectors, None)
                similarity, known = (lambda a, b, wv=wv: float(wv.similarity(a, b))), (lambda w: True)
            else:
                kv, stats = train_word2vec(sentences, cfg if "fastText" in impl else w2v_cfg, "cpu", quiet=True)
                wall, rate = time.perf_counter() - start, stats["words_per_second"]
                similarity = lambda a, b, kv=kv: float(kv.similarity(a, b))  # noqa: E731
                known = (lambda w: True) if "fastText" in impl else (lambda w, kv=kv: w in kv.key_to_index)
            analogy = evaluate_analogies(kv, analogies, restrict_vocab=30000).accuracy
            rare_all, rare_inside = rare_spearman(similarity, known, in_vocab, pairs)
            rows[impl] = {"rate": rate, "analogy": analogy, "rare": rare_all, "inside": rare_inside}
            print(f"{model:<14} {impl:<15} {rate:>9,.0f} {wall:>7.1f} {analogy:>8.2%} {rare_all:>6.3f} "
                  f"{rare_inside:>13.3f} {inside:>14}", flush=True)
        ours, theirs, w2v = rows["seqlab fastText"], rows["gensim fastText"], rows["seqlab word2vec"]
        print(f"{model:<14} {'seqlab/gensim':<15} {ours['rate'] / theirs['rate']:>8.2f}x {'':>7} "
              f"{100 * (ours['analogy'] - theirs['analogy']):>+7.2f}pt {ours['rare'] - theirs['rare']:>+6.3f} "
              f"{ours['inside'] - theirs['inside']:>+13.3f}")
        print(f"{model:<14} {'fastText-w2v':<15} {'':>9} {'':>7} {100 * (ours['analogy'] - w2v['analogy']):>+7.2f}pt "
              f"{ours['rare'] - w2v['rare']:>+6.3f} {ours['inside'] - w2v['inside']:>+13.3f}", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--bucket", type=int, default=None, help="default: 200,000 on Lee, 2,000,000 with --corpus")
    parser.add_argument("--epochs", type=int, default=None, help="default: 10 on Lee, 3 with --corpus")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--cpu-kernel", default="auto")
    parser.add_argument("--corpus", type=Path, help="the shared-corpus comparison on this corpus file")
    parser.add_argument("--max-words", type=int, default=5_000_000, help="with --corpus: its first N tokens")
    parser.add_argument("--rare", type=int, default=20, help="with --corpus: a rare word is seen fewer times")
    parser.add_argument("--models", default="fasttext-sg,fasttext-cbow")
    args = parser.parse_args()
    torch.set_num_threads(args.workers)
    if args.corpus is not None:
        args.bucket = args.bucket or 2_000_000
        corpus_run(args)
        return
    args.bucket, args.epochs = args.bucket or 200_000, args.epochs or 10
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
