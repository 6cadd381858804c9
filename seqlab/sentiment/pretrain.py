"""In-domain pretraining text for the sentiment models: IMDB reviews as a word2vec corpus.

SST sentences are movie-review snippets, lowercased and PTB-tokenised. The Large Movie Review
Dataset (Maas et al. 2011; ``../shared/data/sentiment-extra/imdb``: 100k reviews, 26.5M tokens) is
the same domain, so vectors trained on its text (labels unused) cover SST far better than
Wikipedia vectors. This module writes the reviews one a line, tokenised like SST, and with
``--vectors`` trains seqlab's word2vec on them (``configs/imdb_vectors.toml``: CBOW, 300
dimensions; about 11 minutes on one CPU thread, which makes every build the same):

    python -m seqlab.sentiment.pretrain ../shared/data/sentiment-extra/imdb -o imdb.txt --vectors imdb_vectors
    seqlab sentiment train --config configs/sst5_bilstm.toml --vectors imdb_vectors --set emb_dim=300 -o runs/x
    python benchmarks/sentiment_sst.py --vectors imdb      # builds them once, in the cache, if absent
"""

from __future__ import annotations

import argparse
import os
import re
from pathlib import Path

import torch

from seqlab.config import build_config
from seqlab.embeddings.word2vec_io import config_file
from seqlab.errors import ConfigError, DataError, SeqlabError
from seqlab.io import atomic_open, open_text
from seqlab.sentiment.lm import LMConfig, pretrain_encoder

VECTORS_CONFIG = config_file("imdb_vectors.toml")

SPLITS = ("unsup", "train", "test")
_WORD = r"[^\W_]+(?:(?:[-'.]|\\/)[^\W_]+)*"  # letters/digits (any script), joined by - ' . or SST's \/
_TOKEN = re.compile(r"n't|'[^\W_]+|(?:[a-z]\.){2,}|(?:mr|mrs|ms|dr|jr|sr|st|vs|vol)\.(?!\w)|no\.(?=\s*\d)|" + _WORD
                    + r"|-lrb-|-rrb-|\.\.\.|--|``|''|\\\*|[^\s\w]")


def sst_tokenize(text: str) -> list[str]:
    r"""Lowercase, PTB-style tokens as in SST: ``won't (really)`` -> wo n't -lrb- really -rrb-.

    Also as SST writes them: ``"a" b`` -> `` a '' b (opening and closing quotes alternate), ``...``,
    ``--``, ``mr.``, ``e.t.``, ``'70s``, accented words whole (``clichés``), and ``/`` and ``*``
    escaped as ``\/`` and ``\*`` (``writer\/director`` is one token).
    """
    text = text.lower().replace("<br />", " ").replace("(", " -lrb- ").replace(")", " -rrb- ")
    text = text.replace("/", "\\/").replace("*", " \\* ")
    text = re.sub(r"([^\W_])n't\b", r"\1 n't", text)
    text = re.sub(r"([^\W_])'(s|re|ve|ll|d|m)\b", r"\1 '\2", text)
    tokens = _TOKEN.findall(text)
    opening = True
    for i, token in enumerate(tokens):
        if token == '"':
            tokens[i] = "``" if opening else "''"
            opening = not opening
    return tokens


def imdb_corpus(imdb_dir: str | os.PathLike, output: str | os.PathLike) -> int:
    """Write every review of ``imdb_<split>.tsv.xz`` (id, rating, label, text) tokenised, one a line.

    Returns the number of tokens written.
    """
    tokens = 0
    files = [Path(imdb_dir) / f"imdb_{split}.tsv.xz" for split in SPLITS]
    files = [f for f in files if f.exists()]
    if not files:
        raise DataError(f"{imdb_dir}: no imdb_{{unsup,train,test}}.tsv.xz files")
    with atomic_open(output) as out:
        for path in files:
            with open_text(path) as fh:
                next(fh, None)  # header
                for number, line in enumerate(fh, 2):
                    fields = line.rstrip("\n").split("\t", 3)
                    if len(fields) != 4:
                        raise DataError(f"{path}: line {number} has {len(fields)} tab-separated fields, expected 4")
                    words = sst_tokenize(fields[3])
                    tokens += len(words)
                    out.write(" ".join(words) + "\n")
    return tokens


def imdb_vectors(corpus: str | os.PathLike, output: str | os.PathLike, config: str | os.PathLike | None = None,
                 device: str = "auto", quiet: bool = False, threads: int = 1) -> Path:
    """Train word2vec (settings of ``config``, default ``configs/imdb_vectors.toml``) on the corpus
    written by :func:`imdb_corpus` and save the vectors at ``output`` (format from the extension).

    On the CPU, with ``threads = 1`` (the default), the vectors are the same at every build: the C
    kernel's Hogwild updates from several threads interleave differently on each run, and the SST
    figures moved by about a point with the vectors. ``threads = 0`` uses torch's thread count
    (about twice as fast on two cores, but a different build each time)."""
    from seqlab.embeddings.word2vec import Word2VecConfig, train_word2vec

    if threads < 0:
        raise ConfigError(f"threads must be 1 or more, or 0 for torch's count; got {threads}")
    cfg = build_config(Word2VecConfig, config or VECTORS_CONFIG, section="word2vec")
    before = torch.get_num_threads()
    if threads:
        torch.set_num_threads(threads)
    try:
        kv, _ = train_word2vec(corpus, cfg, device, checkpoint_path=str(output) + ".ckpt", resume=True,
                               quiet=quiet)
    finally:
        torch.set_num_threads(before)
    path = kv.save(output)
    Path(str(output) + ".ckpt").unlink(missing_ok=True)
    return Path(path)


def main() -> None:
    parser = argparse.ArgumentParser(description="Write IMDB reviews as a tokenised word2vec corpus "
                                                 "and optionally train vectors on it.")
    parser.add_argument("imdb_dir", help="folder with imdb_{unsup,train,test}.tsv.xz")
    parser.add_argument("-o", "--output", required=True, help="the corpus file to write")
    parser.add_argument("--vectors", help="also train vectors and save them here")
    parser.add_argument("--config", help=f"word2vec settings (default {VECTORS_CONFIG.name})")
    parser.add_argument("--encoder", help="also pretrain a BiLSTM encoder on the text as a bidirectional language "
                                          "model over the vectors (seqlab.sentiment.lm) and save it here")
    parser.add_argument("--tokens", type=int, default=LMConfig.tokens, help="words the encoder is trained on")
    parser.add_argument("--hidden-size", type=int, default=LMConfig.hidden_size)
    parser.add_argument("--device", default="auto")
    parser.add_argument("--threads", type=int, default=1,
                        help="CPU threads for the vectors (1: the same vectors at every build; 0: torch's count, "
                             "faster but different each time)")
    args = parser.parse_args()
    try:
        if Path(args.output).exists() and (args.vectors or args.encoder):
            print(f"reusing the corpus {args.output}")
        else:
            print(f"{imdb_corpus(args.imdb_dir, args.output):,} tokens written to {args.output}")
        if args.vectors and not Path(args.vectors).exists():
            path = imdb_vectors(args.output, args.vectors, args.config, args.device, threads=args.threads)
            print(f"vectors written to {path}")
        if args.encoder:
            if not args.vectors:
                raise ConfigError("--encoder needs --vectors (the encoder's fixed input embeddings)")
            cfg = LMConfig(tokens=args.tokens, hidden_size=args.hidden_size)
            summary = pretrain_encoder(args.output, args.vectors, args.encoder, cfg, args.device, log=print)
            print(f"encoder written to {args.encoder}: {summary['tokens']:,} tokens, "
                  f"perplexity {summary['perplexity']:.1f}")
    except SeqlabError as exc:
        raise SystemExit(f"error: {exc}") from None


if __name__ == "__main__":
    main()
