"""Seq2SeqConfig in sections (data, model, train, decode): each field is declared once, in its section;
sectioned and flat TOML read the same; ``--set`` takes ``model.hidden_size`` or ``hidden_size``; the
config saved beside a model is sectioned and reads back equal; the model and a search take the sections."""

from __future__ import annotations

import dataclasses

import pytest

from seqlab.cli.common import parse_sets
from seqlab.config import build_config, part, sections, to_toml
from seqlab.errors import ConfigError
from seqlab.seq2seq.config import DataSettings, Seq2SeqConfig, TrainSettings
from seqlab.seq2seq.model import Architecture, ModelConfig
from seqlab.seq2seq.search import Decoding

FLAT = """[seq2seq]
task = "dates"
hidden_size = 96
lr = 3e-3
beam = 4
coverage_beta = 0.2
"""
SECTIONED = """[seq2seq.data]
task = "dates"

[seq2seq.model]
hidden_size = 96

[seq2seq.train]
lr = 3e-3

[seq2seq.decode]
beam = 4
coverage_beta = 0.2
"""
TOP = SECTIONED.replace("[seq2seq.", "[")


def test_every_field_is_declared_in_exactly_one_section():
    named = sections(Seq2SeqConfig)
    assert list(named) == ["data", "model", "train", "decode"]
    assert named == {"data": DataSettings, "model": Architecture, "train": TrainSettings, "decode": Decoding}
    declared = [f.name for cls in named.values() for f in dataclasses.fields(cls)]
    assert len(declared) == len(set(declared)) == len(dataclasses.fields(Seq2SeqConfig))


@pytest.mark.parametrize("text", [FLAT, SECTIONED, TOP])
def test_flat_and_sectioned_files_read_the_same(tmp_path, text):
    path = tmp_path / "c.toml"
    path.write_text(text)
    cfg = build_config(Seq2SeqConfig, path, "seq2seq")
    assert (cfg.task, cfg.hidden_size, cfg.lr, cfg.beam, cfg.coverage_beta) == ("dates", 96, 3e-3, 4, 0.2)
    assert cfg == Seq2SeqConfig(task="dates", hidden_size=96, lr=3e-3, beam=4, coverage_beta=0.2)


def test_set_takes_the_section_or_the_bare_name():
    dotted = build_config(Seq2SeqConfig, None, **parse_sets(("task='dates'", "model.hidden_size=64", "decode.beam=3")))
    bare = build_config(Seq2SeqConfig, None, **parse_sets(("task='dates'", "hidden_size=64", "beam=3")))
    assert dotted == bare and dotted.hidden_size == 64 and dotted.beam == 3
    with pytest.raises(ConfigError, match="unknown option 'model.lr'.*section model has no 'lr'"):
        build_config(Seq2SeqConfig, None, task="dates", **{"model.lr": 1.0})


def test_a_key_in_the_wrong_section_is_named(tmp_path):
    path = tmp_path / "c.toml"
    path.write_text("[seq2seq.model]\nlr = 0.1\n")
    with pytest.raises(ConfigError, match=r"c.toml: unknown key 'lr' in \[model\] \(known: attention, cell, "):
        build_config(Seq2SeqConfig, path, "seq2seq")


def test_the_saved_config_is_sectioned_and_reads_back_equal(tmp_path):
    cfg = Seq2SeqConfig(task="dates", hidden_size=64, sampling_alpha=0.1, coverage_beta=0.3, amp=False)
    text = to_toml(cfg, "seq2seq")
    assert [line for line in text.splitlines() if line.startswith("[")] == [
        "[seq2seq.data]", "[seq2seq.model]", "[seq2seq.train]", "[seq2seq.decode]"]
    (tmp_path / "config.toml").write_text(text)
    assert build_config(Seq2SeqConfig, tmp_path / "config.toml", "seq2seq") == cfg


def test_the_model_and_the_search_take_the_sections():
    cfg = Seq2SeqConfig(task="dates", cell="lstm", hidden_size=32, emb_dim=16, beam=3, alpha=1.0)
    model = cfg.model_config(50, 60)
    assert isinstance(model, ModelConfig) and (model.src_vocab, model.tgt_vocab) == (50, 60)
    assert part(model, Architecture) == part(cfg, Architecture)
    assert cfg.decoding() == Decoding(beam=3, alpha=1.0)
    assert cfg.decoding(beam=7, alpha=None) == Decoding(beam=7, alpha=1.0)
