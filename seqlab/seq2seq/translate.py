"""A trained model with its subword models: translate lines of text, save and load.

N-best reranking (``set_rerankers``): the beam's ``beam`` final hypotheses of each line are scored
again by other models, typically right-to-left ones (``reverse_target``), which see the output from
its other end (Liu et al. 2016; Sennrich et al. 2016, WMT16 sec. 3.3), and re-ordered by

    ((1 - w) log P(y | x) + w * mean_k log P_k(y | x)) / lp(|y|),

the same length penalty lp as the search, with |y| the hypothesis's subwords (and EOS). log P is
the search's own (ensemble) score; the rerankers score the output text with their own subwords.

Decoding controls (see :mod:`seqlab.seq2seq.search`): sampling, a minimum length, no repeated n-grams,
target prefixes (``prefixes``: one text a line, encoded with the target subwords alone, so a prefix that
ends inside a word may be segmented otherwise than the same text inside the output) and ``replace_unk``:
each ``<unk>`` of an output becomes the source piece its step attends to most (fairseq's ``--replace-unk``
with the hard alignment argmax_s a_ts; sentencepiece gives an unknown character's piece as the character),
at the text level, so the output text holds it where the model could not spell it.

A model directory holds ``model.safetensors`` (weights, architecture, the run's settings and both
sentencepiece models; written atomically) and ``config.toml``. Lines are decoded in length-sorted
batches; a bad line (empty, too long, or with characters the model never saw) gets a message and
does not stop the others.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import torch

from seqlab.device import resolve_device
from seqlab.errors import ConfigError
from seqlab.io import decode_utf8, incompatible_checkpoint, load_model_dir, save_model_dir
from seqlab.seq2seq.config import Seq2SeqConfig
from seqlab.seq2seq.ensemble import Ensemble
from seqlab.seq2seq.model import ModelConfig, Seq2Seq
from seqlab.seq2seq.search import Decoding, SearchResult, length_penalty, search
from seqlab.shipped import shipped_model
from seqlab.text.padding import pad_ids
from seqlab.text.subword import BOS, EOS, UNK, Subword

MODEL_KIND = "seq2seq-model"
MODEL_FILE = "model.safetensors"
NO_OUTPUT = "no output within the maximum length obeys the decoding rules (min_len, no_repeat_ngram)"


def model_state(model: Seq2Seq, cfg: Seq2SeqConfig, src_sp: Subword, tgt_sp: Subword,
                metrics: dict | None = None) -> dict:
    return {"kind": MODEL_KIND, "model": {k: v.detach().cpu() for k, v in model.state_dict().items()},
            "model_config": dataclasses.asdict(model.cfg), "config": dataclasses.asdict(cfg),
            "src_spm": src_sp.model_bytes, "tgt_spm": tgt_sp.model_bytes, "metrics": metrics or {}}


def save_model(path: str | os.PathLike, state: dict) -> Path:
    """Write a model state into directory ``path`` as model.safetensors, atomically."""
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
        self.rerankers: list[Translator] = []
        self.rerank_weight = 0.5

    @classmethod
    def load(cls, path: str | os.PathLike, device: torch.device | str = "cpu") -> Translator:
        """A model directory (or its model file) on ``device`` (``auto``, ``cpu``, ``cuda[:N]`` or a torch.device)."""
        file, state = load_model_dir(path, MODEL_KIND, "seq2seq", MODEL_FILE)
        with incompatible_checkpoint(file, "seq2seq"):
            cfg = Seq2SeqConfig(**state["config"])
            model = Seq2Seq(ModelConfig(**state["model_config"]))
            model.load_state_dict(state["model"])
        device = resolve_device(device)
        return cls(model.to(device), cfg, Subword(state["src_spm"]), Subword(state["tgt_spm"]), device)

    @classmethod
    def load_ensemble(cls, paths: Sequence[str | os.PathLike], device: torch.device | str = "cpu") -> Translator:
        """One model directory, or several decoded as an ensemble (their next-token distributions
        averaged; see :mod:`seqlab.seq2seq.ensemble`). The first model's decoding settings apply."""
        if not paths:
            raise ConfigError("no model directory given")
        device = resolve_device(device)
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
            if other.cfg.reverse_target != first.cfg.reverse_target:
                raise ConfigError(f"{path}: it decodes {_direction(other.cfg)} but {paths[0]} decodes "
                                  f"{_direction(first.cfg)}; an ensemble's models must decode the same way (use a "
                                  f"right-to-left model as a reranker instead)")
            members.append(other.model)
        return cls(Ensemble(members), first.cfg, first.src_sp, first.tgt_sp, first.device)

    def set_rerankers(self, rerankers: Sequence[Translator], weight: float = 0.5) -> None:
        """Rerank each line's ``beam`` final hypotheses with these models (see the module docstring);
        ``weight`` w in [0, 1] is the rerankers' share of the log-probability."""
        if not 0 <= weight <= 1:
            raise ConfigError(f"the rerank weight must be in [0, 1], got {weight}")
        self.rerankers, self.rerank_weight = list(rerankers), weight

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

    def target_ids(self, text: str) -> list[int]:
        """The subword ids of a target sentence in the order the decoder generates them (reversed for a
        right-to-left model), without EOS."""
        ids = self.tgt_sp.encode(text)
        return ids[::-1] if self.cfg.reverse_target else ids

    def target_text(self, ids: Sequence[int], source_pieces: Sequence[str] = (),
                    alignment: Sequence[int] | None = None) -> str:
        """The text of decoder output ids (the inverse of :meth:`target_ids`). With the ``alignment`` of each
        output id to a source position (:meth:`SearchResult.alignments`), each ``<unk>`` is written as the
        ``source_pieces`` (sentencepiece pieces of the source line) there; without it, <unk> is left out."""
        ids = list(ids)
        if alignment is None or UNK not in ids:
            return self.tgt_sp.decode(ids[::-1] if self.cfg.reverse_target else ids)
        pieces = [source_pieces[s] if i == UNK else self.tgt_sp.id_to_piece(i)
                  for i, s in zip(ids, alignment, strict=True)]
        return self.tgt_sp.sp.decode_pieces(pieces[::-1] if self.cfg.reverse_target else pieces)

    def sampling_generator(self, seed: int) -> torch.Generator:
        """A random generator on this translator's device seeded with ``seed``: pass one to successive
        :meth:`translate` calls to continue one stream of samples (CPU and CUDA streams differ)."""
        return torch.Generator(self.device).manual_seed(seed)

    @torch.no_grad()
    def translate(self, lines: Sequence[str | bytes], beam: int | None = None, alpha: float | None = None,
                  nbest: int = 1, batch_size: int = 64, penalty: str | None = None,
                  progress: Callable[[int], None] | None = None, beta: float | None = None, *,
                  prefixes: Sequence[str] | None = None, generator: torch.Generator | None = None,
                  **controls: object) -> list[Translation]:
        """Translate ``lines`` (str, or bytes decoded as UTF-8): one Translation each, in order. A line that
        cannot be translated (empty, too long, not UTF-8) gets an ``error`` and does not stop the others.
        ``controls``: other fields of :class:`~seqlab.seq2seq.search.Decoding` (``sample``, ``temperature``,
        ``top_k``, ``top_p``, ``sample_seed``, ``min_len``, ``no_repeat_ngram``, ``replace_unk``); sampling
        without a ``beam`` draws ``nbest`` samples a line, from ``generator`` (default: seeded with
        ``sample_seed`` for this call). ``prefixes``: one target text per line that its outputs begin with ("":
        none). Unset settings come from the model's config; settings that would decode garbage raise ConfigError."""
        if controls.get("sample") and beam is None:
            beam = nbest
        decoding = self.cfg.decoding(beam=beam, alpha=alpha, penalty=penalty or None, coverage_beta=beta, nbest=nbest,
                                     **controls)
        decoding.check()
        if prefixes is not None and len(prefixes) != len(lines):
            raise ConfigError(f"{len(prefixes)} target prefixes for {len(lines)} lines: give one a line ('' for none)")
        if prefixes is not None and self.cfg.reverse_target and any(prefixes):
            raise ConfigError("a right-to-left model (reverse_target) writes the end of a sentence first: it takes no "
                              "target prefix")
        if decoding.sample and generator is None:
            generator = self.sampling_generator(decoding.sample_seed)
        if not isinstance(batch_size, int) or batch_size < 1:
            raise ConfigError(f"batch_size must be an integer >= 1, got {batch_size!r}")
        if self.rerankers and decoding.coverage_beta > 0:
            raise ConfigError("reranking scores log-probabilities only: use it without the coverage penalty (beta 0)")
        # rerankers choose among the whole beam
        searched = dataclasses.replace(decoding, nbest=decoding.beam) if self.rerankers else decoding
        sizes: dict[int, list[int]] = {}  # the hypotheses' lengths in subwords with EOS
        decoded = [decode_utf8(line) for line in lines]
        lines = [text for text, _ in decoded]
        checked = [self.check(text) if error is None else (None, error, None) for text, error in decoded]
        results: list[Translation | None] = [None] * len(lines)
        good = [i for i, (ids, _, _) in enumerate(checked) if ids is not None]
        for i, (_, error, _) in enumerate(checked):
            if error:
                results[i] = Translation("", [], error=error)
        good.sort(key=lambda i: len(checked[i][0]))
        forced = [self.tgt_sp.encode(p) if p else [] for p in prefixes] if prefixes is not None else None
        for start in range(0, len(good), batch_size):
            index = good[start:start + batch_size]
            src, lengths = pad_ids([checked[i][0] for i in index], self.device)
            found = self.search(src, lengths, searched, prefix=[forced[i] for i in index] if forced else None,
                                return_attention=decoding.replace_unk, generator=generator)
            aligned = found.alignments() if decoding.replace_unk else [None] * len(index)
            for i, hyps, positions in zip(index, found.nbest(), aligned, strict=True):
                pieces = self.src_sp.pieces(lines[i]) if positions is not None else []
                texts = [(self.target_text(ids, pieces, positions[h] if positions is not None else None), score)
                         for h, (ids, score) in enumerate(hyps)]
                results[i] = Translation(texts[0][0] if texts else "", texts, warning=checked[i][2],
                                         error=None if texts else NO_OUTPUT)
                sizes[i] = [len(ids) + 1 for ids, _ in hyps]
            if progress:
                progress(len(index))
        if self.rerankers:
            self._rerank(lines, results, sizes, decoding, batch_size)  # type: ignore[arg-type]
        return results  # type: ignore[return-value]

    def _rerank(self, lines: Sequence[str], results: list[Translation], sizes: dict[int, list[int]],
                decoding: Decoding, batch_size: int) -> None:
        """Re-order each result's hypotheses by the reranking score, keeping the ``nbest`` best (in place). This
        model's log P(y | x) is the search's score times the length penalty; the rerankers score the texts."""
        lines_of, texts, lengths, own = [], [], [], []
        for i, size in sizes.items():
            for (text, score), length in zip(results[i].nbest, size, strict=True):
                lines_of.append(i)
                texts.append(text)
                lengths.append(length)
                own.append(score)
        if not texts:
            return
        divisor = length_penalty(torch.tensor(lengths), decoding.alpha, decoding.penalty)
        sources = [lines[i] for i in lines_of]
        others = torch.stack([r.log_probs(sources, texts, batch_size) for r in self.rerankers]).mean(0)
        w = self.rerank_weight
        scores = ((1 - w) * torch.tensor(own) * divisor + w * others) / divisor
        grouped: dict[int, dict[str, float]] = {}
        for i, text, score in zip(lines_of, texts, scores.tolist(), strict=True):
            grouped.setdefault(i, {}).setdefault(text, score)  # a text found twice: its search-best segmentation
        for i, hyps in grouped.items():
            best = sorted(hyps.items(), key=lambda h: -h[1])[:decoding.nbest]
            results[i] = Translation(best[0][0], best, warning=results[i].warning)

    def teacher_batches(self, sources: Sequence[str], targets: Sequence[str],
                        batch_size: int = 64) -> Iterator[tuple[torch.Tensor, ...]]:
        """Source-target pairs as padded batches for teacher-forced scoring, in length-sorted order: yields
        (index into the pairs, src, src lengths, targets in decoding order ending in EOS, their lengths)."""
        src_ids = [self.src_sp.encode(s) for s in sources]
        tgt_ids = [self.target_ids(t) + [EOS] for t in targets]
        order = sorted(range(len(sources)), key=lambda i: (len(src_ids[i]), len(tgt_ids[i])))
        for start in range(0, len(order), batch_size):
            index = order[start:start + batch_size]
            src, lengths = pad_ids([src_ids[i] for i in index], self.device)
            tgt, tgt_lengths = pad_ids([tgt_ids[i] for i in index], self.device)
            yield torch.tensor(index, device=self.device), src, lengths, tgt, tgt_lengths

    @torch.no_grad()
    def log_probs(self, sources: Sequence[str], targets: Sequence[str], batch_size: int = 64) -> torch.Tensor:
        """log P(target | source) of each pair under the model (an ensemble's averaged distributions), summed
        over the target's subwords and EOS: (N,) float32 on the CPU (one copy from the device at the end)."""
        out = torch.zeros(len(sources), device=self.device)
        for index, src, lengths, tgt, _ in self.teacher_batches(sources, targets, batch_size):
            out[index] = self.model.score(src, lengths, tgt).float()
        return out.cpu()

    def search(self, src: torch.Tensor, lengths: torch.Tensor, decoding: Decoding | int, alpha: float | None = None,
               penalty: str | None = None, nbest: int | None = None, beta: float | None = None, *,
               prefix: Sequence[Sequence[int]] | None = None, return_attention: bool = False,
               generator: torch.Generator | None = None) -> SearchResult:
        """The search of a padded batch of source ids (batch, time) with this model and ``decoding`` (the older
        form ``search(src, lengths, beam, alpha, penalty, nbest, beta)`` takes the settings one by one);
        ``prefix``, ``return_attention`` and ``generator`` as :func:`seqlab.seq2seq.search.search`'s."""
        if not isinstance(decoding, Decoding):
            decoding = self.cfg.decoding(beam=decoding, alpha=alpha, penalty=penalty, nbest=nbest, coverage_beta=beta)
        return search(self.model, src, lengths, decoding, prefix=prefix, return_attention=return_attention,
                      generator=generator)

    @torch.no_grad()
    def attention(self, source: str, target: str) -> tuple[list[str], list[str], torch.Tensor]:
        """Source pieces, target pieces (with </s>) and the attention weights (T, S) of ``target``."""
        src_ids = self.src_sp.encode(source)
        tgt_ids = self.target_ids(target)
        src = torch.tensor([src_ids], device=self.device)
        tgt_in = torch.tensor([[BOS, *tgt_ids]], device=self.device)
        _, weights = self.model(src, torch.tensor([len(src_ids)], device=self.device), tgt_in, return_attention=True)
        pieces = [self.tgt_sp.id_to_piece(i) for i in tgt_ids] + ["</s>"]
        return [self.src_sp.id_to_piece(i) for i in src_ids], pieces, weights[0].float().cpu()


def _direction(cfg: Seq2SeqConfig) -> str:
    return "right to left" if cfg.reverse_target else "left to right"


def default_model_path() -> Path:
    """The small dates model shipped in ``data/dates_model`` (see data/README.md); DataError when missing."""
    return shipped_model("dates_model")
