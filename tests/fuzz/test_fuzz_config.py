"""Fuzzing the settings readers: ``build_config`` / ``read_toml`` for every config dataclass (random keys,
values of every TOML type, non-finite and huge numbers, keys inside and outside the pipeline's table,
random bytes as the file) and ``parse_sets`` for ``--set KEY=VALUE`` strings.

A config that loads holds exactly the values given (file, then ``--set``), each of its default's type;
an unknown key, a value of another type or a non-finite number must be refused with a ConfigError.
"""

from __future__ import annotations

import dataclasses
import datetime
import json
import math
from pathlib import Path

import pytest
from click.testing import CliRunner
from fuzz_inputs import FUZZ, check_refusal, hostile_bytes, write
from hypothesis import example, given, settings
from hypothesis import strategies as st

from seqlab.cli.common import parse_sets
from seqlab.cli.main import main
from seqlab.config import build_config, read_toml
from seqlab.embeddings.glove import GloveConfig
from seqlab.embeddings.word2vec import Word2VecConfig
from seqlab.errors import ConfigError, SeqlabError
from seqlab.generative.config import GenerativeConfig
from seqlab.rl.dqn import DQNConfig
from seqlab.rl.qlearning import QLearningConfig
from seqlab.rl.train import load_rl_config
from seqlab.sentiment.config import SentimentConfig
from seqlab.sentiment.lm import LMConfig
from seqlab.seq2seq.config import Seq2SeqConfig
from seqlab.vision.siamese import OneShotConfig
from seqlab.vision.style import StyleConfig
from seqlab.vision.train import VisionConfig

ROOT = Path(__file__).resolve().parents[2]
CONFIGS = [(Word2VecConfig, "word2vec"), (GloveConfig, "glove"), (Seq2SeqConfig, "seq2seq"),
           (SentimentConfig, "sentiment"), (VisionConfig, "vision"), (GenerativeConfig, "generative"),
           (DQNConfig, "dqn"), (QLearningConfig, "qlearning"), (LMConfig, "lm"), (StyleConfig, "style"),
           (OneShotConfig, "oneshot")]
INTS = st.one_of(st.sampled_from([0, 1, -1, 2, 3, 4, 8, 16, 2**31, 2**62, 2**63 - 1, 2**63, -(2**63), -(2**63) - 1,
                                  10**30]), st.integers())
FLOATS = st.one_of(st.sampled_from([0.0, -0.0, 0.5, 1.0, 0.999, 1e-300, 5e-324, 1e308, 9.3e18, 2.0**63, math.nan,
                                    math.inf, -math.inf]), st.floats())
TEXTS = st.one_of(st.sampled_from(["", "gru", "lstm", "sg", "ns", "adam", "vae", "7,8,9", "nan", "1"]),
                  st.text(max_size=8))
SCALARS = st.one_of(st.booleans(), INTS, FLOATS, TEXTS, st.datetimes().map(lambda d: d.replace(microsecond=0)))


def _nested(inner: st.SearchStrategy) -> st.SearchStrategy:
    return st.lists(inner, max_size=3) | st.dictionaries(TEXTS, inner, max_size=2)


VALUES = st.recursive(SCALARS, _nested, max_leaves=4)


def toml(value) -> str:
    """``value`` as a TOML value (what tomllib reads back as ``value``)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and not math.isfinite(value):
        return "nan" if math.isnan(value) else "inf" if value > 0 else "-inf"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)  # JSON's escapes are TOML's (a raw DEL makes it invalid TOML)
    if isinstance(value, datetime.datetime):
        return value.isoformat()
    if isinstance(value, list):
        return "[" + ", ".join(map(toml, value)) + "]"
    return "{" + ", ".join(f"{json.dumps(k, ensure_ascii=False)} = {toml(v)}" for k, v in value.items()) + "}"


def lines(entries: list[tuple[str, object]]) -> str:
    return "".join(f"{json.dumps(key, ensure_ascii=False)} = {toml(value)}\n" for key, value in entries)


def typed(default: object) -> st.SearchStrategy:
    """Values of the type of ``default`` (often valid ones), then and again a value of any TOML type."""
    if isinstance(default, bool):
        plausible = st.booleans()
    elif isinstance(default, int):
        plausible = st.one_of(st.just(default), st.integers(0, 100), INTS)
    elif isinstance(default, float):
        plausible = st.one_of(st.just(default), st.floats(0, 1), FLOATS)
    elif isinstance(default, str):
        plausible = st.one_of(st.just(default), TEXTS)
    else:
        plausible = st.lists(st.integers(1, 10**5), max_size=4)
    return st.one_of(plausible, plausible, plausible, plausible, plausible, plausible, plausible, VALUES)


@st.composite
def entries(draw: st.DrawFn, cls: type, section: str) -> tuple[str, object]:
    """(key, value): mostly a setting (or its dashed spelling) and a value of its type; or a random key."""
    name = draw(st.sampled_from([field.name for field in dataclasses.fields(cls)]))
    if draw(st.integers(0, 19)) == 0:
        return draw(st.text(min_size=1, max_size=6).filter(lambda k: k != section)), draw(VALUES)  # (an empty
        # table named after the section would be fine)
    key = name.replace("_", "-") if draw(st.integers(0, 3)) == 0 else name
    return key, draw(typed(getattr(cls(), name)))


@st.composite
def documents(draw: st.DrawFn, cls: type, section: str) -> tuple[str, list[tuple[str, object]], bool]:
    """(TOML text, the (key, value) entries it gives the config, whether it must be refused for its layout)."""
    items = draw(st.lists(entries(cls, section), max_size=4, unique_by=lambda kv: kv[0]))
    layout = draw(st.sampled_from(["flat", "table", "table", "table", "mixed", "scalar"]))
    if layout == "flat":
        return lines(items), items, False
    if layout == "table":
        return f"[{section}]\n" + lines(items), items, False
    if layout == "scalar":  # the pipeline's name as a plain key: read as a flat file, where it is unknown
        return f"{section} = 1\n" + lines(items), items, True
    cut = draw(st.integers(0, len(items)))  # keys before the table and in it: ambiguous, refused
    return lines(items[:cut]) + f"[{section}]\n" + lines(items[cut:]), items[cut:], cut > 0


def expected_refusal(cls: type, given: dict[str, object]) -> bool:
    """Whether ``given`` (setting name -> value) must be refused whatever the config's own checks say."""
    base = cls()
    for name, value in given.items():
        if name not in {f.name for f in dataclasses.fields(cls)}:
            return True
        default = getattr(base, name)
        if isinstance(default, bool) != isinstance(value, bool) or isinstance(default, str) != isinstance(value, str):
            return True
        if isinstance(default, int | float) and not isinstance(default, bool):
            if not isinstance(value, int | float) or not math.isfinite(value):
                return True
    return False


def check_config(cfg, cls: type, given: dict[str, object]) -> None:
    """``cfg`` holds every given value, with the type of its default."""
    base = cls()
    for name, value in given.items():
        got, default = getattr(cfg, name), getattr(base, name)
        if isinstance(default, tuple):
            assert isinstance(got, tuple) and list(got) == list(value), (name, got, value)
        else:
            assert type(got) is type(default) and got == value, (name, got, value)


@st.composite
def set_options(draw: st.DrawFn, cls: type) -> str:
    """One ``--set`` string: mostly KEY=VALUE of a setting and a value of its type, or odd keys and text."""
    key, value = draw(entries(cls, ""))
    odd = draw(st.integers(0, 15))
    if odd == 0:
        key = draw(st.sampled_from(["path", "section", "cls", " lr ", ""]))
    text = toml(value)
    if odd == 1:
        text = draw(st.one_of(st.text(max_size=10), st.sampled_from(["nan", "inf", "1\nx = 2", "'a'", "[1, 2]"])))
    return key + ("" if odd == 2 else draw(st.sampled_from(["=", " = "]))) + text


@settings(settings.get_profile(FUZZ))
@given(data=st.data(), which=st.sampled_from(CONFIGS))
def test_build_config(folder, data, which):
    cls, section = which
    text, entries, ambiguous = data.draw(documents(cls, section))
    sets = data.draw(st.lists(set_options(cls), max_size=2))
    path = write(folder, "config.toml", text.encode())
    given = {key.replace("-", "_"): value for key, value in entries}
    try:
        overrides = parse_sets(tuple(sets))
        given.update(overrides)
        cfg = build_config(cls, path, section, **overrides)
    except SeqlabError as exc:
        check_refusal(exc)
        return
    assert not ambiguous, f"read keys outside [{section}] without a word: {text!r}"
    assert not expected_refusal(cls, given), f"accepted {given}"
    check_config(cfg, cls, given)
    assert len(entries) == len({key.replace("-", "_") for key, _ in entries}), "two spellings of one key accepted"


@settings(settings.get_profile(FUZZ))
@given(data=hostile_bytes(), section=st.sampled_from([None, "seq2seq", "dqn"]))
def test_read_toml_bytes(folder, data, section):
    """Any bytes as the file: a dict or a ConfigError naming the file; then the config built from it."""
    path = write(folder, "bytes.toml", data)
    try:
        table = read_toml(path, section)
        assert isinstance(table, dict)
        load_rl_config(path)
    except SeqlabError as exc:
        check_refusal(exc, path)


@settings(settings.get_profile(FUZZ))
@given(sets=st.lists(st.text(max_size=30), max_size=4))
@example(sets=["path=x"])  # bug: build_config() got multiple values for argument 'path'
@example(sets=["section='dqn'"])
@example(sets=["lr=1\nepochs=2"])  # bug: epochs=2 was dropped silently
def test_parse_sets(sets):
    try:
        overrides = parse_sets(tuple(sets))
    except ConfigError as exc:
        check_refusal(exc)
        return
    assert len(overrides) <= len(sets)
    for name, value in overrides.items():
        assert name not in ("path", "section", "cls"), name
        assert not isinstance(value, float) or math.isfinite(value)
    try:
        build_config(DQNConfig, None, "dqn", **overrides)
    except ConfigError as exc:
        check_refusal(exc)


# ----------------------------------------------------------------------- bugs found, as plain tests
def test_keys_outside_the_pipeline_table_are_refused(folder):
    path = write(folder, "outside.toml", b"epochs = 3\n[seq2seq]\nlr = 0.1\n")  # epochs was ignored silently
    with pytest.raises(ConfigError, match=r"keys outside the \[seq2seq\] table: 'epochs'") as info:
        build_config(Seq2SeqConfig, path, "seq2seq")
    assert str(path) in str(info.value)


def test_a_key_spelt_twice_is_refused(folder):
    path = write(folder, "twice.toml", b"[dqn]\nbatch-size = 32\nbatch_size = 64\n")  # the last one won silently
    with pytest.raises(ConfigError, match="batch_size is set twice"):
        build_config(DQNConfig, path, "dqn")


def test_a_tuple_setting_takes_a_list_of_numbers(folder):
    path = write(folder, "lm.toml", b'cutoffs = [100, 2000.0]\n')
    assert build_config(LMConfig, path).cutoffs == (100, 2000)
    for bad in (b'cutoffs = "2000"\n', b"cutoffs = 5\n", b'cutoffs = [1, "x"]\n', b"cutoffs = [1.5]\n"):
        with pytest.raises(ConfigError, match="cutoffs"):  # all were accepted as they were
            build_config(LMConfig, write(folder, "lm.toml", bad))


def test_set_value_with_a_newline_is_one_value():
    assert parse_sets(("lr=1\nepochs=2",)) == {"lr": "1\nepochs=2"}  # was {"lr": 1}: epochs dropped silently
    with pytest.raises(ConfigError, match="lr must be a number"):
        build_config(DQNConfig, None, "dqn", **parse_sets(("lr=1\nepochs=2",)))


@pytest.mark.parametrize("args", [
    ["seq2seq", "train", "--set", "path=x"],  # TypeError: build_config() got multiple values for argument 'path'
    ["sentiment", "train", "--set", "section='x'"],
    ["rl", "train", "--config", str(ROOT / "configs" / "gridworld_qlearning.toml"), "--set", "cls=1"],
])
def test_set_of_a_parameter_name_is_one_line(args, tmp_path):
    result = CliRunner().invoke(main, [*args, "-o", str(tmp_path / "out")])
    assert result.exit_code == 2 and "Traceback" not in result.output, result.exception
    assert result.stderr.startswith("seqlab: error: --set ") and "is not a setting" in result.stderr
    assert result.stderr.count("\n") == 1 and not (tmp_path / "out").exists()


def test_rl_set_seed_overrides_the_seed(tmp_path):
    """``--set seed=N`` on ``rl train`` was a TypeError (seed given twice); now it is a setting like any other
    (episodes=0 makes the run stop at the config check, before any training)."""
    result = CliRunner().invoke(main, ["rl", "train", "--config", str(ROOT / "configs" / "gridworld_qlearning.toml"),
                                       "--set", "seed=3", "--set", "episodes=0", "-o", str(tmp_path / "out")])
    assert result.exit_code == 2 and "Traceback" not in result.output, result.exception
    assert result.stderr.count("\n") == 1 and "episodes and max_steps must be >= 1" in result.stderr
    cfg = load_rl_config(ROOT / "configs" / "gridworld_qlearning.toml", **{"seed": None, **parse_sets(("seed=3",))})
    assert cfg.seed == 3
