"""A trained model with its subword models: translate lines of text, save and load.

A model directory holds ``model.pt`` (weights, architecture, the run's settings and both
sentencepiece models; written atomically) and ``config.toml``. Lines are decoded in length-sorted
batches; a bad line (empty, too long, or with characters the model never saw) gets a message and
does not stop the others.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import torch

from seqlab.errors import ConfigError, DataError
from seqlab.io import incompatible_checkpoint, load_model_dir, save_model_dir
from seqlab.seq2seq.config import Seq2SeqConfig
from seqlab.seq2seq.ensemble import Ensemble
from seqlab.seq2seq.model import ModelConfig, Seq2Seq
from seqlab.seq2seq.search import SearchResult, translate_ids
from seqlab.text.padding import pad_ids
from seqlab.text.subword import BOS, Subword

MODEL_KIND = "seq2seq-model"
MODEL_FILE = "model.pt"


def model_state(model: Seq2Seq, cfg: Seq2SeqConfig, src_sp: Subword, tgt_sp: Subword,
                metrics: dict | None = None) -> dict:
    return {"kind": MODEL_KIND, "model": {k: v.detach().cpu() for k, v in model.state_dict().items()},
            "model_config": dataclasses.asdict(model.cfg), "config": dataclasses.asdict(cfg),
            "src_spm": src_sp.model_bytes, "tgt_spm": tgt_sp.model_bytes, "metrics": metrics or {}}


def save_model(path: str | os.PathLike, state: dict) -> Path:
    """Write a model state into directory ``path`` as model.pt, atomically."""
    return save_model_dir(path, state, MODEL_FILE)


@dataclass
class Translation:
    """One input line's result: the best output, its n-best list [(text, score)], or an error message."""

    text: str
    nbest: list[tuple[str, float]]
    error: str | None = None
    warning: str | None = None


class Translator:
    """``Translator.load(dir).translate(["3 may 1979"], beam=5)`` -> [Translation(...)]."""

    def __init__(self, model: Seq2Seq | Ensemble, cfg: Seq2SeqConfig, src_sp: Subword, tgt_sp: Subword,
                 device: torch.device, max_src_len: int | None = None) -> None:
        self.model, self.cfg, self.src_sp, self.tgt_sp, self.device = model.eval(), cfg, src_sp, tgt_sp, device
        self.max_src_len = max_src_len or 4 * cfg.max_len

    @classmethod
    def load(cls, path: str | os.PathLike, device: torch.device | str = "cpu") -> Translator:
        file, state = load_model_dir(path, MODEL_KIND, "seq2seq", MODEL_FILE)
        with incompatible_checkpoint(file, "seq2seq"):
            cfg = Seq2SeqConfig(**state["config"])
            model = Seq2Seq(ModelConfig(**state["model_config"]))
            model.load_state_dict(state["model"])
        device = torch.device(device)
        return cls(model.to(device), cfg, Subword(state["src_spm"]), Subword(state["tgt_spm"]), device)

    @classmethod
    def load_ensemble(cls, paths: Sequence[str | os.PathLike], device: torch.device | str = "cpu") -> Translator:
        """One model directory, or several decoded as an ensemble (their next-token distributions
        averaged; see :mod:`seqlab.seq2seq.ensemble`). The first model's decoding settings apply."""
        if not paths:
            raise ConfigError("no model directory given")
        first = cls.load(paths[0], device)
        if len(paths) == 1:
            return first
        members = [first.model]
        for path in paths[1:]:
            other = cls.load(path, device)
            if (other.src_sp.model_bytes, other.tgt_sp.model_bytes) != (first.src_sp.model_bytes,
                                                                        first.tgt_sp.model_bytes):
                raise ConfigError(f"{path}: its subword vocabularies differ from those of {paths[0]}; the models "
                                  f"of an ensemble must share them (same training data and subword settings)")
            members.append(other.model)
        return cls(Ensemble(members), first.cfg, first.src_sp, first.tgt_sp, first.device)

    def check(self, line: str) -> tuple[list[int] | None, str | None, str | None]:
        """(ids, error, warning) for one input line."""
        if not line.strip():
            return None, "empty line", None
        ids = self.src_sp.encode(line)
        if len(ids) > self.max_src_len:
            return None, f"too long ({len(ids)} subwords, at most {self.max_src_len})", None
        unknown = self.src_sp.unknown_characters(line)
        warning = f"unknown characters {''.join(unknown)!r} read as <unk>" if unknown else None
        return ids, None, warning

    @torch.no_grad()
    def translate(self, lines: Sequence[str], beam: int | None = None, alpha: float | None = None,
                  nbest: int = 1, batch_size: int = 64, penalty: str | None = None,
                  progress: Callable[[int], None] | None = None, beta: float | None = None) -> list[Translation]:
        beam = beam or self.cfg.beam
        alpha = self.cfg.alpha if alpha is None else alpha
        penalty = penalty or self.cfg.penalty
        beta = self.cfg.coverage_beta if beta is None else beta
        if beta < 0:
            raise ConfigError(f"the coverage penalty beta must be >= 0, got {beta}")
        checked = [self.check(line) for line in lines]
        results: list[Translation | None] = [None] * len(lines)
        good = [i for i, (ids, _, _) in enumerate(checked) if ids is not None]
        for i, (_, error, _) in enumerate(checked):
            if error:
                results[i] = Translation("", [], error=error)
        good.sort(key=lambda i: len(checked[i][0]))
        for start in range(0, len(good), batch_size):
            index = good[start:start + batch_size]
            src, lengths = pad_ids([checked[i][0] for i in index], self.device)
            found = self.search(src, lengths, beam, alpha, penalty, nbest, beta)
            for i, hyps in zip(index, found.nbest(), strict=True):
                texts = [(self.tgt_sp.decode(ids), score) for ids, score in hyps]
                results[i] = Translation(texts[0][0] if texts else "", texts, warning=checked[i][2])
            if progress:
                progress(len(index))
        return results  # type: ignore[return-value]

    def search(self, src: torch.Tensor, lengths: torch.Tensor, beam: int, alpha: float, penalty: str,
               nbest: int, beta: float = 0.0) -> SearchResult:
        return translate_ids(self.model, src, lengths, beam=beam, alpha=alpha, penalty=penalty, nbest=nbest,
                             max_len_ratio=self.cfg.max_len_ratio, max_len_offset=self.cfg.max_len_offset, beta=beta)

    @torch.no_grad()
    def attention(self, source: str, target: str) -> tuple[list[str], list[str], torch.Tensor]:
        """Source pieces, target pieces (with </s>) and the attention weights (T, S) of ``target``."""
        src_ids = self.src_sp.encode(source)
        tgt_ids = self.tgt_sp.encode(target)
        src = torch.tensor([src_ids], device=self.device)
        tgt_in = torch.tensor([[BOS, *tgt_ids]], device=self.device)
        _, weights = self.model(src, torch.tensor([len(src_ids)], device=self.device), tgt_in, return_attention=True)
        pieces = [self.tgt_sp.id_to_piece(i) for i in tgt_ids] + ["</s>"]
        return [self.src_sp.id_to_piece(i) for i in src_ids], pieces, weights[0].float().cpu()


def default_model_path() -> Path:
    """The small dates model shipped in ``data/dates_model`` (see data/README.md)."""
    import seqlab.data

    path = Path(seqlab.data.__file__).parent / "dates_model"
    if not (path / MODEL_FILE).exists():
        raise DataError(f"{path}: the default dates model is missing; train it with "
                        f"'seqlab seq2seq train --config configs/dates.toml -o {path}' or pass --model")
    return path
