"""Front doors (issue 24): every subpackage's ``__all__`` resolves, lazily; one focal loss; every model
load takes ``device="auto"``; ``seqlab debias --method`` reaches the library; the README's detection
example runs."""

from __future__ import annotations

import ast
import importlib
import importlib.util
import re
import subprocess
import sys
import types
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F

from seqlab.device import resolve_device
from seqlab.errors import ConfigError
from seqlab.lazy import lazy_exports

README = Path(__file__).resolve().parents[2] / "README.md"
PACKAGES = ["seqlab.seq2seq", "seqlab.metrics", "seqlab.vision", "seqlab.vision.architectures", "seqlab.sentiment",
            "seqlab.generative", "seqlab.rl", "seqlab.rnn", "seqlab.rnn.kernels"]
LAZY = ["seqlab.seq2seq", "seqlab.metrics", "seqlab.vision", "seqlab.sentiment", "seqlab.generative", "seqlab.rl"]


@pytest.mark.parametrize("name", PACKAGES)
def test_every_exported_name_resolves(name):
    package = importlib.import_module(name)
    assert package.__all__ and len(set(package.__all__)) == len(package.__all__)
    for attr in package.__all__:
        # in a lazy package, a public name equal to a submodule's would become the module once it is imported
        assert name not in LAZY or importlib.util.find_spec(f"{name}.{attr}") is None, attr
        assert not isinstance(getattr(package, attr), types.ModuleType) and attr in dir(package), attr
    scope: dict = {}
    exec(f"from {name} import *", scope)
    assert set(package.__all__) <= set(scope)


def test_front_doors_import_none_of_their_modules():
    code = ("import sys\nimport " + ", ".join(LAZY) + "\nprint('torch' in sys.modules)\nimport seqlab.vision.boxes\n"
            "print(sorted(m for m in sys.modules if m.startswith('seqlab')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    # no torch for the front doors; boxes needs seqlab.errors, and nothing else of seqlab.vision
    assert out.split("\n")[:2] == ["False", str(sorted(["seqlab", "seqlab.lazy", "seqlab.errors", "seqlab.vision.boxes",
                                                         *LAZY]))]


def test_unknown_names_submodules_and_clashes():
    import seqlab.rl

    with pytest.raises(AttributeError, match="'seqlab.rl' has no attribute 'nope'"):
        _ = seqlab.rl.nope
    assert seqlab.rl.gridworld.GridWorld is seqlab.rl.GridWorld  # a submodule is an attribute, as before
    with pytest.raises(ValueError, match="'x' is exported by both dqn and envs"):
        lazy_exports("seqlab.rl", {"dqn": ["x"], "envs": ["x"]})


@pytest.mark.parametrize("name", ["seqlab.losses", "seqlab.vision.losses", "seqlab.vision.boxes", "seqlab.vision.yolo",
                                  "seqlab.vision.shapes"])
def test_module_all_names_exist(name):
    module = importlib.import_module(name)
    assert module.__all__ and all(hasattr(module, attr) for attr in module.__all__)


def test_the_readme_vision_names_are_in_the_front_door():
    import seqlab.vision

    text = README.read_text().split("## Vision", 1)[1]
    names = {n.strip() for m in re.finditer(r"from seqlab\.vision(?:\.\w+)* import ([\w, ]+)", text)
             for n in m.group(1).split(",")}
    assert len(names) > 25 and names <= set(seqlab.vision.__all__), names - set(seqlab.vision.__all__)


@pytest.mark.usefixtures("one_thread")
def test_the_readme_detection_example_runs_and_finds_shapes():
    blocks = README.read_text().split("```python\n")[1:]
    (example,) = [b.split("```", 1)[0] for b in blocks if "make_shapes" in b.split("```", 1)[0]]
    ast.parse(example)
    torch.manual_seed(0)
    scope: dict = {}
    exec(example, scope)
    found, test = scope["found"], scope["test"]
    assert len(found) == len(test) == 64
    from seqlab.vision import box_iou

    hits = sum(int(((box_iou(b, d.boxes) > 0.5) & (y[:, None] == d.labels[None, :])).any(1).sum())
               for d, b, y in zip(found, test.boxes, test.labels, strict=True) if len(d.boxes))
    assert hits / sum(len(b) for b in test.boxes) > 0.5  # an untrained detector finds none


def test_one_focal_loss():
    import seqlab.vision
    from seqlab import losses
    from seqlab.sentiment.model import focal_loss as sentiment_focal_loss
    from seqlab.vision import losses as vision_losses

    assert vision_losses.focal_loss is losses.focal_loss is seqlab.vision.focal_loss
    assert vision_losses.binary_focal_loss is losses.binary_focal_loss and vision_losses.FocalLoss is losses.FocalLoss
    gen = torch.Generator().manual_seed(0)
    logits, target = torch.randn(12, 4, generator=gen, dtype=torch.float64), torch.randint(0, 4, (12,), generator=gen)
    weight = torch.rand(4, generator=gen, dtype=torch.float64) + 0.5
    # sentiment's argument order (weight fourth, float32) is the shared loss with weight=
    torch.testing.assert_close(sentiment_focal_loss(logits, target, 2.0, weight.float()),
                               losses.focal_loss(logits.float(), target, 2.0, weight=weight.float()))
    # weight= is F.cross_entropy's class weighting, in every shape and reduction
    dense, dense_target = torch.randn(2, 4, 3, generator=gen, dtype=torch.float64), torch.randint(0, 4, (2, 3))
    for reduction in ("mean", "sum", "none"):
        torch.testing.assert_close(losses.focal_loss(dense, dense_target, 0.0, reduction=reduction, weight=weight),
                                   F.cross_entropy(dense, dense_target, weight=weight, reduction=reduction))
    # alpha= is the paper's factor: the mean is over examples, not over the weights
    each = losses.focal_loss(logits, target, reduction="none")
    torch.testing.assert_close(losses.focal_loss(logits, target, alpha=weight), (each * weight[target]).mean())
    torch.testing.assert_close(losses.focal_loss(logits, target, weight=weight),
                               (each * weight[target]).sum() / weight[target].sum())
    with pytest.raises(ConfigError, match="reduction"):
        losses.focal_loss(logits, target, reduction="avg", weight=weight)


def _on(module: torch.nn.Module, device: torch.device) -> bool:
    return all(p.device.type == device.type for p in module.parameters())


def test_every_load_takes_auto(tmp_path):
    from seqlab.generative import GenerativeConfig
    from seqlab.generative import load_model as load_generative
    from seqlab.generative.models import build_model, model_state, save_model
    from seqlab.io import save_checkpoint
    from seqlab.rl import DQNConfig, load_dqn, train_rl
    from seqlab.sentiment import Classifier
    from seqlab.sentiment import default_model_path as default_sentiment_model
    from seqlab.seq2seq import Translator, default_model_path
    from seqlab.vision import VisionConfig
    from seqlab.vision import load_model as load_vision
    from seqlab.vision.train import model_state as vision_state

    auto = resolve_device("auto")
    translator = Translator.load(default_model_path(), "auto")
    assert translator.device == auto and _on(translator.model, auto)
    ensemble = Translator.load_ensemble([default_model_path()] * 2, device="auto")
    assert ensemble.device == auto and _on(ensemble.model, auto)
    classifier = Classifier.load(default_sentiment_model(), device="auto")
    assert classifier.device == auto and _on(classifier.model, auto)

    vision_cfg = VisionConfig(model="lenet5")
    (tmp_path / "vision").mkdir()
    save_checkpoint(vision_state(vision_cfg.build_model(), vision_cfg), tmp_path / "vision" / "model.safetensors")
    model, _ = load_vision(tmp_path / "vision", device="auto")
    assert _on(model, auto)

    generative_cfg = GenerativeConfig(model="vae")
    save_model(tmp_path / "vae", model_state(build_model(generative_cfg, (1, 8, 8)), generative_cfg, (1, 8, 8)))
    model, _, _ = load_generative(tmp_path / "vae", device="auto")
    assert _on(model, auto)

    train_rl(DQNConfig(total_steps=200, learning_starts=100, eval_every=100, eval_episodes=5, buffer_size=1000,
                       batch_size=16, hidden_size=16, epsilon_steps=100), tmp_path / "dqn", quiet=True)
    net, _ = load_dqn(tmp_path / "dqn", device="auto")
    assert _on(net, auto)


def test_the_debias_method_reaches_the_library():
    from seqlab.embeddings.debias import METHODS, debias_vectors, hard_debias
    from seqlab.embeddings.keyed_vectors import KeyedVectors
    from seqlab.embeddings.word_lists import GenderLists

    words = ["she", "he", "her", "his", "nurse", "doctor", "queen", "king"]
    kv = KeyedVectors(words, torch.randn(len(words), 8, generator=torch.Generator().manual_seed(0)))
    lists = GenderLists([("she", "he"), ("her", "his")], [("queen", "king")], ["she", "he", "her", "his"])
    assert METHODS == ("hard",)
    debiased, result = debias_vectors(kv, lists, "hard", n_components=2)
    expected, reference = hard_debias(kv, lists, n_components=2)
    torch.testing.assert_close(debiased.vectors, expected.vectors)
    assert result.neutralized == reference.neutralized
    with pytest.raises(ConfigError, match="debias method must be one of hard, got 'soft'"):
        debias_vectors(kv, lists, "soft")
