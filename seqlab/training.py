"""What every training loop shares: the epoch loop with exact resume (:class:`EpochTrainer`), the loop of
a run measured in a budget of work (:class:`BudgetLoop`), a progress bar on stderr, a checkpoint clock,
the one name of a training checkpoint (:func:`last_checkpoint`), weight averaging."""

from __future__ import annotations

import contextlib
import dataclasses
import math
import os
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import torch

from seqlab.distributed import DataParallel, refuse_multiprocess
from seqlab.progress import (  # noqa: F401  (re-exported: training code imports them from here)
    PROGRESS_VARIABLE,
    CheckpointClock,
    progress_bar,
    progress_shown,
    set_postfix,
)


def nonfinite(losses: dict[str, Any], params: list[torch.Tensor] | tuple = ()) -> list[str]:
    """The names of the ``losses`` (numbers or 0-d tensors) that are NaN or infinite, plus "weights" when a
    tensor of ``params`` holds one; reads them off the device once (call at checkpoints, not every step)."""
    bad = [name for name, value in losses.items()
           if not math.isfinite(float(value.detach() if isinstance(value, torch.Tensor) else value))]
    tensors = [p.detach() for p in params]
    if tensors and not bool(torch.stack([torch.isfinite(t).all() for t in tensors]).all()):
        bad.append("weights")
    return bad


def diverged(bad: list[str], where: str, checkpoint: Path | None, lr_flag: str = "--set lr=...",
             what: str = "became NaN or infinite") -> Exception:
    """The one-line error of a run whose ``bad`` values (see :func:`nonfinite`) became non-finite (or did
    ``what``) ``where``."""
    from seqlab.errors import DivergedError

    kept = (f"the last finite checkpoint is {checkpoint}" if checkpoint is not None and checkpoint.exists()
            else "no checkpoint was written")
    return DivergedError(f"training diverged: the {' and '.join(bad)} {what} {where}; nothing after "
                         f"that was saved ({kept}); train again with a lower learning rate ({lr_flag})")


def load_training_state(path: str | os.PathLike | None, kind: str, what: str,
                        corpus: str | None = None) -> dict[str, Any]:
    """The training checkpoint ``path`` (``last.safetensors``; one of the previous name, see
    :func:`seqlab.io.with_legacy`) for ``--resume``, checked to be of ``kind`` and, with ``corpus``, to
    have been made on that corpus (its :func:`~seqlab.text.corpus.corpus_name`)."""
    from seqlab.errors import ConfigError, DataError
    from seqlab.io import load_checkpoint, with_legacy

    if path is None:
        raise ConfigError(f"resuming {what} training needs the path of its checkpoint")
    p = with_legacy(path)
    if not p.exists():
        raise DataError(f"{p}: no checkpoint to resume from")
    state = load_checkpoint(p)
    if state.get("kind") != kind:
        raise DataError(f"{p}: not a {what} training checkpoint")
    if corpus is not None and (state.get("corpus") or corpus) != corpus:
        raise DataError(f"{p}: this checkpoint was made on {state['corpus']}, not on {corpus}; "
                        "give the same corpus or drop --resume")
    return state


def check_same_architecture(same: bool, path: str | os.PathLike) -> None:
    """Refuse to resume ``path`` with settings that change the model's shape."""
    if not same:
        from seqlab.errors import ConfigError

        p = Path(path)
        raise ConfigError(f"{p}: was trained with a different architecture; resume with its settings "
                          f"(see {p.parent / 'config.toml'})")


LAST_FILE = "last.safetensors"


def last_checkpoint(output: str | os.PathLike, directory: bool = False) -> Path:
    """Where a run writing ``output`` keeps its training state: ``output/last.safetensors`` in a model
    directory, ``output.last.safetensors`` beside a file (vectors). A checkpoint of seqlab 0.1's name there
    (``last.pt``, ``output.ckpt``) is found by :func:`seqlab.io.with_legacy`."""
    p = Path(output)
    return p / LAST_FILE if directory else p.with_name(f"{p.name}.{LAST_FILE}")


def discard_checkpoint(path: str | os.PathLike) -> None:
    """Remove the training checkpoint ``path`` of a finished run and, when ``path`` has a name of
    :func:`last_checkpoint`, one of the previous name beside it (``last.pt``, ``OUTPUT.ckpt``)."""
    from seqlab.io import with_legacy

    p = Path(path)
    p.unlink(missing_ok=True)
    if p.name == LAST_FILE or p.name.endswith(f".{LAST_FILE}"):  # not a --checkpoint name of the user's
        with_legacy(p).unlink(missing_ok=True)  # with ``p`` gone: the old-named file, if there is one


def interrupted_message(checkpoint: str | os.PathLike) -> str:
    """The one line of an interrupted run that keeps its training state in ``checkpoint``."""
    from seqlab.io import with_legacy

    found = with_legacy(checkpoint)
    return f"interrupted; the last checkpoint is {found}: continue with --resume" if found.exists() else "interrupted"


@dataclasses.dataclass(slots=True)
class Block:
    """What a :class:`BudgetLoop`'s trainer reports after a block of work."""

    done: int  # units of the budget done so far (the trainer's own count, which its checkpoints keep)
    where: str = ""  # the place, for a DivergedError: "in epoch 2 (after 1,200 words)"
    losses: dict[str, Any] = dataclasses.field(default_factory=dict)  # numbers or 0-d tensors, checked finite
    postfix: dict[str, Any] = dataclasses.field(default_factory=dict)  # shown after the progress bar
    tensors: Sequence[torch.Tensor] = ()  # checked finite now, with the losses (one message for both)
    # a loss above its ceiling has exploded while still finite: name -> (ceiling, what the ceiling is)
    ceilings: dict[str, tuple[float, str]] = dataclasses.field(default_factory=dict)


class BudgetLoop:
    """The loop of a run measured in a budget of work units (words, co-occurrence entries, tokens,
    environment steps) rather than in epochs of batches.

    The trainer does the work in ``blocks``, an iterator (usually a generator) that trains one block per
    item and yields a :class:`Block`. It keeps its own position, so that its checkpoint ``state()``
    resumes exactly, and reads the device at most once per block. After each block the loop moves the
    progress bar to ``done * scale`` (e.g. raw words per encoded word) of ``total * scale``, stops with a
    DivergedError when a reported loss (or a block's ``tensors``) is NaN or infinite or a loss is above its
    ceiling (a finite explosion, e.g. GloVe's AdaGrad at too high a rate), and, when the
    :class:`CheckpointClock` is due (every ``minutes`` of wall time or ``every`` units) and the budget is
    not spent yet, checks the trained ``tensors`` and writes ``state()`` atomically to ``checkpoint``,
    then calls :meth:`after_checkpoint`. When ``blocks`` ends, the ``final`` tensors are checked. Nothing
    after a non-finite value is saved; the error names the last finite checkpoint and ``lr_flag``.
    :meth:`run` returns what the ``blocks`` generator returns.
    """

    def __init__(self, total: int, desc: str, unit: str, *, done: int = 0, scale: float = 1.0, quiet: bool = False,
                 checkpoint: str | os.PathLike | None = None, minutes: float = 0.0, every: int = 0,
                 lr_flag: str = "--set lr=...") -> None:
        refuse_multiprocess(desc, "its work is not split between processes")  # what torchrun would start twice
        self.total, self.done, self.scale = total, done, scale
        self.desc, self.unit, self.quiet = desc, unit, quiet
        self.checkpoint = Path(checkpoint) if checkpoint is not None else None
        self.minutes, self.every, self.lr_flag = minutes, every, lr_flag

    def after_checkpoint(self) -> None:
        """Called after each checkpoint is written; nothing here (a test replaces it to interrupt a run)."""

    def check(self, losses: dict[str, Any], tensors: Sequence[torch.Tensor], where: str,
              ceilings: dict[str, tuple[float, str]] | None = None) -> None:
        """Raise DivergedError when a loss or a tensor is NaN or infinite, or a loss is above its ceiling
        (before anything can be saved)."""
        bad, what = nonfinite(losses, list(tensors)), "became NaN or infinite"
        if not bad and ceilings:
            for name, (ceiling, meaning) in ceilings.items():
                value = float(losses[name])
                if value > ceiling:
                    bad, what = [name], f"exploded to {value:.3g} (over {meaning})"
                    break
        if bad:
            from seqlab.io import with_legacy

            last = with_legacy(self.checkpoint) if self.checkpoint is not None else None
            raise diverged(bad, where, last, self.lr_flag, what)

    def run(self, blocks: Iterable[Block], state: Callable[[], dict[str, Any]] | None = None,
            tensors: Sequence[torch.Tensor] = (), final: Sequence[torch.Tensor] = ()) -> Any:
        """Drive ``blocks`` to its end (see the class); returns its return value."""
        from seqlab.io import save_checkpoint

        saving = self.checkpoint is not None and state is not None
        clock = CheckpointClock(self.minutes, self.every, self.done)
        bar = progress_bar(round(self.total * self.scale), self.desc, self.unit, self.quiet,
                           initial=int(self.done * self.scale))
        items = iter(blocks)
        try:
            while True:
                try:
                    block = next(items)
                except StopIteration as end:
                    result = end.value
                    break
                self.done = block.done
                bar.update(int(block.done * self.scale) - bar.n)
                if block.losses or block.tensors:
                    self.check(block.losses, block.tensors, block.where, block.ceilings)
                if block.postfix and not self.quiet:
                    set_postfix(bar, **block.postfix)
                if saving and block.done < self.total and clock.due(block.done):
                    self.check({}, tensors, block.where)
                    save_checkpoint(state(), self.checkpoint)
                    self.after_checkpoint()
        finally:
            bar.close()
        if final:
            self.check({}, final, "by the end of training")
        return result


class WeightAverage:
    """An exponential moving average of a model's trainable parameters (Polyak & Juditsky 1992).

    After each optimiser step, :meth:`update` moves every average towards its parameter:
    ``avg <- d * avg + (1 - d) * p`` with ``d = min(decay, (1 + t) / (10 + t))`` at update ``t``
    (TensorFlow's ``ExponentialMovingAverage`` with ``num_updates``: the early averages do not drag
    the initial weights along). Inside ``with average.applied():`` the model holds the averages (to
    validate or save them); on leaving it gets its own weights back. Buffers are not averaged.
    Not torch's ``swa_utils.AveragedModel``: that deep-copies the whole module, buffers included
    (a sentiment model's fixed vector rows can be hundreds of MB), and has no such warm-up.
    """

    def __init__(self, model: torch.nn.Module, decay: float) -> None:
        if not 0.0 < decay < 1.0:
            raise ValueError(f"decay must be in (0, 1), got {decay}")
        self.decay = decay
        self.params = [p for p in model.parameters() if p.requires_grad]
        self.shadow = [p.detach().clone() for p in self.params]
        self.updates = 0

    @torch.no_grad()
    def update(self) -> None:
        self.updates += 1
        weight = 1.0 - min(self.decay, (1.0 + self.updates) / (10.0 + self.updates))
        torch._foreach_lerp_(self.shadow, [p.detach() for p in self.params], weight)

    @contextmanager
    def applied(self) -> Iterator[None]:
        """The model holds the averaged weights inside the block (swapped in place, no copies)."""
        self._swap()
        try:
            yield
        finally:
            self._swap()

    @torch.no_grad()
    def _swap(self) -> None:
        for p, s in zip(self.params, self.shadow, strict=True):
            p.data, s.data = s.data, p.data

    def state_dict(self) -> dict[str, Any]:
        return {"decay": self.decay, "updates": self.updates, "shadow": [s.detach().cpu() for s in self.shadow]}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        if len(state["shadow"]) != len(self.shadow):
            raise ValueError("weight average of a different model")
        self.updates = state["updates"]
        with torch.no_grad():
            for s, saved in zip(self.shadow, state["shadow"], strict=True):
                s.copy_(saved)


class EpochTrainer:
    """The training loop of seqlab's trainers: epochs of shuffled batches, validation after each, the best
    model and the training state written atomically, exact resume from the middle of an epoch, early
    stopping.

    After every epoch the model is validated; when :meth:`selection_key` is larger than before (a
    list, compared element by element, so later entries break ties) it is saved by :meth:`save_best`
    as the best model. The training state goes to ``<out>/last.safetensors`` after every epoch and every
    ``cfg.checkpoint_minutes`` of wall time, so an interrupted run loses at most that much work;
    :meth:`load_state` puts a new trainer exactly where the old one stopped (weights, optimiser, the
    position in the epoch, the shuffling generator and the global random state), and its run then
    equals the uninterrupted one. Training stops after ``cfg.epochs`` epochs, or ``cfg.patience``
    epochs without a better model when the config has ``patience``. With ``average`` (a
    :class:`WeightAverage`, updated by the subclass's ``step``) the averaged weights are the ones
    validated and saved.

    A subclass sets ``cfg`` (a dataclass with ``epochs`` and ``checkpoint_minutes``), ``out``,
    ``quiet``, ``log``, ``model`` and ``generator`` (the CPU generator that shuffles), calls
    :meth:`init_loop`, and provides ``epoch_batches`` (restoring ``generator`` to
    ``epoch_generator_state`` first, so that a resumed epoch gets the same batches), ``step`` (one
    update on a batch; returns its loss or a dict of named losses, as floats or 0-d tensors, which
    the loop averages over the epoch into the ``train_*`` entries of the history), ``validate``,
    ``selection_key``, ``save_best``, ``extra_state``/``load_extra_state`` (its optimisers and
    schedules) and ``summary`` (what :meth:`fit` returns).

    Under ``torchrun`` (see :mod:`seqlab.distributed`) a subclass calls :meth:`join` first, wraps its model
    with ``self.parallel.wrap``, makes global batches of ``batch_size * world`` in ``epoch_batches`` and
    trains on its :meth:`shard` of each in ``step``, returning the global batch's losses. Only rank 0
    validates (the others get its metrics, so that all take the same decisions), logs, draws the progress
    bar and writes; the others return the base :meth:`summary`.
    """

    kind = ""  # the "kind" of its training checkpoints
    section = ""  # the section of the config.toml it writes
    last_file = "last.safetensors"
    smoothing = 0.95  # of the running losses on the progress bar
    postfix_every = 1  # batches between progress-bar updates of the losses (each one reads them off the device)
    rank, world = 0, 1
    parallel = DataParallel()  # a single process until :meth:`join`
    average: WeightAverage | None = None
    cfg: Any
    out: Path
    quiet: bool
    log: Callable[[str], None]
    model: torch.nn.Module
    generator: torch.Generator

    def init_loop(self) -> None:
        """Start the loop's bookkeeping (call after ``generator`` is made)."""
        self.epoch, self.position, self.step_count = 0, 0, 0
        self.epoch_generator_state = self.generator.get_state()
        self.best_key: list[float] | None = None
        self.bad_epochs, self.history = 0, []
        self.epoch_sums: dict[str, Any] = {}
        self.epoch_steps = 0
        self._resume_generator_state: torch.Tensor | None = None

    # --- what a subclass provides ---------------------------------------------------------------
    def epoch_batches(self) -> list:
        raise NotImplementedError

    def step(self, batch: Any) -> float | torch.Tensor | dict[str, float | torch.Tensor]:
        raise NotImplementedError

    def validate(self) -> dict[str, Any]:
        raise NotImplementedError

    def selection_key(self, metrics: dict[str, Any], record: dict[str, Any]) -> list[float]:
        raise NotImplementedError

    def save_best(self, record: dict[str, Any]) -> None:
        raise NotImplementedError

    def extra_state(self) -> dict[str, Any]:
        return {}

    def load_extra_state(self, state: dict[str, Any]) -> None:
        pass

    def summary(self) -> dict[str, Any]:
        return {"epochs": self.epoch, "steps": self.step_count, "history": self.history}

    # --- data parallelism -------------------------------------------------------------------------
    def join(self, device: torch.device, log: Callable[[str], None] | None = None) -> torch.device:
        """Join the process group ``torchrun`` describes (nothing in a single process): sets ``parallel``,
        ``rank``, ``world`` and ``log`` (``log`` on rank 0, silent elsewhere); returns the device this
        process computes on (its LOCAL_RANK's GPU under torchrun on CUDA)."""
        self.parallel = DataParallel.join(device, log)
        self.rank, self.world, self.log = self.parallel.rank, self.parallel.world, self.parallel.log
        return self.parallel.device

    def shard(self, batch: Any) -> Any:
        """This process's part of the global batch ``batch`` (all of it in a single process)."""
        return self.parallel.shard(batch)

    def per_rank_generators(self) -> tuple[torch.Generator, ...]:
        """The subclass's generators whose draws differ by example (noise per image), besides torch's global
        one (dropout): under torchrun each process but rank 0 gets its own stream of them when :meth:`fit`
        starts. Not those that draw for the whole global batch (shuffling, shifts), which must agree."""
        return ()

    # --- hooks ------------------------------------------------------------------------------------
    def usable(self, batch: Any) -> bool:
        """False skips the batch (counted as done); by default a last batch too small to give every
        process an example."""
        return self.parallel.usable(batch)

    def postfix(self) -> dict[str, Any]:
        """More values for the progress bar."""
        return {}

    def after_epoch(self, metrics: dict[str, Any]) -> None:
        """Called after each validation (a per-epoch schedule steps here)."""

    def describe(self, record: dict[str, Any], improved: bool) -> str:
        """The log line of an epoch."""
        return (f"epoch {record['epoch']}: " + ", ".join(f"{k} {v:.4g}" for k, v in record.items()
                                                        if k != "epoch" and isinstance(v, float))
                + (" (best)" if improved else ""))

    @property
    def patience(self) -> float:
        return getattr(self.cfg, "patience", 0) or math.inf

    def averaged(self) -> contextlib.AbstractContextManager:
        """Inside this the model holds the weights that are validated and saved (the average, if any)."""
        return self.average.applied() if self.average is not None else contextlib.nullcontext()

    # --- checkpoints ------------------------------------------------------------------------------
    def state(self) -> dict[str, Any]:
        """Everything :meth:`load_state` needs to continue exactly here."""
        return {"kind": self.kind, "config": dataclasses.asdict(self.cfg), "model": self.model.state_dict(),
                "epoch": self.epoch, "position": self.position, "step": self.step_count,
                "epoch_generator_state": self.epoch_generator_state, "generator_state": self.generator.get_state(),
                "torch_rng": torch.get_rng_state(),
                "cuda_rng": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else None,
                "average": self.average.state_dict() if self.average is not None else None,
                "best_key": self.best_key, "bad_epochs": self.bad_epochs, "history": self.history,
                "epoch_sums": {k: float(v) for k, v in self.epoch_sums.items()}, "epoch_steps": self.epoch_steps,
                **self.extra_state()}

    def save_last(self) -> None:
        if self.rank == 0:
            from seqlab.io import save_checkpoint

            save_checkpoint(self.state(), self.out / self.last_file)

    def load_state(self, state: dict[str, Any]) -> None:
        from seqlab.errors import DataError

        path = self.out / self.last_file
        if state.get("kind") != self.kind:
            raise DataError(f"{path}: not a {self.kind.removesuffix('-train')} training checkpoint")
        try:
            self.model.load_state_dict(state["model"])
            self.epoch, self.position, self.step_count = state["epoch"], state["position"], state["step"]
            self.epoch_generator_state = state["epoch_generator_state"]
            self._resume_generator_state = state.get("generator_state")
            torch.set_rng_state(state["torch_rng"])
            if state.get("cuda_rng") is not None and torch.cuda.is_available():
                torch.cuda.set_rng_state_all(state["cuda_rng"])
            if self.average is not None and state.get("average") is not None:
                self.average.load_state_dict(state["average"])
            self.best_key, self.bad_epochs, self.history = state["best_key"], state["bad_epochs"], state["history"]
            self.epoch_sums, self.epoch_steps = dict(state.get("epoch_sums", {})), state.get("epoch_steps", 0)
            self.load_extra_state(state)
        except KeyError as missing:
            raise DataError(f"{path}: the training checkpoint has no {missing} (written by another seqlab "
                            "version?); train again without --resume") from None

    def check_finite(self, losses: dict[str, Any], batches: int, weights: bool = True) -> None:
        """Stop with a DivergedError before a non-finite loss (or, with ``weights``, non-finite weights)
        reaches a checkpoint or the best model."""
        bad = nonfinite(losses, [p for p in self.model.parameters() if p.requires_grad] if weights else [])
        if bad:
            raise diverged(bad, f"in epoch {self.epoch + 1} (batch {self.position} of {batches})",
                           self.out / self.last_file)

    # --- the loop ---------------------------------------------------------------------------------
    def fit(self) -> dict[str, Any]:
        """Train until ``cfg.epochs`` (or early stopping); returns :meth:`summary`."""
        from seqlab.config import to_toml
        from seqlab.io import atomic_open

        cfg, main = self.cfg, self.rank == 0
        if main:
            self.out.mkdir(parents=True, exist_ok=True)
            with atomic_open(self.out / "config.toml") as fh:
                fh.write(to_toml(cfg, self.section))
        clock = CheckpointClock(minutes=cfg.checkpoint_minutes)
        self.parallel.fork_random(None, *self.per_rank_generators())  # None: torch's global generator (dropout)
        while self.epoch < cfg.epochs and self.bad_epochs < self.patience:
            batches = self.epoch_batches()
            if self.position and self._resume_generator_state is not None:  # draws made inside the epoch
                self.generator.set_state(self._resume_generator_state)
            self._resume_generator_state = None
            bar = progress_bar(len(batches), f"epoch {self.epoch + 1}/{cfg.epochs}", "batch",
                               self.quiet or not main, initial=self.position)
            running: dict[str, Any] = {}
            for batch in batches[self.position:]:
                if self.usable(batch):
                    losses = self.step(batch)
                    for k, v in (losses if isinstance(losses, dict) else {"loss": losses}).items():
                        v = v.detach() if isinstance(v, torch.Tensor) else v
                        running[k] = v if k not in running else self.smoothing * running[k] + (1 - self.smoothing) * v
                        self.epoch_sums[k] = self.epoch_sums.get(k, 0.0) + v
                    self.epoch_steps += 1
                self.position += 1
                bar.update(1)
                if running and (self.position % self.postfix_every == 0 or self.position == len(batches)):
                    shown = {k: float(v) for k, v in running.items()}
                    self.check_finite(shown, len(batches), weights=False)
                    set_postfix(bar, **shown, **self.postfix())
                if clock.due(self.position):
                    self.check_finite(self.epoch_sums, len(batches))
                    self.save_last()
            bar.close()
            self.check_finite(self.epoch_sums, len(batches))
            metrics = None
            if main:  # the others get rank 0's metrics (no collective call inside validate)
                with self.averaged():
                    metrics = self.validate()
            metrics = self.parallel.broadcast(metrics)
            train = {f"train_{k}": float(v) / max(1, self.epoch_steps) for k, v in self.epoch_sums.items()}
            self.epoch += 1
            self.position, self.epoch_sums, self.epoch_steps = 0, {}, 0
            self.epoch_generator_state = self.generator.get_state()
            record = {"epoch": self.epoch, **train, **metrics}
            self.history.append(record)
            key = list(self.selection_key(metrics, record))
            improved = self.best_key is None or key > self.best_key
            if improved:
                self.best_key, self.bad_epochs = key, 0
                if main:
                    with self.averaged():
                        self.save_best(record)
            else:
                self.bad_epochs += 1
            self.after_epoch(metrics)
            self.save_last()
            self.log(self.describe(record, improved))
        summary = self.summary() if main else EpochTrainer.summary(self)
        self.parallel.close()
        return summary
