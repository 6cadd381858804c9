"""The trainer: exact resume, checkpoints, early stopping, class weights, pretrained vectors."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch
from resume import assert_resumes_exactly

from seqlab.embeddings.keyed_vectors import KeyedVectors
from seqlab.errors import ConfigError, DataError
from seqlab.io import load_checkpoint
from seqlab.sentiment.config import SentimentConfig
from seqlab.sentiment.data import Examples
from seqlab.sentiment.predict import Classifier
from seqlab.sentiment.train import SentimentTrainer, Splits, class_weights, train_sentiment

pytestmark = pytest.mark.usefixtures("one_thread")

TINY = SentimentConfig(num_classes=2, vectors="", emb_dim=8, hidden_size=8, dropout=0.3, epochs=2, batch_size=16,
                       lr=3e-3, checkpoint_minutes=0.0, test="")
CPU = torch.device("cpu")


@pytest.fixture
def splits(negation_data):
    train, dev = negation_data(300, 1), negation_data(60, 2)
    return Splits(Examples(*train), Examples(*dev), None, ("negative", "positive"))


@pytest.mark.parametrize("ema_decay", [0.0, 0.9])
def test_resume_mid_epoch_is_exact(tmp_path, splits, ema_decay):
    """Stop after 5 steps, reload last.safetensors in a new trainer: the next losses and the weights (and their moving
    average) are those of an uninterrupted run (dropout on, so the random state must travel too)."""
    cfg = dataclasses.replace(TINY, ema_decay=ema_decay)
    a = SentimentTrainer(cfg, tmp_path / "a", CPU, splits=splits, quiet=True)
    b = assert_resumes_exactly(
        a, lambda state: SentimentTrainer(cfg, tmp_path / "b", CPU, splits=splits, words=state["words"], quiet=True),
        5, 9)
    if ema_decay:
        assert a.average.updates == b.average.updates == 9
        assert all(torch.equal(x, y) for x, y in zip(a.average.shadow, b.average.shadow, strict=True))


def test_ema_validates_and_saves_the_averaged_weights(tmp_path, splits):
    cfg = dataclasses.replace(TINY, epochs=1, ema_decay=0.9)
    trainer = SentimentTrainer(cfg, tmp_path / "m", CPU, splits=splits, quiet=True)
    summary = trainer.fit()  # one epoch: it is the best, so model.safetensors holds the average at its end
    saved = load_checkpoint(tmp_path / "m" / "model.safetensors")["model"]
    named = dict(trainer.model.named_parameters())
    averaged = {name: s for (name, p), s in zip(named.items(), trainer.average.shadow, strict=True)}
    assert any(not torch.equal(named[k], averaged[k]) for k in averaged)  # the average is not the last weights
    for name, value in averaged.items():
        assert torch.equal(saved[name], value), name
    with trainer.averaged():
        assert trainer.validate()["dev_accuracy"] == summary["best_dev_accuracy"]
    with pytest.raises(ConfigError, match="ema_decay"):
        dataclasses.replace(TINY, ema_decay=1.0).validate()


def test_fit_writes_best_and_last_and_resume_continues(tmp_path, splits):
    out = tmp_path / "m"
    first = train_sentiment(dataclasses.replace(TINY, epochs=1), out, CPU, quiet=True, splits=splits)
    assert {p.name for p in out.iterdir()} == {"model.safetensors", "last.safetensors", "config.toml"}
    summary = train_sentiment(TINY, out, CPU, resume=True, quiet=True, splits=splits)
    assert [h["epoch"] for h in summary["history"]] == [1, 2]
    assert summary["history"][0] == first["history"][0]
    best = max(h["dev_accuracy"] for h in summary["history"])
    assert summary["best_dev_accuracy"] == best
    assert load_checkpoint(out / "model.safetensors")["metrics"]["dev_accuracy"] == best
    with pytest.raises(ConfigError, match="different architecture"):
        train_sentiment(dataclasses.replace(TINY, hidden_size=9), out, CPU, resume=True, quiet=True, splits=splits)
    with pytest.raises(DataError, match="no checkpoint to resume"):
        train_sentiment(TINY, tmp_path / "none", CPU, resume=True, quiet=True, splits=splits)


def test_early_stopping_on_dev_accuracy(tmp_path, splits):
    """With lr = 0 the dev accuracy never improves after epoch 1: patience 2 stops after epoch 3."""
    cfg = dataclasses.replace(TINY, lr=1e-12, epochs=10, patience=2)
    summary = train_sentiment(cfg, tmp_path / "m", CPU, quiet=True, splits=splits)
    assert summary["epochs"] == 3


def test_class_weights_are_sklearns_balanced():
    from sklearn.utils.class_weight import compute_class_weight

    labels = [0, 0, 0, 1, 2, 2]
    expected = compute_class_weight("balanced", classes=np.arange(3), y=np.array(labels))
    torch.testing.assert_close(class_weights(labels, 3), torch.tensor(expected, dtype=torch.float32))
    assert class_weights([0, 0, 1], 3)[2] == 0.0


@pytest.mark.parametrize("loss, weights", [("focal", "balanced"), ("ce", "balanced"), ("focal", "none")])
def test_loss_options_train(tmp_path, splits, loss, weights):
    cfg = dataclasses.replace(TINY, epochs=1, loss=loss, class_weights=weights, model="nbow")
    summary = train_sentiment(cfg, tmp_path / "m", CPU, quiet=True, splits=splits)
    assert summary["history"][0]["train_loss"] > 0


def test_pretrained_vectors_are_aligned_into_the_model(tmp_path, splits):
    words = ["good", "bad", "movie", "unrelated"]
    kv = KeyedVectors(words, np.random.default_rng(0).normal(size=(4, 8)).astype(np.float32))
    kv.save(tmp_path / "v.txt")
    cfg = dataclasses.replace(TINY, vectors=str(tmp_path / "v.txt"), freeze_embeddings=True, epochs=1)
    messages = []
    summary = train_sentiment(cfg, tmp_path / "m", CPU, quiet=True, splits=splits, log=messages.append)
    assert any(m.startswith("pretrained vectors cover 3/") for m in messages)
    classifier = Classifier.load(tmp_path / "m")
    weight = classifier.model.embedding.weight
    for w in ("good", "bad", "movie"):  # frozen: still the pretrained rows after training
        torch.testing.assert_close(weight[classifier.index[w]], kv.vectors[kv.words.index(w)])
    assert summary["coverage"]["types"] == pytest.approx(3 / (len(classifier.words) - 2))
    with pytest.raises(ConfigError, match="set emb_dim = 8"):
        train_sentiment(dataclasses.replace(cfg, emb_dim=5), tmp_path / "x", CPU, quiet=True, splits=splits)


def test_extend_vocab_gives_vector_only_words_their_vectors_untouched_by_training(tmp_path, splits):
    words = ["good", "bad", "Capital", "zebra", "quixotic"]  # zebra, quixotic: not in the training data
    kv = KeyedVectors(words, np.random.default_rng(1).normal(size=(5, 8)).astype(np.float32))
    kv.save(tmp_path / "v.txt")
    cfg = dataclasses.replace(TINY, vectors=str(tmp_path / "v.txt"), extend_vocab=True, epochs=1)
    messages = []
    train_sentiment(cfg, tmp_path / "m", CPU, quiet=True, splits=splits, log=messages.append)
    classifier = Classifier.load(tmp_path / "m")
    train_words = {w for t in splits.train.tokens for w in t}
    assert classifier.words[-2:] == ["zebra", "quixotic"] and "Capital" not in classifier.index
    assert set(classifier.words[:-2]) - {"<pad>", "<unk>"} == train_words
    weight = classifier.model.embedding_matrix()
    assert classifier.model.cfg.fixed_rows == 2 and classifier.model.embedding.num_embeddings == len(weight) - 2
    for w in ("zebra", "quixotic"):  # never seen in training: exactly the pretrained rows
        torch.testing.assert_close(weight[classifier.index[w]], kv.vectors[kv.words.index(w)])
    assert not torch.allclose(weight[classifier.index["good"]], kv.vectors[0])  # fine-tuned
    assert any(m.startswith(f"pretrained vectors cover 2/{len(train_words)} ") for m in messages)
    unseen = classifier.predict(["zebra quixotic"])[0]
    assert unseen.error is None and unseen.warning is None  # known words now, not UNK
    # resume keeps the vocabulary and the fixed rows: one more epoch from last.safetensors
    train_sentiment(dataclasses.replace(cfg, epochs=2), tmp_path / "m", CPU, quiet=True, splits=splits, resume=True)
    again = Classifier.load(tmp_path / "m")
    assert again.words == classifier.words
    torch.testing.assert_close(again.model.fixed_embedding, classifier.model.fixed_embedding)


def test_embedding_lr_scale_slows_only_the_embeddings(tmp_path, splits):
    moved = {}
    for scale in (1.0, 0.01):
        trainer = SentimentTrainer(dataclasses.replace(TINY, embedding_lr_scale=scale), tmp_path / str(scale), CPU,
                                   splits=splits, quiet=True)
        before = {k: v.clone() for k, v in trainer.model.state_dict().items()}
        trainer.step(list(range(16)))
        moved[scale] = {k: (v - before[k]).abs().sum() for k, v in trainer.model.state_dict().items()}
    # Adam's first step moves every parameter with a gradient by lr (times sign): the embedding by lr * scale
    torch.testing.assert_close(moved[0.01]["embedding.weight"], moved[1.0]["embedding.weight"] * 0.01, rtol=1e-3,
                               atol=0.0)
    torch.testing.assert_close(moved[0.01]["output.weight"], moved[1.0]["output.weight"])
    with pytest.raises(ConfigError, match="embedding_lr_scale"):
        dataclasses.replace(TINY, embedding_lr_scale=0.0).validate()


def test_float16_storage_and_held_out_dev(tmp_path, negation_data):
    tokens, labels = negation_data(200, 4)
    (tmp_path / "train.tsv").write_text("".join(f"{y}\t{' '.join(t)}\n" for t, y in zip(tokens, labels, strict=True)))
    cfg = dataclasses.replace(TINY, train=str(tmp_path / "train.tsv"), dev="", dev_fraction=0.2, epochs=1,
                              store_dtype="float16", test=str(tmp_path / "train.tsv"))
    summary = train_sentiment(cfg, tmp_path / "m", CPU, quiet=True)
    state = load_checkpoint(tmp_path / "m" / "model.safetensors")
    assert state["model"]["embedding.weight"].dtype == torch.float16
    assert "test_accuracy" in summary
    classifier = Classifier.load(tmp_path / "m")
    assert classifier.model.embedding.weight.dtype == torch.float32
