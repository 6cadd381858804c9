"""Hostile settings: non-finite or huge numbers in TOML configs and ``--set``, binary files given as
--config, and models too big for the memory. Each must end in one ConfigError line naming the file (or
the option) and the key, before any data is read or any tensor allocated."""

from __future__ import annotations

import itertools

import pytest
from one_line import assert_one_line_error, invoke

from seqlab import memory
from seqlab.config import build_config
from seqlab.embeddings.word2vec import Word2VecConfig
from seqlab.errors import ConfigError
from seqlab.memory import available_memory_bytes, check_fits, format_bytes
from seqlab.sentiment.config import SentimentConfig
from seqlab.sentiment.config import weight_count as sentiment_weights
from seqlab.sentiment.model import SentimentModel
from seqlab.seq2seq.config import Seq2SeqConfig
from seqlab.seq2seq.config import weight_count as seq2seq_weights
from seqlab.seq2seq.model import Seq2Seq

CONFIGS = [(Seq2SeqConfig, "seq2seq", "lr"), (SentimentConfig, "sentiment", "dropout"),
           (Word2VecConfig, "word2vec", "alpha"), (Seq2SeqConfig, "seq2seq", "hidden_size"),
           (SentimentConfig, "sentiment", "epochs"), (Word2VecConfig, "word2vec", "dim")]
TRAIN = {"seq2seq": ["seq2seq", "train"], "sentiment": ["sentiment", "train"], "word2vec": ["embed", "train"]}


@pytest.mark.parametrize("value", ["inf", "-inf", "nan", "+inf"])
@pytest.mark.parametrize("cls,section,key", CONFIGS)
def test_non_finite_numbers_in_a_config_file_are_refused(tmp_path, cls, section, key, value):
    path = tmp_path / "bad.toml"
    path.write_text(f"[{section}]\n{key} = {value}\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=rf"bad\.toml: {key} must be a finite number, got .?(inf|nan)"):
        build_config(cls, path, section)


@pytest.mark.parametrize("cls,section,key", CONFIGS)
def test_non_finite_overrides_are_refused(cls, section, key):
    for value in (float("inf"), float("nan")):
        with pytest.raises(ConfigError, match=f"command line: {key} must be a finite number"):
            build_config(cls, None, section, **{key: value})


@pytest.mark.parametrize("section", list(TRAIN))
def test_cli_refuses_non_finite_config_values_in_one_line(tmp_path, section):
    path = tmp_path / "bad.toml"
    path.write_text(f"[{section}]\nepochs = inf\n", encoding="utf-8")
    args = [*TRAIN[section], "--config", path, "-o", tmp_path / "out", "--device", "cpu"]
    assert_one_line_error(invoke(*args), f"{path}: epochs must be a finite number, got inf")
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("section", ["seq2seq", "sentiment"])
@pytest.mark.parametrize("setting", ["lr=inf", "lr=nan", "dropout=-inf", "hidden_size=1e400"])
def test_cli_refuses_non_finite_set_values_in_one_line(tmp_path, section, setting):
    result = invoke(*TRAIN[section], "--set", setting, "-o", tmp_path / "out", "--device", "cpu")
    assert_one_line_error(result, f"--set '{setting}': the value must be a finite number")


def test_integers_beyond_64_bits_are_refused(tmp_path):
    path = tmp_path / "big.toml"
    path.write_text(f"seed = {2**70}\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"big\.toml: seed is too large \(a 71-bit integer\)"):
        build_config(Seq2SeqConfig, path, "seq2seq")
    with pytest.raises(ConfigError, match="command line: epochs is too large"):
        build_config(SentimentConfig, None, epochs=1e30)
    assert build_config(SentimentConfig, None, clip_norm=1e30).clip_norm == 1e30  # a float field may be large


@pytest.mark.parametrize("content", [b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\xff\xd8", b"lr = 0.1\n\xff\xfe\n",
                                     b"\x00\x01\x02\x03 binary"])
@pytest.mark.parametrize("section", list(TRAIN))
def test_a_binary_file_given_as_config_is_not_a_toml_file(tmp_path, content, section):
    path = tmp_path / "model.bin"
    path.write_bytes(content)
    with pytest.raises(ConfigError, match=r"model\.bin: not a TOML file"):
        build_config({"seq2seq": Seq2SeqConfig, "sentiment": SentimentConfig, "word2vec": Word2VecConfig}[section],
                     path, section)
    result = invoke(*TRAIN[section], "--config", path, "-o", tmp_path / "out", "--device", "cpu")
    assert_one_line_error(result, f"{path}: not a TOML file")


def test_validate_refuses_non_finite_values_of_configs_made_in_python():
    for cfg, key in [(Seq2SeqConfig(task="dates", coverage_beta=float("inf")), "coverage_beta"),
                     (Seq2SeqConfig(task="dates", lr=float("inf")), "lr"),
                     (SentimentConfig(weight_decay=float("nan")), "weight_decay"),
                     (SentimentConfig(embedding_lr_scale=float("inf")), "embedding_lr_scale")]:
        with pytest.raises(ConfigError, match=f"{key} must be a finite number"):
            cfg.validate()


def test_seq2seq_config_validates_its_decoding_settings():
    for field, value in [("alpha", 50.0), ("max_len_ratio", 1e6), ("max_len_offset", -1), ("coverage_beta", -1.0)]:
        with pytest.raises(ConfigError, match=field.replace("coverage_", "")):
            build_config(Seq2SeqConfig, None, task="dates", **{field: value})


# ------------------------------------------------------------------------------------ memory
def test_available_memory_reads_meminfo(tmp_path, monkeypatch):
    fake = tmp_path / "meminfo"
    fake.write_text("MemTotal:       16000000 kB\nMemFree:  100 kB\nMemAvailable:    8000000 kB\n", encoding="ascii")
    monkeypatch.setattr(memory, "MEMINFO", fake)
    assert available_memory_bytes() == 8_000_000 * 1024
    fake.write_text("MemTotal: 1 kB\n", encoding="ascii")
    assert available_memory_bytes() is None
    monkeypatch.setattr(memory, "MEMINFO", tmp_path / "absent")
    assert available_memory_bytes() is None


def test_format_bytes():
    assert [format_bytes(n) for n in (0, 1023, 1536, 5 * 2**30, 3 * 2**50)] == [
        "0 bytes", "1023 bytes", "1.5 KiB", "5 GiB", "3 PiB"]


def test_check_fits_names_both_figures():
    check_fits(2**30, "x", available=2**30)
    with pytest.raises(ConfigError, match=r"a model needs at least 1 GiB of memory, but only 512 MiB is available"):
        check_fits(2**30, "a model", available=2**29)


@pytest.mark.parametrize("section", ["seq2seq", "sentiment"])
@pytest.mark.parametrize("setting", ["hidden_size=10000000", "emb_dim=1000000000"])
def test_absurd_model_sizes_are_refused_before_allocating(tmp_path, monkeypatch, section, setting):
    monkeypatch.setattr(memory, "available_memory_bytes", lambda: 8 * 2**30)
    extra = ["--set", "task='dates'"] if section == "seq2seq" else ["--set", "vectors=''"]
    result = invoke(*TRAIN[section], *extra, "--set", setting, "-o", tmp_path / "out", "--device", "cpu")
    name, _, value = setting.partition("=")
    assert_one_line_error(result, f"{name} {value}", "needs at least", "but only 8 GiB is available")
    assert not (tmp_path / "out").exists()


def test_the_exact_vocabulary_is_checked_when_the_model_is_made(monkeypatch):
    monkeypatch.setattr(memory, "available_memory_bytes", lambda: 2**30)
    cfg = Seq2SeqConfig(task="dates", emb_dim=4096, hidden_size=256)
    cfg.validate()  # fits with the smallest vocabularies
    with pytest.raises(ConfigError, match="vocabularies of 32000 and 32000 needs at least 1.0. GiB"):
        cfg.model_config(32000, 32000)
    sentiment = SentimentConfig(emb_dim=2048, vectors="")
    sentiment.validate()
    with pytest.raises(ConfigError, match="and 200000 words needs at least 1.5. GiB"):
        sentiment.model_config(200000)


def test_weight_counts_are_lower_bounds_of_the_real_models():
    for cell, attention, tie, feed in itertools.product(["gru", "lstm", "mingru", "peephole", "cifg", "rnn"],
                                                        ["general", "additive"], [False, True], [False, True]):
        cfg = Seq2SeqConfig(task="dates", cell=cell, attention=attention, tie_embeddings=tie, input_feeding=feed,
                            emb_dim=16, hidden_size=16, enc_layers=2, dec_layers=2)
        real = sum(p.numel() for p in Seq2Seq(cfg.model_config(37, 41)).parameters())
        assert 0.8 * real < seq2seq_weights(cfg, 37, 41) <= real, (cell, attention, tie, feed)
    for kind, cell, bidirectional, layers, hidden in itertools.product(["rnn", "nbow"], ["gru", "lstm"], [False, True],
                                                                       [1, 2], [0, 1, 2]):
        cfg = SentimentConfig(model=kind, cell=cell, bidirectional=bidirectional, num_layers=layers,
                              hidden_layers=hidden, emb_dim=12, hidden_size=10, num_classes=3)
        model = SentimentModel(cfg.model_config(50, 5))
        real = sum(t.numel() for t in itertools.chain(model.parameters(), model.buffers()))
        assert 0.7 * real < sentiment_weights(cfg, 50) <= real, (kind, cell, bidirectional, layers, hidden)
