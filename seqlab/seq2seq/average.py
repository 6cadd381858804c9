"""Checkpoint averaging: one model whose every weight is the mean of N checkpoints' weights,

    theta = (1 / N) sum_k theta_k,

as fairseq's ``scripts/average_checkpoints.py`` and OpenNMT-py's ``tools/average_models.py`` do (sums in
float64, cast back to each tensor's type). Averaging the last checkpoints of one run (Vaswani et al. 2017,
sec. 6.1: the last 5 or 20; Junczys-Dowmunt et al. 2016) gives a model often a little better than each of
them, decoded at the cost of one model, unlike an ensemble (:mod:`seqlab.seq2seq.ensemble`), which
averages distributions and runs every member. The checkpoints must be of one model: the same
architecture and the same subword vocabularies (else a DataError naming the file). Models trained
apart, from other random starts, can be averaged too, but their mean is usually worthless: the units of
two runs are not in the same order.

The result keeps the first checkpoint's settings and subword models and is written like a training
run's model (``OUT/model.safetensors`` and ``OUT/config.toml``), so ``seqlab translate --model OUT`` reads
it. Inputs are model directories, model files, or training checkpoints (``last.safetensors``, whose
trained weights are used, not a moving average of them).
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch

from seqlab.device import resolve_device
from seqlab.errors import ConfigError, DataError
from seqlab.io import claim_output, incompatible_checkpoint, load_checkpoint, load_model_dir
from seqlab.seq2seq.config import Seq2SeqConfig
from seqlab.seq2seq.translate import MODEL_FILE, MODEL_KIND, save_model
from seqlab.text.subword import Subword


def read_model(path: str | os.PathLike) -> tuple[Path, dict[str, Any]]:
    """(file, model state) of a model directory, a model file or a training checkpoint; the state has the
    keys of a saved model (``model``, ``model_config``, ``config``, ``src_spm``, ``tgt_spm``)."""
    from seqlab.seq2seq.train import TRAIN_KIND  # here: the trainer averages its own epochs with this module

    p = Path(path)
    if p.is_dir():
        return load_model_dir(p, MODEL_KIND, "seq2seq", MODEL_FILE)
    state = load_checkpoint(p)
    kind = state.get("kind")
    if kind == MODEL_KIND:
        return p, state
    if kind != TRAIN_KIND:
        raise DataError(f"{p}: not a seq2seq model or training checkpoint (it holds a {kind!r} checkpoint)")
    with incompatible_checkpoint(p, "seq2seq"):
        cfg = Seq2SeqConfig(**state["config"])
        model_config = cfg.model_config(len(Subword(state["src_spm"])), len(Subword(state["tgt_spm"])))
        return p, {"kind": MODEL_KIND, "model": state["model"], "model_config": dataclasses.asdict(model_config),
                   "config": state["config"], "src_spm": state["src_spm"], "tgt_spm": state["tgt_spm"],
                   "metrics": {}}


def _check_same(first_file: Path, first: dict[str, Any], file: Path, state: dict[str, Any]) -> None:
    """DataError naming ``file`` unless its model can be averaged with the first one."""
    differ = [f"{key} {state['model_config'].get(key)!r} vs {value!r}"
              for key, value in first["model_config"].items() if state["model_config"].get(key) != value]
    if not differ:
        shapes = {k: tuple(v.shape) for k, v in first["model"].items()}
        if {k: tuple(v.shape) for k, v in state["model"].items()} != shapes:
            differ = ["other parameters"]
    if differ:
        raise DataError(f"{file}: a different architecture from {first_file} ({', '.join(differ)}); only "
                        "checkpoints of one model can be averaged")
    if (state["src_spm"], state["tgt_spm"]) != (first["src_spm"], first["tgt_spm"]):
        raise DataError(f"{file}: its subword vocabularies differ from those of {first_file}; only checkpoints "
                        "of one model (same data and subword settings) can be averaged")


def average_checkpoints(paths: Sequence[str | os.PathLike],
                        device: torch.device | str = "cpu") -> dict[str, Any]:
    """The model state (as :func:`~seqlab.seq2seq.translate.model_state` makes) whose floating-point tensors are
    the means of those of the checkpoints ``paths`` (summed in float64 on ``device``); other tensors, the
    settings and the subword models are the first checkpoint's. ``averaged_from`` lists the files."""
    if len(paths) < 2:
        raise ConfigError(f"averaging needs at least two checkpoints, got {len(paths)}")
    device = resolve_device(device)
    first_file, first = read_model(paths[0])
    sums = {k: v.to(device, torch.float64) for k, v in first["model"].items() if v.is_floating_point()}
    files = [first_file]
    for path in paths[1:]:
        file, state = read_model(path)
        _check_same(first_file, first, file, state)
        for key, total in sums.items():
            total += state["model"][key].to(device, torch.float64)
        files.append(file)
    averaged = {k: (sums[k] / len(files)).to(v.dtype).cpu() if k in sums else v for k, v in first["model"].items()}
    return {**first, "model": averaged, "metrics": {}, "averaged_from": [str(f) for f in files]}


def average_models(paths: Sequence[str | os.PathLike], output: str | os.PathLike,
                   device: torch.device | str = "cpu") -> dict[str, Any]:
    """Average the checkpoints ``paths`` (:func:`average_checkpoints`) into the model directory ``output``
    (``model.safetensors`` and ``config.toml``, each written atomically); returns a summary."""
    from seqlab.config import to_toml
    from seqlab.io import atomic_open

    with claim_output(output, directory=True) as out:
        state = average_checkpoints(paths, device)
        save_model(out, state)
        with atomic_open(out / "config.toml") as fh:
            fh.write(to_toml(Seq2SeqConfig(**state["config"]), "seq2seq"))
    return {"averaged": state["averaged_from"], "checkpoints": len(state["averaged_from"]),
            "parameters": sum(t.numel() for t in state["model"].values() if t.is_floating_point()),
            "model": str(out / MODEL_FILE)}
