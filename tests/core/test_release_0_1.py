"""Files of the previous release, seqlab 0.1 (commit 464d2f7), still load and give that release's outputs.

tests/fixtures/release_0_1 holds, for every pipeline, a tiny model directory (``model.pt``, a torch.save
pickle, and a flat ``config.toml``), word2vec and GloVe vectors in the three formats with their flat
configs, and the release's TOML presets, all written by the old code (``make_fixtures.py`` there says how to
make them again); ``expected.json`` is what the old code gave for fixed inputs. Each test loads a file with
the current code, through Python and through the command that uses it, and compares: texts, labels and
neighbours exactly, numbers within 1e-5 (the same torch computes them). Nothing here writes into the
fixtures folder: a command that writes beside its input gets a copy in ``tmp_path``.
"""

from __future__ import annotations

import dataclasses
import json
import shutil
import tomllib
from pathlib import Path

import numpy as np
import pytest
import torch
from click.testing import CliRunner, Result

from seqlab.cli.main import main
from seqlab.config import build_config

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "tests" / "fixtures" / "release_0_1"
EXPECTED = json.loads((FIXTURES / "expected.json").read_text(encoding="utf-8"))
TOLERANCE = 1e-5


# --- helpers ----------------------------------------------------------------------------------------

def close(actual, expected) -> None:
    """Numbers (nested lists or tensors) equal to the recorded ones within TOLERANCE."""
    actual = actual.detach().cpu().double().numpy() if isinstance(actual, torch.Tensor) else np.asarray(actual)
    np.testing.assert_allclose(actual, np.asarray(expected, dtype=np.float64), rtol=TOLERANCE, atol=TOLERANCE)


def same_settings(cfg, recorded: dict) -> None:
    """The config object holds every setting 0.1 recorded, with the same value, and any setting added since
    at its default (so it behaves as the old one did)."""
    now = dataclasses.asdict(cfg)
    assert {key: now.get(key, "<missing>") for key in recorded} == recorded
    defaults = dataclasses.asdict(type(cfg)())
    assert {k: v for k, v in now.items() if k not in recorded} == {k: defaults[k] for k in now if k not in recorded}


def cli(*args, stdin: str | None = None) -> Result:
    """``seqlab ARGS...`` through Click's test runner; a failure shows its output and traceback."""
    result = CliRunner().invoke(main, [str(a) for a in args], input=stdin)
    assert result.exit_code == 0, (result.stdout, result.stderr, result.exception)
    return result


def json_lines(result: Result) -> list:
    return [json.loads(line) for line in result.stdout.splitlines() if line.strip()]


def snapshot() -> dict[str, tuple[int, int]]:
    return {str(p.relative_to(FIXTURES)): (p.stat().st_size, p.stat().st_mtime_ns)
            for p in sorted(FIXTURES.rglob("*")) if "__pycache__" not in p.parts}


@pytest.fixture(autouse=True)
def fixtures_untouched():
    """No test (and nothing it loads) writes, converts or locks anything in the fixtures folder."""
    before = snapshot()
    yield
    assert snapshot() == before


@pytest.fixture
def copy_of(tmp_path):
    """copy_of(name): a copy of a fixture directory in tmp_path, for commands that write beside their input."""
    def make(name: str) -> Path:
        return Path(shutil.copytree(FIXTURES / name, tmp_path / name))
    return make


def test_the_fixtures_are_the_old_release_files():
    assert EXPECTED["release"] == "464d2f7"
    dirs = [EXPECTED[k]["dir"] for k in ("seq2seq", "sentiment_nbow", "sentiment_bilstm", "vision",
                                         "generative_vae", "generative_ae", "generative_gan", "rl_dqn",
                                         "rl_qlearning")]
    for name in dirs:
        assert sorted(p.name for p in (FIXTURES / name).iterdir()) == ["config.toml", "model.pt"], name
    assert (FIXTURES / "seq2seq_dates" / "model.pt").read_bytes()[:2] == b"PK"  # a torch.save zip, not safetensors


# --- seq2seq ------------------------------------------------------------------------------------------

SEQ2SEQ = EXPECTED["seq2seq"]


def same_translations(results, recorded: list[dict]) -> None:
    assert [(r.text, r.error) for r in results] == [(e["text"], e["error"]) for e in recorded]
    assert [[t for t, _ in r.nbest] for r in results] == [[t for t, _ in e["nbest"]] for e in recorded]
    close([[s for _, s in r.nbest] for r in results], [[s for _, s in e["nbest"]] for e in recorded])


def test_seq2seq_model_loads_and_translates():
    from seqlab.seq2seq.translate import Translator

    translator = Translator.load(FIXTURES / SEQ2SEQ["dir"], device="cpu")
    same_settings(translator.cfg, SEQ2SEQ["config"])
    same_translations(translator.translate(SEQ2SEQ["inputs"], beam=1), SEQ2SEQ["beam1"])
    same_translations(translator.translate(SEQ2SEQ["inputs"], beam=3, nbest=2), SEQ2SEQ["beam3_nbest2"])
    sources, targets = zip(*SEQ2SEQ["pairs"], strict=True)
    close(translator.log_probs(list(sources), list(targets)), SEQ2SEQ["log_probs"])


def test_seq2seq_translate_command():
    model, lines = FIXTURES / SEQ2SEQ["dir"], "".join(f"{line}\n" for line in SEQ2SEQ["inputs"])
    plain = cli("translate", "--model", model, "--beam", 1, "--device", "cpu", stdin=lines)
    assert plain.stdout.splitlines() == [e["text"] for e in SEQ2SEQ["beam1"]]
    rows = json_lines(cli("translate", "--model", model, "--beam", 3, "--nbest", 2, "--json", stdin=lines))
    assert [r["source"] for r in rows] == SEQ2SEQ["inputs"]
    recorded = SEQ2SEQ["beam3_nbest2"]
    assert [[h["text"] for h in r["nbest"]] for r in rows] == [[t for t, _ in e["nbest"]] for e in recorded]
    close([[h["score"] for h in r["nbest"]] for r in rows], [[s for _, s in e["nbest"]] for e in recorded])


def test_seq2seq_flat_config_file():
    from seqlab.seq2seq.config import Seq2SeqConfig

    same_settings(build_config(Seq2SeqConfig, FIXTURES / SEQ2SEQ["dir"] / "config.toml", "seq2seq"),
                  SEQ2SEQ["config"])


# --- sentiment ----------------------------------------------------------------------------------------

SENTIMENT = ["sentiment_nbow", "sentiment_bilstm"]


@pytest.mark.parametrize("name", SENTIMENT)
def test_sentiment_model_loads_and_predicts(name):
    from seqlab.sentiment import Classifier

    expected = EXPECTED[name]
    classifier = Classifier.load(FIXTURES / expected["dir"], device="cpu")
    same_settings(classifier.cfg, expected["config"])
    predictions = classifier.predict(expected["inputs"])
    recorded = expected["predictions"]
    assert [(p.text, p.label, p.warning) for p in predictions] == [(e["text"], e["label"], e["warning"])
                                                                    for e in recorded]
    assert [list(p.probabilities) for p in predictions] == [list(e["probabilities"]) for e in recorded]
    close([list(p.probabilities.values()) for p in predictions], [list(e["probabilities"].values())
                                                                   for e in recorded])


@pytest.mark.parametrize("name", SENTIMENT)
def test_sentiment_predict_command(name):
    expected = EXPECTED[name]
    rows = json_lines(cli("sentiment", "predict", FIXTURES / expected["dir"], *expected["inputs"], "--json",
                          "--device", "cpu"))
    recorded = expected["predictions"]
    assert [(r["text"], r["label"]) for r in rows] == [(e["text"], e["label"]) for e in recorded]
    close([list(r["probabilities"].values()) for r in rows], [list(e["probabilities"].values()) for e in recorded])


@pytest.mark.parametrize("name", SENTIMENT)
def test_sentiment_flat_config_file(name):
    from seqlab.sentiment import SentimentConfig

    expected = EXPECTED[name]
    same_settings(build_config(SentimentConfig, FIXTURES / expected["dir"] / "config.toml", "sentiment"),
                  expected["config"])


# --- vision -------------------------------------------------------------------------------------------

VISION = EXPECTED["vision"]


def vision_outputs(directory: Path) -> torch.Tensor:
    from seqlab.vision.train import load_model

    model, cfg = load_model(directory, device="cpu")
    same_settings(cfg, VISION["config"])
    with torch.no_grad():
        return model(torch.from_numpy(np.load(FIXTURES / VISION["inputs"])))


def test_vision_model_loads_and_classifies():
    logits = vision_outputs(FIXTURES / VISION["dir"])
    close(logits, VISION["logits"])
    assert logits.argmax(1).tolist() == VISION["classes"]
    close(torch.softmax(logits, 1), VISION["probabilities"])


def test_vision_inputs_are_still_the_first_test_digits():
    from seqlab.vision.data import load_digits_splits

    cfg = VISION["config"]
    split = load_digits_splits(cfg["image_size"], cfg["in_channels"], cfg["test_fraction"], cfg["valid_fraction"],
                               cfg["seed"])
    close(split.test.images[:5], np.load(FIXTURES / VISION["inputs"]))


def test_vision_model_converts_and_gives_the_same_logits(copy_of):
    directory = copy_of(VISION["dir"])
    cli("convert", directory)
    assert (directory / "model.safetensors").exists()
    (directory / "model.pt").unlink()  # the converted file alone
    close(vision_outputs(directory), VISION["logits"])


def test_vision_flat_config_file():
    from seqlab.vision.train import VisionConfig

    same_settings(build_config(VisionConfig, FIXTURES / VISION["dir"] / "config.toml", "vision"), VISION["config"])


# --- generative ---------------------------------------------------------------------------------------

GENERATIVE = ["generative_vae", "generative_ae", "generative_gan"]


def same_samples(images: torch.Tensor | np.ndarray, recorded: dict) -> None:
    images = torch.as_tensor(images)
    assert list(images.shape) == recorded["shape"]
    close(images.flatten()[:8], recorded["first"])
    close(images.double().sum(), recorded["sum"])
    close(images.double().square().sum(), recorded["sum_squares"])


def digits_input() -> torch.Tensor:
    from sklearn.datasets import load_digits

    return torch.from_numpy(load_digits().images[:3].astype(np.float32) / 16.0).unsqueeze(1)


@pytest.mark.parametrize("name", GENERATIVE)
def test_generative_model_loads_samples_and_reconstructs(name):
    from seqlab.device import make_generator
    from seqlab.generative.models import load_model, sample_images

    expected = EXPECTED[name]
    model, cfg, state = load_model(FIXTURES / expected["dir"], device="cpu")
    same_settings(cfg, expected["config"])
    assert list(state["shape"]) == expected["shape"]
    samples = expected["samples"]
    same_samples(sample_images(model, samples["n"], tuple(state["shape"]),
                               make_generator(samples["seed"], torch.device("cpu")), state.get("codes")), samples)
    with torch.no_grad():
        x = digits_input()
        output = model.discriminator(x) if expected["output"]["method"] == "discriminator" else model(x)
    assert list(output.shape) == expected["output"]["shape"]
    close(output.flatten()[:8], expected["output"]["first"])
    close(output.double().sum(), expected["output"]["sum"])


@pytest.mark.parametrize("name", GENERATIVE)
def test_generative_sample_command(name, tmp_path):
    expected = EXPECTED[name]
    samples = expected["samples"]
    cli("generative", "sample", FIXTURES / expected["dir"], "-n", samples["n"], "--seed", samples["seed"],
        "-o", tmp_path / "samples.npy", "--device", "cpu")
    same_samples(np.load(tmp_path / "samples.npy"), samples)


@pytest.mark.parametrize("name", GENERATIVE)
def test_generative_flat_config_file(name):
    from seqlab.generative import GenerativeConfig

    expected = EXPECTED[name]
    same_settings(build_config(GenerativeConfig, FIXTURES / expected["dir"] / "config.toml", "generative"),
                  expected["config"])


# --- rl -----------------------------------------------------------------------------------------------

DQN, QLEARNING = EXPECTED["rl_dqn"], EXPECTED["rl_qlearning"]


def test_dqn_model_loads_and_gives_the_q_values():
    from seqlab.rl.dqn import evaluate_policy
    from seqlab.rl.train import load_dqn

    net, cfg = load_dqn(FIXTURES / DQN["dir"], device="cpu")
    same_settings(cfg, DQN["config"])
    with torch.no_grad():
        close(net(torch.tensor(DQN["observations"])), DQN["q_values"])
    returns = evaluate_policy(net, cfg, DQN["eval"]["episodes"], DQN["eval"]["seed"], "cpu")
    assert (float(returns.mean()), float(returns.min())) == (DQN["eval"]["mean_return"], DQN["eval"]["min_return"])


def test_rl_eval_command():
    [result] = json_lines(cli("rl", "eval", FIXTURES / DQN["dir"], "--episodes", DQN["eval"]["episodes"],
                              "--seed", DQN["eval"]["seed"], "--json", "--device", "cpu"))
    assert (result["mean_return"], result["min_return"]) == (DQN["eval"]["mean_return"], DQN["eval"]["min_return"])


def test_qlearning_model_file_loads():
    from seqlab.io import load_checkpoint

    state = load_checkpoint(FIXTURES / QLEARNING["dir"] / "model.pt")
    assert state["kind"] == "rl-qlearning"
    close(state["q"], QLEARNING["q"])
    assert torch.as_tensor(state["q"]).argmax(1).tolist() == QLEARNING["policy"]


@pytest.mark.parametrize("which", [DQN, QLEARNING], ids=["dqn", "qlearning"])
def test_rl_flat_config_file(which):
    from seqlab.rl.train import load_rl_config

    same_settings(load_rl_config(FIXTURES / which["dir"] / "config.toml"), which["config"])


# --- word2vec and GloVe vectors -------------------------------------------------------------------------

VECTORS = [(kind, name) for kind in ("word2vec", "glove") for name in EXPECTED["vectors"][kind]["files"]]


def config_beside(path: Path) -> Path:
    return path / "config.toml" if path.is_dir() else path.with_name(path.name + ".toml")


@pytest.mark.parametrize(("kind", "name"), VECTORS)
def test_vectors_load_and_give_the_neighbours(kind, name):
    from seqlab.embeddings.keyed_vectors import KeyedVectors

    expected = EXPECTED["vectors"][kind]["files"][name]
    kv = KeyedVectors.load(FIXTURES / "vectors" / name)
    assert (len(kv), kv.vector_size, list(kv.words[:10])) == (expected["len"], expected["dim"],
                                                                expected["first_words"])
    if expected["counts"] is not None:
        assert kv.counts[:10].tolist() == expected["counts"]
    for word, neighbours in expected["similar"].items():
        found = kv.similar_by_word(word, topn=5)
        assert [w for w, _ in found] == [w for w, _ in neighbours]
        close([s for _, s in found], [s for _, s in neighbours])
    for word, vector in expected["vectors"].items():
        close(np.asarray(kv[word]), vector)


@pytest.mark.parametrize(("kind", "name"), VECTORS)
def test_similar_command(kind, name):
    expected = EXPECTED["vectors"][kind]["files"][name]
    for word, neighbours in expected["similar"].items():
        [found] = json_lines(cli("similar", word, "--vectors", FIXTURES / "vectors" / name, "-n", 5, "--json",
                                 "--device", "cpu"))
        assert [n["word"] for n in found] == [w for w, _ in neighbours]
        close([n["score"] for n in found], [s for _, s in neighbours])


@pytest.mark.parametrize(("kind", "name"), VECTORS)
def test_vectors_flat_config_file(kind, name):
    from seqlab.embeddings.glove import GloveConfig
    from seqlab.embeddings.word2vec import Word2VecConfig

    cls = {"word2vec": Word2VecConfig, "glove": GloveConfig}[kind]
    same_settings(build_config(cls, config_beside(FIXTURES / "vectors" / name), kind),
                  EXPECTED["vectors"][kind]["config"])


# --- the presets of 0.1 ---------------------------------------------------------------------------------

def preset_config(path: Path):
    """The config that ``path`` describes, read as the command that takes it would read it."""
    from seqlab.embeddings.glove import GloveConfig
    from seqlab.embeddings.word2vec import Word2VecConfig
    from seqlab.generative import GenerativeConfig
    from seqlab.rl.train import load_rl_config
    from seqlab.sentiment import SentimentConfig
    from seqlab.seq2seq.config import Seq2SeqConfig
    from seqlab.vision.train import VisionConfig

    classes = {"seq2seq": Seq2SeqConfig, "sentiment": SentimentConfig, "word2vec": Word2VecConfig,
               "glove": GloveConfig, "vision": VisionConfig, "generative": GenerativeConfig}
    with open(FIXTURES / "configs" / path.name, "rb") as fh:  # the old file names its pipeline's table
        [section] = tomllib.load(fh)
    if section in ("dqn", "qlearning"):
        return load_rl_config(path)
    return build_config(classes[section], path, section)


@pytest.mark.parametrize("name", EXPECTED["presets"])
def test_old_preset_reads_as_the_current_one(name):
    old = preset_config(FIXTURES / "configs" / name)
    assert old == preset_config(ROOT / "configs" / name)
