"""Model and checkpoint files cannot run code: the safe format (seqlab.state_file) round-trips every
kind of state seqlab writes; seqlab 0.1 pickles load through torch's weights-only unpickler; and a
crafted pickle, planted where each command and each Python loader reads a model or checkpoint, is
refused in one line without its code ever running."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest
import torch
from click.testing import CliRunner

from seqlab.cli.main import main
from seqlab.errors import DataError
from seqlab.io import load_checkpoint, load_model_dir, save_checkpoint
from seqlab.state_file import FORMAT_VERSION, dump_state, read_header

ROOT = Path(__file__).resolve().parents[2]
DATES = ROOT / "data" / "dates_model"


class Plant:
    """Unpickling this makes the directory ``marker``: the proof that a loader ran the file's code."""

    def __init__(self, marker: Path) -> None:
        self.marker = str(marker)

    def __reduce__(self):
        return (os.mkdir, (self.marker,))


def plant(path: Path, marker: Path, kind: str = "seq2seq-model") -> Path:
    """A torch.save pickle at ``path`` whose loading (weights_only=False) would run code."""
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save({"kind": kind, "model": {"w": torch.zeros(2)}, "payload": Plant(marker)}, path)
    return path


# --- the format ------------------------------------------------------------------------------------
def test_every_kind_of_value_round_trips(tmp_path):
    emb = torch.nn.Embedding(5, 3)
    out = torch.nn.Linear(3, 5, bias=False)
    out.weight = emb.weight  # tied weights share memory, which safetensors alone refuses
    opt = torch.optim.Adam([emb.weight])
    out(emb(torch.tensor([1, 2]))).sum().backward()
    opt.step()
    words = [f"w{i}" for i in range(200)] + ["é", "\u2028", "", "tab\there"]
    state = {"kind": "k", "tied": {"emb": emb.weight, "out": out.weight}, "optimizer": opt.state_dict(),
             "counts": np.arange(7, dtype=np.int64), "spm": b"\x00\x01proto", "empty": b"", "words": words,
             "few": ["a", "b"], "tuple": (1, 2.5, None), "nan": float("nan"), "inf": -float("inf"),
             "int_keys": {3: "x", 1: "y"}, "dollar": {"$tensor": "not a tag"}, "rng": torch.get_rng_state(),
             "view": torch.arange(10)[2:5], "transposed": torch.randn(3, 4).T, "scalar": np.float64(1.5),
             "half": torch.randn(4).half(), "bf16": torch.randn(4).bfloat16(), "bools": torch.tensor([True, False])}
    save_checkpoint(state, tmp_path / "s.safetensors")
    back = load_checkpoint(tmp_path / "s.safetensors")
    assert torch.equal(back["tied"]["emb"], emb.weight.detach()) and torch.equal(back["tied"]["out"], out.weight)
    restored = torch.optim.Adam([torch.nn.Parameter(emb.weight.detach().clone())])
    restored.load_state_dict(back["optimizer"])  # int parameter ids and the betas tuple came back
    assert back["optimizer"]["param_groups"][0]["betas"] == (0.9, 0.999)
    assert torch.equal(back["optimizer"]["state"][0]["exp_avg"], opt.state_dict()["state"][0]["exp_avg"])
    assert isinstance(back["counts"], np.ndarray) and back["counts"].tolist() == list(range(7))
    assert back["spm"] == b"\x00\x01proto" and back["empty"] == b"" and back["words"] == words
    assert back["few"] == ["a", "b"] and back["tuple"] == (1, 2.5, None)
    assert np.isnan(back["nan"]) and back["inf"] == -float("inf")
    assert back["int_keys"] == {3: "x", 1: "y"} and back["dollar"] == {"$tensor": "not a tag"}
    assert torch.equal(back["rng"], state["rng"]) and back["view"].tolist() == [2, 3, 4]
    assert torch.equal(back["transposed"], state["transposed"]) and back["scalar"] == 1.5
    for name in ("half", "bf16", "bools"):
        assert back[name].dtype == state[name].dtype and torch.equal(back[name], state[name])
    torch.set_rng_state(back["rng"])  # a restored generator state is usable


def test_the_header_records_format_version_kind_and_seqlab_version(tmp_path):
    from safetensors.torch import load_file

    from seqlab import __version__

    save_checkpoint({"kind": "seq2seq-model", "model": {"enc.weight": torch.ones(2, 2)}}, tmp_path / "m.safetensors")
    meta = read_header(tmp_path / "m.safetensors")
    assert (meta["format"], meta["format_version"], meta["kind"], meta["seqlab_version"]) == (
        "seqlab", str(FORMAT_VERSION), "seq2seq-model", __version__)
    # any safetensors reader sees the weights under their state-dict names
    assert torch.equal(load_file(tmp_path / "m.safetensors")["model/enc.weight"], torch.ones(2, 2))


def test_newer_foreign_and_damaged_files_are_refused_in_one_line(tmp_path):
    from safetensors.torch import save_file

    newer = tmp_path / "newer.safetensors"
    newer.write_bytes(dump_state({"kind": "k"}))
    data = newer.read_bytes().replace(b'"format_version":"1"', b'"format_version":"9"')
    newer.write_bytes(data)
    with pytest.raises(DataError, match=r"newer\.safetensors: written by a newer seqlab .*format 9.*upgrade seqlab"):
        load_checkpoint(newer)
    save_file({"w": torch.zeros(2)}, tmp_path / "foreign.safetensors")
    with pytest.raises(DataError, match="foreign.safetensors: a safetensors file that seqlab did not write"):
        load_checkpoint(tmp_path / "foreign.safetensors")
    meta = {"format": "seqlab", "format_version": "1", "kind": "k"}
    for skeleton, why in [({"kind": "k", "w": {"$tensor": "x"}}, "tensor 'x'"), ({"$eval": "1"}, "entry '.eval'"),
                          ({"$dict": [[[1], 2]]}, "dict key"), ([1, 2], "holds no state")]:
        bad = {**meta, "seqlab": json.dumps(skeleton)}
        save_file({"w": torch.zeros(3)}, tmp_path / "bad.safetensors", metadata=bad)
        with pytest.raises(DataError, match=f"bad.safetensors: a damaged seqlab file .*{why}"):
            load_checkpoint(tmp_path / "bad.safetensors")
    save_file({"w": torch.zeros(3)}, tmp_path / "bad.safetensors", metadata={**meta, "seqlab": "[" * 100_000})
    with pytest.raises(DataError, match="bad.safetensors: a damaged seqlab file"):
        load_checkpoint(tmp_path / "bad.safetensors")
    whole = dump_state({"kind": "k", "w": torch.zeros(1000)})
    (tmp_path / "cut.safetensors").write_bytes(whole[: len(whole) - 100])
    with pytest.raises(DataError, match="cut.safetensors: not a readable seqlab file"):
        load_checkpoint(tmp_path / "cut.safetensors")
    (tmp_path / "junk").write_bytes(b"\x00" * 64)
    with pytest.raises(DataError, match="junk: not a seqlab model or checkpoint"):
        load_checkpoint(tmp_path / "junk")
    save_checkpoint({"kind": "vision-model"}, tmp_path / "v.safetensors")
    with pytest.raises(DataError, match="not a seq2seq model .*'vision-model'"):
        load_model_dir(tmp_path / "v.safetensors", "seq2seq-model", "seq2seq")


# --- seqlab 0.1 files ------------------------------------------------------------------------------
def test_a_seqlab_01_model_directory_still_loads(tmp_path):
    """0.1 wrote ``torch.save(state)`` as model.pt: it loads with weights_only (numpy arrays allowed)."""
    from seqlab.seq2seq.translate import Translator

    state = load_checkpoint(DATES / "model.safetensors")
    (tmp_path / "old").mkdir()
    torch.save({**state, "counts": np.arange(3)}, tmp_path / "old" / "model.pt")
    old = Translator.load(tmp_path / "old")
    assert old.translate(["3 may 1979"], beam=1)[0].text == "1979-05-03"
    result = CliRunner().invoke(main, ["translate", "--model", str(tmp_path / "old"), "--beam", "1"],
                                input="3 may 1979\n")
    assert result.exit_code == 0 and result.output.strip() == "1979-05-03"


def test_convert_turns_a_trusted_pickle_into_the_safe_format(tmp_path):
    marker = tmp_path / "ran"
    state = load_checkpoint(DATES / "model.safetensors")
    (tmp_path / "m").mkdir()
    torch.save({**state, "extra": Plant(marker)}, tmp_path / "m" / "model.pt")  # needs the unsafe path
    result = CliRunner().invoke(main, ["translate", "--model", str(tmp_path / "m")], input="3 may 1979\n")
    assert result.exit_code == 2 and "seqlab convert" in result.output and not marker.exists()
    result = CliRunner().invoke(main, ["convert", str(tmp_path / "m")])
    assert result.exit_code == 0 and "model.safetensors" in result.output
    assert marker.exists()  # convert is the one place that unpickles, for files the user trusts
    marker.rmdir()
    result = CliRunner().invoke(main, ["translate", "--model", str(tmp_path / "m")], input="3 may 1979\n")
    assert result.exit_code == 0 and result.output.strip() == "1979-05-03" and not marker.exists()
    torch.save({"kind": "seqlab.word2vec", "w": np.zeros(2)}, tmp_path / "x.ckpt")
    result = CliRunner().invoke(main, ["convert", str(tmp_path / "x.ckpt")])
    assert result.exit_code == 0 and (tmp_path / "x.ckpt.pickle").exists()
    assert load_checkpoint(tmp_path / "x.ckpt")["w"].tolist() == [0.0, 0.0]
    assert CliRunner().invoke(main, ["convert", str(tmp_path / "x.ckpt")]).exit_code == 2  # already converted


def test_the_unpickler_refuses_what_the_static_scan_would_miss(tmp_path, monkeypatch):
    """Defence in depth: even if the opcode scan saw nothing, torch's weights-only unpickler refuses."""
    marker = tmp_path / "ran"
    path = plant(tmp_path / "model.pt", marker)
    monkeypatch.setattr(torch.serialization, "get_unsafe_globals_in_checkpoint", lambda f: [])
    with pytest.raises(DataError, match="could run code.*seqlab convert"):
        load_checkpoint(path)
    assert not marker.exists()


# --- every loader refuses a planted file -----------------------------------------------------------
@pytest.fixture(scope="module")
def inputs(tmp_path_factory):
    root = tmp_path_factory.mktemp("inputs")
    words = "the cat sat on the mat and the dog sat on the log".split()
    (root / "corpus.txt").write_text("\n".join(" ".join(words[i:] + words[:i]) for i in range(12)) + "\n")
    (root / "src.txt").write_text("3 may 1979\n")
    (root / "ref.txt").write_text("1979-05-03\n")
    (root / "sst.txt").write_text("".join(f"{i % 2} {'good' if i % 2 else 'bad'} film\n" for i in range(40)))
    return root


def _cases(root: Path, out: Path) -> dict[str, tuple[list[str], Path, str]]:
    """name -> (command line, the file it reads, the kind planted there)."""
    corpus, sst = str(root / "corpus.txt"), str(root / "sst.txt")
    sentiment = ["--set", f"train='{sst}'", "--set", f"dev='{sst}'", "--set", "test=''", "--set", "num_classes=2",
                 "--vectors", "", "--epochs", "1", "--device", "cpu", "--quiet"]
    return {
        "translate --model": (["translate", "--model", str(out)], out / "model.pt", "seq2seq-model"),
        "translate --rerank": (["translate", "--rerank", str(out)], out / "model.pt", "seq2seq-model"),
        "seq2seq eval": (["seq2seq", "eval", "--model", str(out), "--src", str(root / "src.txt"), "--ref",
                          str(root / "ref.txt")], out / "model.safetensors", "seq2seq-model"),
        "seq2seq analyze": (["seq2seq", "analyze", "--model", str(out), "--src", str(root / "src.txt"), "--ref",
                             str(root / "ref.txt")], out / "model.pt", "seq2seq-model"),
        "sentiment predict": (["sentiment", "predict", str(out), "good"], out / "model.pt", "sentiment-model"),
        "sentiment eval": (["sentiment", "eval", str(out), sst], out / "model.safetensors", "sentiment-model"),
        "sentiment --encoder": (["sentiment", "train", "-o", str(out / "run"), "--model", "rnn", "--encoder", str(out),
                                 *sentiment], out / "encoder.pt", "sentiment-encoder"),
        "generative sample": (["generative", "sample", str(out), "-o", str(out / "g.png")], out / "model.pt",
                              "generative-model"),
        "generative eval": (["generative", "eval", str(out)], out / "model.pt", "generative-model"),
        "rl eval": (["rl", "eval", str(out)], out / "model.pt", "rl-dqn"),
        "glove --cooc": (["glove", "train", corpus, "-o", str(out / "g.txt"), "--min-count", "1", "--cooc",
                          str(out / "c.cooc"), "--quiet"], out / "c.cooc", "seqlab.cooccurrence"),
        "embed --resume": (["embed", "train", corpus, "-o", str(out / "v.txt"), "--min-count", "1", "--resume",
                            "--quiet"], out / "v.txt.ckpt", "seqlab.word2vec"),
        "glove --resume": (["glove", "train", corpus, "-o", str(out / "g.txt"), "--min-count", "1", "--resume",
                            "--quiet"], out / "g.txt.ckpt", "seqlab.glove"),
        "seq2seq --resume": (["seq2seq", "train", "--config", str(ROOT / "configs" / "dates.toml"), "-o", str(out),
                              "--resume", "--quiet", "--device", "cpu"], out / "last.pt", "seq2seq-train"),
        "sentiment --resume": (["sentiment", "train", "-o", str(out), "--resume", *sentiment], out / "last.pt",
                               "sentiment-train"),
        "vision --resume": (["vision", "train", "--config", str(ROOT / "configs" / "digits_lenet.toml"), "-o",
                             str(out), "--resume", "--quiet", "--device", "cpu"], out / "last.safetensors",
                            "vision-train"),
        "generative --resume": (["generative", "train", "--config", str(ROOT / "configs" / "digits_vae.toml"), "-o",
                                 str(out), "--resume", "--quiet", "--device", "cpu"], out / "last.pt",
                                "generative-train"),
        "vision style --vgg-weights": (["vision", "style", "-o", str(out / "s.png"), "--vgg-weights",
                                        str(out / "vgg.pth"), "--steps", "1", "--size", "16"], out / "vgg.pth", ""),
    }


CASES = list(_cases(Path("r"), Path("o")))


@pytest.mark.parametrize("case", CASES)
def test_every_command_refuses_a_planted_pickle_without_running_it(case, inputs, tmp_path, one_thread):
    out, marker = tmp_path / "out", tmp_path / "code-ran"
    args, file, kind = _cases(inputs, out)[case]
    plant(file, marker, kind)
    result = CliRunner().invoke(main, args, input="3 may 1979\n")
    assert result.exit_code == 2, result.output
    message = result.output.strip().splitlines()[-1]
    assert message.startswith("seqlab: error: ") and str(file.name) in message, result.output
    assert "Traceback" not in result.output and not marker.exists()


def test_a_pickle_under_the_new_name_is_refused_too(tmp_path):
    marker = tmp_path / "ran"
    plant(tmp_path / "m" / "model.safetensors", marker)
    result = CliRunner().invoke(main, ["translate", "--model", str(tmp_path / "m")], input="x\n")
    assert result.exit_code == 2 and "could run code" in result.output and not marker.exists()


def test_every_python_loader_refuses_a_planted_pickle(tmp_path):
    from seqlab.embeddings.cooccurrence import Cooccurrence
    from seqlab.generative.models import load_model as load_generative
    from seqlab.rl.train import load_dqn
    from seqlab.sentiment.lm import load_encoder
    from seqlab.sentiment.predict import Classifier
    from seqlab.seq2seq.translate import Translator
    from seqlab.training import load_training_state
    from seqlab.vision.train import load_model as load_vision

    marker = tmp_path / "ran"
    loaders = [  # (loader, the file planted, whether the loader is given the file or its directory)
        (Translator.load, "model.pt", False), (Classifier.load, "model.pt", False), (load_encoder, "encoder.pt", False),
        (load_generative, "model.pt", False), (load_vision, "model.pt", False), (load_dqn, "model.pt", False),
        (Cooccurrence.load, "x.cooc", True), (load_checkpoint, "last.safetensors", True),
        (lambda p: load_training_state(p / "last.safetensors", "k", "k"), "last.pt", False)]
    for i, (load, name, give_file) in enumerate(loaders):
        directory = tmp_path / str(i)
        plant(directory / name, marker)
        with pytest.raises(DataError, match="could run code"):
            load(directory / name if give_file else directory)
        assert not marker.exists(), load


def test_native_vectors_with_a_pickled_array_are_refused(tmp_path):
    from seqlab.embeddings.keyed_vectors import KeyedVectors

    marker = tmp_path / "ran"
    KeyedVectors(["a", "b"], np.eye(2, dtype=np.float32)).save(tmp_path / "v")
    np.save(tmp_path / "v" / "vectors.npy", np.array([[Plant(marker), 1.0]], dtype=object), allow_pickle=True)
    with pytest.raises(DataError):
        KeyedVectors.load(tmp_path / "v")
    assert not marker.exists()


def test_pretraining_resume_refuses_a_planted_checkpoint(tmp_path):
    from seqlab.embeddings.keyed_vectors import KeyedVectors
    from seqlab.sentiment.lm import LMConfig, pretrain_encoder

    marker = tmp_path / "ran"
    (tmp_path / "c.txt").write_text("the cat sat on the mat\n" * 50)
    KeyedVectors(["the", "cat", "sat", "on", "mat"], np.eye(5, dtype=np.float32)).save(tmp_path / "v.txt")
    plant(tmp_path / "enc" / "last.pt", marker, "sentiment-lm-train")
    with pytest.raises(DataError, match="last.pt: .*could run code"):
        pretrain_encoder(tmp_path / "c.txt", str(tmp_path / "v.txt"), tmp_path / "enc",
                         LMConfig(tokens=200, hidden_size=4, min_len=2), device="cpu", resume=True, quiet=True)
    assert not marker.exists()
