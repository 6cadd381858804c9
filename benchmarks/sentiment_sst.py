"""SST sentence-level sentiment: NBoW with pretrained vectors and a BiLSTM, test accuracy over seeds.

    python benchmarks/sentiment_sst.py --device cuda                                  # everything, 3 seeds
    python benchmarks/sentiment_sst.py --device cpu --tasks sst2 --models nbow --seeds 1 --results r.jsonl
    python benchmarks/sentiment_sst.py --summary r.jsonl                              # the table of all pieces
    python benchmarks/sentiment_sst.py --vectors imdb         # in-domain IMDB vectors, built once if absent

Each run trains with ``configs/<task>_<model>.toml`` (sentence-level training only: no phrase
labels), keeps the model with the best dev accuracy and scores it on the test set. The anchor is
the issue's targets (issue 9), in the range the literature reports for these models trained on
sentences only: SST-5 NBoW >= 42%, BiLSTM >= 47%; SST-2 NBoW >= 80%, BiLSTM >= 85%. Runs can be
done in pieces (``--tasks``, ``--models``, ``--seeds``), each appended to ``--results`` as one JSON
line; ``--summary`` prints the mean, standard deviation and range per task and model.

``--vectors imdb`` uses word2vec vectors trained by seqlab on the IMDB reviews of
``../shared/data/sentiment-extra/imdb`` (labels unused; ``configs/imdb_vectors.toml``), built by
:mod:`seqlab.sentiment.pretrain` into ``~/.cache/seqlab/sentiment/imdb_vectors-<hash of the config>``
on first use (about 11 minutes; on one thread, so that every build gives the same vectors and so the
same figures). ``emb_dim`` follows the vectors' size.
"""

from __future__ import annotations

import argparse
import dataclasses
import hashlib
import json
import statistics
import tempfile
import time
from pathlib import Path

import torch

from seqlab.config import build_config
from seqlab.device import resolve_device
from seqlab.embeddings.keyed_vectors import KeyedVectors
from seqlab.native import cache_dir
from seqlab.sentiment.config import SentimentConfig
from seqlab.sentiment.lm import ENCODER_FILE, LMConfig, pretrain_encoder
from seqlab.sentiment.pretrain import VECTORS_CONFIG, imdb_corpus, imdb_vectors
from seqlab.sentiment.train import train_sentiment

REPO = Path(__file__).resolve().parents[1]
IMDB = REPO.parent / "shared" / "data" / "sentiment-extra" / "imdb"


def imdb_cache(device: torch.device, encoder: bool = False) -> tuple[str, str | None]:
    """The IMDB vectors in the cache and, with ``encoder``, the encoder pretrained as a biLM over
    them; whatever is missing is built first, from one tokenised copy of the reviews."""
    root = cache_dir().parent / "sentiment"
    # named after the settings, so that a change to configs/imdb_vectors.toml builds new vectors
    # instead of reusing the old ones
    tag = hashlib.sha256(VECTORS_CONFIG.read_bytes()).hexdigest()[:10]
    vectors, encoder_dir = root / f"imdb_vectors-{tag}", root / f"imdb_encoder-{tag}"
    build_vectors = not vectors.exists()
    build_encoder = encoder and (build_vectors or not (encoder_dir / ENCODER_FILE).exists())
    if build_vectors or build_encoder:
        root.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory() as tmp:
            corpus = Path(tmp) / "imdb.txt"
            print(f"building into {root}: IMDB corpus of {imdb_corpus(IMDB, corpus):,} tokens", flush=True)
            if build_vectors:
                imdb_vectors(corpus, vectors, device=str(device))
            if build_encoder:
                pretrain_encoder(corpus, str(vectors), encoder_dir, LMConfig(), device)
    return str(vectors), (str(encoder_dir) if encoder else None)


TARGETS = {("sst5", "nbow"): 0.42, ("sst5", "bilstm"): 0.47, ("sst2", "nbow"): 0.80, ("sst2", "bilstm"): 0.85}


def run_one(task: str, model: str, seed: int, device: torch.device, epochs: int | None, vectors: str | None,
            emb_dim: int | None = None, encoder: str | None = None, extend_vocab: bool | None = None) -> dict:
    rnn = {"encoder": encoder, "hidden_size": LMConfig.hidden_size} if encoder and model == "bilstm" else {}
    cfg = build_config(SentimentConfig, REPO / "configs" / f"{task}_{model}.toml", "sentiment", seed=seed,
                       epochs=epochs, vectors=vectors, emb_dim=emb_dim, extend_vocab=extend_vocab, **rnn)
    data = REPO.parent / "shared" / "data" / "sst"
    cfg = dataclasses.replace(cfg, **{k: str(data / Path(getattr(cfg, k)).name) for k in ("train", "dev", "test")})
    start = time.perf_counter()
    with tempfile.TemporaryDirectory() as out:
        summary = train_sentiment(cfg, out, device, quiet=True)
    return {"task": task, "model": model, "seed": seed, "test_accuracy": summary["test_accuracy"],
            "test_macro_f1": summary["test_macro_f1"], "dev_accuracy": summary["best_dev_accuracy"],
            "epochs": summary["epochs"], "seconds": round(time.perf_counter() - start, 1), "device": str(device),
            "vectors": cfg.vectors, "encoder": cfg.encoder, "extend_vocab": cfg.extend_vocab}


def table(rows: list[dict]) -> str:
    lines = [f"{'task':6} {'model':7} {'seeds':>5} {'test acc mean':>13} {'std':>6} {'min':>6} {'max':>6} "
             f"{'target':>6}  met"]
    for (task, model), target in TARGETS.items():
        acc = [100 * r["test_accuracy"] for r in rows if r["task"] == task and r["model"] == model]
        if not acc:
            continue
        mean = statistics.mean(acc)
        std = statistics.stdev(acc) if len(acc) > 1 else 0.0
        lines.append(f"{task:6} {model:7} {len(acc):5d} {mean:13.2f} {std:6.2f} {min(acc):6.2f} {max(acc):6.2f} "
                     f"{100 * target:6.1f}  {'yes' if mean >= 100 * target else 'NO'}")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", default="sst5,sst2")
    parser.add_argument("--models", default="nbow,bilstm")
    parser.add_argument("--seeds", default="1,2,3")
    parser.add_argument("--epochs", type=int, help="Override the configs' maximum epochs.")
    parser.add_argument("--vectors", default="imdb" if IMDB.is_dir() else None,
                        help="Override the configs' vectors ('default', a file, '' for none, 'imdb' for in-domain "
                             "vectors built once; the default when ../shared/data has IMDB).")
    parser.add_argument("--encoder", choices=["imdb", "none"], default="none",
                        help="'imdb' (with --vectors imdb): start the BiLSTMs from an encoder pretrained as a "
                             "biLM on the IMDB text over the IMDB vectors (seqlab.sentiment.lm), built once into "
                             "the cache.")
    parser.add_argument("--extend-vocab", choices=["config", "yes", "no"], default="config",
                        help="Give every word of the vectors a row ('config': as the configs say).")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--threads", type=int, default=0, help="torch CPU threads (0: torch's default).")
    parser.add_argument("--results", help="Append each run as a JSON line to this file.")
    parser.add_argument("--summary", help="Only print the table of the runs in this JSON-lines file.")
    args = parser.parse_args()
    if args.summary:
        print(table([json.loads(line) for line in Path(args.summary).read_text().splitlines() if line.strip()]))
        return
    if args.threads:
        torch.set_num_threads(args.threads)
    device = resolve_device(args.device)
    vectors, emb_dim, encoder = args.vectors, None, None
    if args.encoder == "imdb" and vectors != "imdb":
        raise SystemExit("--encoder imdb is pretrained over the IMDB vectors: use it with --vectors imdb")
    if vectors == "imdb":
        vectors, encoder = imdb_cache(device, encoder=args.encoder == "imdb")
    if vectors and vectors != "default":
        emb_dim = KeyedVectors.load(vectors).vector_size
    extend = {"config": None, "yes": True, "no": False}[args.extend_vocab]
    rows = []
    for task in args.tasks.split(","):
        for model in args.models.split(","):
            for seed in (int(s) for s in args.seeds.split(",")):
                row = run_one(task, model, seed, device, args.epochs, vectors, emb_dim, encoder, extend)
                rows.append(row)
                print(json.dumps(row), flush=True)
                if args.results:
                    with open(args.results, "a", encoding="utf-8") as fh:
                        fh.write(json.dumps(row) + "\n")
    print(table(rows))


if __name__ == "__main__":
    main()
