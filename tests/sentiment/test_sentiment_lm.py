"""The biLM pretraining of the sentiment encoder: targets, learning, exact resume, use by the classifier."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch
from interrupt import interrupt_after

from seqlab.embeddings.keyed_vectors import KeyedVectors
from seqlab.errors import ConfigError, DataError
from seqlab.sentiment.config import SentimentConfig
from seqlab.sentiment.data import UNK, Examples
from seqlab.sentiment.lm import BiLM, LMConfig, load_encoder, pretrain_encoder, split_sentences
from seqlab.sentiment.train import Splits, train_sentiment

pytestmark = pytest.mark.usefixtures("one_thread")

WORDS = ["the", "film", "is", "good", "bad", "not", "very", ".", "!", "a", "plot", "dull"]


@pytest.fixture
def vectors(tmp_path):
    kv = KeyedVectors(WORDS, np.random.default_rng(0).normal(size=(len(WORDS), 6)).astype(np.float32))
    return str(kv.save(tmp_path / "v.txt"))


@pytest.fixture
def corpus(tmp_path):
    rng = np.random.default_rng(1)
    lines = []
    for _ in range(300):  # a strict grammar: "the film is (not) (very) good|bad ." and "a plot is dull !"
        parts = []
        for _ in range(3):
            if rng.random() < 0.5:
                parts += ["the", "film", "is", *(["not"] if rng.random() < 0.5 else []),
                          *(["very"] if rng.random() < 0.5 else []), str(rng.choice(["good", "bad"])), "."]
            else:
                parts += ["a", "plot", "is", "dull", "!"]
        lines.append(" ".join(parts))
    path = tmp_path / "corpus.txt"
    path.write_text("\n".join(lines) + "\n")
    return path


def test_split_sentences_cuts_after_end_marks():
    assert split_sentences("a b . c ! d e ? f".split()) == [["a", "b", "."], ["c", "!"], ["d", "e", "?"], ["f"]]
    assert split_sentences([]) == []


def test_bilm_loss_pairs_each_direction_with_the_right_neighbour():
    torch.manual_seed(0)
    cfg = LMConfig(hidden_size=5, dropout=0.0, cutoffs=(4,))
    model = BiLM(torch.randn(12, 6), cfg).eval()
    ids = torch.tensor([[3, 4, UNK, 5, 6], [7, 8, 9, 0, 0]])
    lengths = torch.tensor([5, 3])
    loss, count = model(ids, lengths)
    out, _ = model.rnn(model.embedding(ids), lengths=lengths)
    logp = model.softmax.log_prob(out.reshape(-1, 10)[:, :5]).view(2, 5, 12), \
        model.softmax.log_prob(out.reshape(-1, 10)[:, 5:]).view(2, 5, 12)
    want, n = 0.0, 0
    for i, length in enumerate(lengths.tolist()):
        for t in range(length - 1):
            if ids[i, t + 1] != UNK:  # forward state at t predicts word t+1
                want, n = want - logp[0][i, t, ids[i, t + 1]], n + 1
            if ids[i, t] != UNK:  # backward state at t+1 predicts word t
                want, n = want - logp[1][i, t + 1, ids[i, t]], n + 1
    assert count == n == 10
    torch.testing.assert_close(loss, want)


def test_pretraining_learns_the_grammar_and_the_classifier_starts_from_it(tmp_path, vectors, corpus):
    cfg = LMConfig(hidden_size=8, dropout=0.0, tokens=30_000, batch_size=16, lr=1e-2, cutoffs=(6,), min_len=2)
    summary = pretrain_encoder(corpus, vectors, tmp_path / "enc", cfg, "cpu", quiet=True)
    assert summary["tokens"] >= 30_000 and summary["vocabulary"] == len(WORDS) + 2
    assert summary["perplexity"] < 2.5  # a uniform guess over 14 words would be 14
    assert not (tmp_path / "enc" / "last.safetensors").exists()
    encoder = load_encoder(tmp_path / "enc")
    assert encoder["words"][2:] == WORDS and encoder["embedding"].shape == (len(WORDS) + 2, 6)

    train = Examples([["the", "film", "is", "good"], ["the", "film", "is", "bad"]] * 8, [1, 0] * 8, "train")
    splits = Splits(train, train, None, ("negative", "positive"))
    run = SentimentConfig(num_classes=2, vectors="", encoder=str(tmp_path / "enc"), emb_dim=6, hidden_size=8,
                          epochs=1, batch_size=4, lr=1e-9, test="", checkpoint_minutes=0.0, dropout=0.0)
    messages = []
    train_sentiment(run, tmp_path / "clf", "cpu", quiet=True, splits=splits, log=messages.append)
    from seqlab.sentiment.predict import Classifier
    model = Classifier.load(tmp_path / "clf").model
    for key, value in encoder["rnn"].items():  # lr ~ 0: still the pretrained weights
        torch.testing.assert_close(model.rnn.state_dict()[key], value, atol=1e-6, rtol=0)
    row = Classifier.load(tmp_path / "clf").index["film"]
    torch.testing.assert_close(model.embedding.weight[row], encoder["embedding"][encoder["words"].index("film")],
                               atol=1e-6, rtol=0)
    assert any("pretrained encoder" in m for m in messages)
    # extend_vocab applies to the encoder's vectors too: the words not in the training data get fixed rows
    train_sentiment(dataclasses.replace(run, extend_vocab=True), tmp_path / "ext", "cpu", quiet=True, splits=splits)
    extended = Classifier.load(tmp_path / "ext")
    unseen = [w for w in WORDS if w not in {"the", "film", "is", "good", "bad"}]
    assert extended.words[-len(unseen):] == unseen and extended.model.cfg.fixed_rows == len(unseen)
    with pytest.raises(ConfigError, match="hidden_size 9 \\(encoder: 8\\)"):
        train_sentiment(dataclasses.replace(run, hidden_size=9), tmp_path / "x", "cpu", quiet=True, splits=splits)
    with pytest.raises(ConfigError, match="model = rnn"):
        dataclasses.replace(run, model="nbow").validate()


def test_an_interrupted_pretraining_resumes_exactly(tmp_path, vectors, corpus):
    cfg = LMConfig(hidden_size=8, dropout=0.2, tokens=6_000, batch_size=16, cutoffs=(6,), min_len=2,
                   checkpoint_minutes=1e-9)
    pretrain_encoder(corpus, vectors, tmp_path / "whole", cfg, "cpu", quiet=True)
    with interrupt_after(checkpoints=3), pytest.raises(KeyboardInterrupt):  # Ctrl-C after the third checkpoint
        pretrain_encoder(corpus, vectors, tmp_path / "cut", cfg, "cpu", quiet=True)
    assert (tmp_path / "cut" / "last.safetensors").exists() and not (tmp_path / "cut" / "encoder.safetensors").exists()
    with pytest.raises(DataError, match="another pretraining run"):
        pretrain_encoder(corpus, vectors, tmp_path / "cut", dataclasses.replace(cfg, lr=0.5), "cpu", resume=True,
                         quiet=True)
    pretrain_encoder(corpus, vectors, tmp_path / "cut", cfg, "cpu", resume=True, quiet=True)
    whole, cut = load_encoder(tmp_path / "whole"), load_encoder(tmp_path / "cut")
    for key, value in whole["rnn"].items():
        torch.testing.assert_close(cut["rnn"][key], value, atol=0, rtol=0)


def test_bad_inputs(tmp_path, vectors):
    empty = tmp_path / "empty.txt"
    empty.write_text("too short\n")
    with pytest.raises(DataError, match="no sentences of 4-60 words"):
        pretrain_encoder(empty, vectors, tmp_path / "e", LMConfig(), "cpu", quiet=True)
    with pytest.raises(ConfigError, match="max_len"):
        LMConfig(min_len=5, max_len=4).validate()
    with pytest.raises(DataError, match="no encoder.safetensors"):
        load_encoder(tmp_path)
