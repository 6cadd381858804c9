"""word2vec end to end, as a user times it: process start to vectors written, seqlab against gensim.

    python benchmarks/word2vec_end_to_end.py                          # 3M-token slice and the full corpus
    python benchmarks/word2vec_end_to_end.py --max-words 3000000 --configs sg-ns

For each configuration, in the same run: ``seqlab embed train CORPUS -o OUT.bin`` (the command a user
types, with word2vec.c's settings: dim 100, window 5, negative 5, sample 1e-3, min-count 5, EPOCHS
epochs) and a Python process that builds gensim's ``Word2Vec(corpus_file=CORPUS, ...)`` with the same
settings and all cores, then saves ``wv.save_word2vec_format(OUT.bin, binary=True)``. Both are timed
from process start to exit (interpreter start, imports, vocabulary, encoding, training, saving). The
corpus is a text8-style prefix of ``../shared/data/corpus/wiki2015-text8style.xz`` written to a
temporary file (gensim's corpus_file mode needs a plain file); ``--max-words 0`` is the whole corpus.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from seqlab.text.corpus import iter_sentences

REPO = Path(__file__).resolve().parents[1]
DEFAULT_CORPUS = REPO.parent / "shared" / "data" / "corpus" / "wiki2015-text8style.xz"

GENSIM = """
import sys
from gensim.models import Word2Vec
corpus, out = sys.argv[1], sys.argv[2]
sg, hs, epochs, workers = (int(x) for x in sys.argv[3:7])
model = Word2Vec(corpus_file=corpus, vector_size=100, window=5, min_count=5, sample=1e-3, sg=sg, hs=hs,
                 negative=0 if hs else 5, alpha=0.025, min_alpha=0.0001, epochs=epochs, workers=workers, seed=1)
model.wv.save_word2vec_format(out, binary=True)
"""


def plain_corpus(corpus: Path, max_words: int, folder: Path) -> tuple[Path, int]:
    """The first ``max_words`` tokens (0: all) as one text8-style line."""
    out = folder / f"corpus{max_words or 'all'}.txt"
    taken = 0
    with open(out, "w", encoding="utf-8") as fh:
        for sentence in iter_sentences(corpus, max_sentence_length=1_000_000):
            part = sentence[: max_words - taken] if max_words else sentence
            fh.write(" ".join(part) + " ")
            taken += len(part)
            if max_words and taken >= max_words:
                break
        fh.write("\n")
    return out, taken


def timed(command: list[str]) -> float:
    start = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True)
    seconds = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed:\n{done.stderr[-3000:]}")
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS)
    parser.add_argument("--max-words", default="3000000,0", help="comma-separated corpus sizes (0: all)")
    parser.add_argument("--configs", default="sg-ns,sg-hs,cbow-ns")
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--threads", type=int, default=os.cpu_count() or 1, help="seqlab threads = gensim workers")
    parser.add_argument("--kernel", default="auto", help="seqlab --cpu-kernel (auto: HogBatch for sg-ns, "
                        "word2vec.c's loop otherwise; native: the loop for all)")
    args = parser.parse_args()
    seqlab = shutil.which("seqlab")
    base = [seqlab] if seqlab else [sys.executable, "-m", "seqlab.cli.main"]
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        for size in (int(x) for x in args.max_words.split(",")):
            corpus, words = plain_corpus(args.corpus, size, folder)
            for name in args.configs.split(","):
                model, loss = name.split("-")
                kernel = args.kernel if (args.kernel != "batched" or name == "sg-ns") else "auto"
                ours = timed([*base, "embed", "train", str(corpus), "-o", str(folder / "seqlab.bin"), "--model", model,
                              "--loss", loss, "--epochs", str(args.epochs), "--threads", str(args.threads),
                              "--cpu-kernel", kernel, "--quiet", "--device", "cpu"])
                theirs = timed([sys.executable, "-c", GENSIM, str(corpus), str(folder / "gensim.bin"),
                                str(int(model == "sg")), str(int(loss == "hs")), str(args.epochs), str(args.threads)])
                rows.append(f"{words:>11,} {name:8} {kernel:8} {ours:9.1f} {theirs:9.1f} {theirs / ours:7.2f}x")
                print(rows[-1], flush=True)
    print(f"\n{'tokens':>11} {'config':8} {'kernel':8} {'seqlab s':>9} {'gensim s':>9} {'speed':>8}")
    print("\n".join(rows))
    print(f"wall seconds from process start to vectors written; {args.epochs} epochs, {args.threads} threads/workers; "
          "speed = gensim s / seqlab s")


if __name__ == "__main__":
    main()
