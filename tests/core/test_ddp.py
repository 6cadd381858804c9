"""Data parallelism under torchrun (seqlab.distributed): two gloo processes with batches of B train exactly as
one process with batches of 2B (sentiment with class weights and a weight average, vision with image shifts,
a GAN with two optimisers, an autoencoder), only rank 0 writes and prints, and the pipelines that train in one
process refuse a multi-process launch with a one-line error."""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import torch
import torch.distributed as dist
from click.testing import CliRunner
from launch import join_environment, spawn

from seqlab.cli.main import main
from seqlab.distributed import DataParallel
from seqlab.errors import ConfigError
from seqlab.generative.config import GenerativeConfig
from seqlab.generative.train import load_data, train_generative
from seqlab.io import load_checkpoint
from seqlab.sentiment.config import SentimentConfig
from seqlab.sentiment.data import Examples
from seqlab.sentiment.train import Splits, train_sentiment
from seqlab.vision.train import VisionConfig, train_vision

pytestmark = pytest.mark.usefixtures("one_thread")
CPU = torch.device("cpu")
B = 16  # each process's batch; the one-process run takes 2B

SENTIMENT = SentimentConfig(num_classes=2, vectors="", emb_dim=8, hidden_size=8, dropout=0.0, epochs=2, batch_size=B,
                            lr=3e-3, checkpoint_minutes=0.0, test="", class_weights="balanced", ema_decay=0.9)
VISION = VisionConfig(image_size=16, model="lenet5", dropout=0.0, shift=1, epochs=1, batch_size=B,
                      checkpoint_minutes=0.0)
GAN = GenerativeConfig(model="gan", latent_size=4, hidden_size=16, epochs=1, batch_size=B, eval_samples=20, d_steps=2,
                       adam_beta1=0.5, checkpoint_minutes=0.0)
AE = GenerativeConfig(model="ae", latent_size=4, hidden_size=16, epochs=1, batch_size=B, checkpoint_minutes=0.0)


def sentiment_splits() -> Splits:
    """A small two-class set, three negatives to a positive (so the class weights matter)."""
    g = torch.Generator().manual_seed(0)
    words = ["good", "bad", "film", "plot", "not", "very", "dull", "fine"]
    tokens = [[words[i] for i in torch.randint(0, 8, (int(n),), generator=g)]
              for n in torch.randint(2, 9, (240,), generator=g)]
    labels = [int(t[0] in ("good", "fine")) for t in tokens]
    return Splits(Examples(tokens[:200], labels[:200]), Examples(tokens[200:], labels[200:]), None, ("neg", "pos"))


def run(name: str, cfg, out: Path) -> dict:
    """Train pipeline ``name`` into ``out`` (in this process's place in the group, if any)."""
    if name == "sentiment":
        return train_sentiment(cfg, out, CPU, quiet=True, splits=sentiment_splits())
    if name == "vision":
        return train_vision(cfg, out, CPU, quiet=True)
    return train_generative(cfg, out, CPU, quiet=True, data=load_data(cfg))


JOBS = {"sentiment": SENTIMENT, "vision": VISION, "gan": GAN, "ae": AE}


def _worker(rank: int, world: int, port: int, root: str) -> None:
    join_environment(rank, world, port)
    torch.set_num_threads(1)
    # one group for all four runs: each trainer joins it (and leaves it to its owner, this function)
    dist.init_process_group("gloo", rank=rank, world_size=world)
    summaries = {name: run(name, cfg, Path(root) / f"rank{rank}" / name) for name, cfg in JOBS.items()}
    torch.save(summaries, Path(root) / f"summaries{rank}.pt")
    dist.destroy_process_group()


@pytest.fixture(scope="module")
def ddp_runs(tmp_path_factory) -> Path:
    """The four runs on two gloo processes, with batches of B each."""
    root = tmp_path_factory.mktemp("ddp")
    spawn(_worker, 2, str(root))
    return root


@pytest.mark.parametrize("name", list(JOBS))
def test_two_processes_equal_one_with_the_double_batch(ddp_runs, tmp_path, monkeypatch, name):
    for variable in ("WORLD_SIZE", "RANK", "LOCAL_RANK"):
        monkeypatch.delenv(variable, raising=False)
    cfg = JOBS[name]
    one = run(name, dataclasses.replace(cfg, batch_size=2 * B), tmp_path / name)
    ranks = [torch.load(ddp_runs / f"summaries{r}.pt", weights_only=False)[name] for r in (0, 1)]

    # the weights rank 0 wrote (after the last epoch) are the one process's
    two = load_checkpoint(ddp_runs / "rank0" / name / "last.safetensors")["model"]
    single = load_checkpoint(tmp_path / name / "last.safetensors")["model"]
    assert two.keys() == single.keys()
    for key, value in single.items():
        torch.testing.assert_close(two[key], value, rtol=1e-4, atol=1e-5, msg=key)
    # the same losses (all-reduced over the global batch) and validation (rank 0's, broadcast) on both ranks
    assert ranks[0]["steps"] == ranks[1]["steps"] == one["steps"] > 1
    for history in (ranks[0]["history"], ranks[1]["history"]):
        assert len(history) == len(one["history"])
        for got, want in zip(history, one["history"], strict=True):
            assert got.keys() == want.keys()
            for key, value in want.items():
                assert got[key] == (pytest.approx(value, rel=1e-4, abs=1e-6) if value is not None else None), key
    # rank 0 wrote the run, rank 1 nothing (its summary is the loop's own, which reads no file)
    assert (ddp_runs / "rank0" / name / "model.safetensors").exists()
    assert not [p for p in (ddp_runs / "rank1" / name).rglob("*") if p.is_file()]
    assert "model" in ranks[0] and "model" not in ranks[1]


def test_shards_cover_the_batch_and_scale_to_its_mean():
    items = list(range(7))
    shards = [DataParallel(rank, 3).shard(items) for rank in range(3)]
    assert sum(shards, []) == items and [len(s) for s in shards] == [2, 2, 3]
    assert not DataParallel(0, 8).usable(items) and DataParallel(0, 7).usable(items)
    # sum over ranks of world * local / total * (mean over the shard) = the mean over the batch
    losses = torch.arange(7.0) ** 2
    scaled = [DataParallel(r, 3).for_backward(losses[s].mean(), len(s), 7) for r, s in enumerate(
        DataParallel(r, 3).shard(range(7)) for r in range(3))]
    assert float(sum(scaled)) / 3 == pytest.approx(float(losses.mean()))
    single = DataParallel()
    loss = torch.tensor(2.5)
    assert single.for_backward(loss, 3, 7) is loss and single.shard(items) is items and single.scale(3, 7) == 1.0


# --- the pipelines that train in one process ------------------------------------------------------------------


@pytest.mark.parametrize("args", [
    ["embed", "train", "CORPUS", "-o", "vectors.txt"],
    ["glove", "train", "CORPUS", "-o", "vectors.txt"],
    ["rl", "train", "--config", "configs/gridworld_qlearning.toml", "-o", "agent"],
    ["rl", "train", "--config", "configs/cartpole_dqn.toml", "-o", "agent"],
])
def test_single_process_pipelines_refuse_a_multi_process_launch(tmp_path, monkeypatch, args):
    corpus = tmp_path / "corpus.txt"
    corpus.write_text("a b c d e f\n" * 20)
    root = Path(__file__).resolve().parents[2]
    args = [str(corpus) if a == "CORPUS" else str(root / a) if a.startswith("configs/") else
            str(tmp_path / a) if a in ("vectors.txt", "agent") else a for a in args]
    monkeypatch.setenv("WORLD_SIZE", "2")
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 2, result.output
    error = result.output.strip().splitlines()[-1]  # after the command's start line on stderr, if any
    assert error.startswith("seqlab: error: ") and "trains in one process" in error and "without torchrun" in error
    assert not (tmp_path / "vectors.txt").exists() and not (tmp_path / "agent" / "model.safetensors").exists()


def test_library_entry_points_refuse_too(tmp_path, monkeypatch):
    from seqlab.embeddings.glove import train_glove
    from seqlab.embeddings.word2vec import train_word2vec
    from seqlab.rl.dqn import DQNConfig, train_dqn
    from seqlab.sentiment.lm import pretrain_encoder
    from seqlab.training import BudgetLoop

    monkeypatch.setenv("WORLD_SIZE", "2")
    for call in (lambda: train_word2vec([["a", "b"]] * 5), lambda: train_glove(str(tmp_path / "c.txt")),
                 lambda: train_dqn(DQNConfig()), lambda: pretrain_encoder("c.txt", "v.txt", tmp_path / "lm"),
                 lambda: BudgetLoop(10, "toy", "unit")):
        with pytest.raises(ConfigError, match="trains in one process"):
            call()
    monkeypatch.setenv("WORLD_SIZE", "1")  # torchrun --nproc-per-node 1 is one process
    assert BudgetLoop(10, "toy", "unit").total == 10


# --- the command line under torchrun ----------------------------------------------------------------------------


@pytest.mark.skipif(shutil.which("torchrun", path=os.path.dirname(sys.executable)) is None
                    or shutil.which("seqlab", path=os.path.dirname(sys.executable)) is None,
                    reason="torchrun and the seqlab script are installed beside this Python")
def test_torchrun_prints_the_summary_once(tmp_path):
    bin_dir = Path(sys.executable).parent
    env = {**os.environ, "OMP_NUM_THREADS": "1", "SEQLAB_PROGRESS": "0"}
    command = [str(bin_dir / "torchrun"), "--standalone", "--nproc-per-node", "2", "--no-python",
               str(bin_dir / "seqlab"), "generative", "train", "-o", str(tmp_path / "ae"), "--epochs", "1",
               "--set", "model='ae'", "--set", "hidden_size=16", "--set", "latent_size=4", "--threads", "1",
               "--json", "--quiet"]
    done = subprocess.run(command, capture_output=True, text=True, env=env, timeout=120)
    assert done.returncode == 0, done.stderr[-3000:]
    lines = [line for line in done.stdout.splitlines() if line.strip()]
    assert len(lines) == 1, done.stdout  # rank 0's summary only
    summary = json.loads(lines[0])
    assert summary["kind"] == "ae" and summary["epochs"] == 1 and Path(summary["model"]).exists()
    assert done.stderr.count("training ae on digits") == 1 and done.stderr.count("epoch 1:") == 1  # rank 0's log
