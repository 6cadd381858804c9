"""GloVe: global log-bilinear regression on word-word co-occurrence counts.

Pennington, Socher & Manning 2014 ("GloVe: Global Vectors for Word Representation"), eq. 8:

    J = sum over non-zero X_ij of f(X_ij) (w_i . w~_j + b_i + b~_j - log X_ij)^2,
    f(x) = min(1, (x / x_max)^alpha),

with word vectors w, context vectors w~ and their biases b, b~; the output vectors are w + w~
(sec. 4.2), or w alone. Training follows Stanford GloVe's ``glove.c``: parameters start uniform in
[-0.5, 0.5] / dim, AdaGrad accumulators at 1; for an entry with fdiff = f(X) * (w . w~ + b + b~ - log X),
each vector component takes the step g = eta * clip(fdiff * other, +-grad_clip) divided by
sqrt(its accumulator), which then grows by g^2; a bias takes fdiff / sqrt(accumulator) and its
accumulator grows by fdiff^2 (glove.c applies no eta to the biases). The cost glove.c prints is
J / 2 per entry.

Instead of glove.c's threads walking a shuffled file, each epoch draws a permutation of the
non-zero entries and a step takes ``batch_size`` of them at once: every entry's step is computed
from the parameters as they were before the step, and rows hit several times get the sum (as
lock-free threads would, without the races). One change makes large batches safe: the squared
steps of a batch are added to the AdaGrad accumulators first, and each entry's step is divided by
sqrt(accumulator - its own square). An entry alone in its row sees exactly glove.c's accumulator;
entries sharing a row (a frequent word is hit hundreds of times in a batch of 16k) also see each
other's squares, as if applied one after the other. Without it, summing hundreds of full-size steps
overshoots: on a 2M-token prefix of the wiki corpus (15 epochs) batch 16384 fell to WS-353 0.196 and
analogy 1.9%, against 0.356 and 5.5% with batch 512; with this rule batch 16384 gives 0.356 and 5.4%.
On the CPU, training runs glove.c's own loop instead (``cpu_kernel = "auto"``, in the C kernel of
:mod:`seqlab.embeddings.glove_native`): the same entries in the same order, each updated after the
one before it, one slice of each block per thread; batched steps are what a GPU needs, not a CPU.
The co-occurrence counts come from :mod:`seqlab.embeddings.cooccurrence`; on the CPU they are counted
within ``memory`` GB (cooccur.c's ``-memory``), in sorted runs spilled to temporary files (TMPDIR) and
merged when the matrix outgrows it. The GPU path holds the matrix in device memory and ignores it.
"""

from __future__ import annotations

import dataclasses
import os
import time
from collections.abc import Generator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from seqlab.config import choice_checks, learning_rate_check, require, setting
from seqlab.device import make_generator, resolve_device, synchronize
from seqlab.distributed import refuse_multiprocess
from seqlab.embeddings import limits
from seqlab.embeddings.cooccur_native import native_available as cooccur_native_available
from seqlab.embeddings.cooccurrence import Cooccurrence, count_encoded_pairs
from seqlab.embeddings.glove_native import native_available, train_block
from seqlab.embeddings.keyed_vectors import KeyedVectors
from seqlab.errors import DataError
from seqlab.native import use_native
from seqlab.shipped import default_corpus
from seqlab.text.corpus import Corpus, corpus_name, tokenize_setting
from seqlab.text.encode import read_corpus
from seqlab.text.vocab import Vocab
from seqlab.training import Block, BudgetLoop, load_training_state

CHECKPOINT_KIND = "seqlab.glove"
BLOCK_STEPS = 64  # steps between two host synchronisations (progress bar, checkpoints)
EXPLODED = 100.0  # an epoch's cost per entry past this many times an untrained model's (or 1) has diverged
# the settings a co-occurrence matrix depends on: a saved one is reused only when they match (not memory or
# cpu_kernel, which change how it is counted, not what: the sums at most in their last bits, by addition order)
COUNT_SETTINGS = ("window", "distance_weighting", "min_count", "max_vocab", "lowercase", "max_sentence_length",
                  "tokenize")
MAX_BATCH = 1 << 20  # entries per step (see GloveConfig.validate)
STEP_BYTES = 40  # per entry and dimension in a step: gathered rows, gradients, steps and their squares
COUNT_PAIRS = (1 << 23, 1 << 26)  # the most pairs a counting chunk makes at once: CPU, GPU (~40 bytes each)


@dataclass(frozen=True)
class GloveConfig:
    """Training settings; defaults are glove.c's (x_max 100 and alpha 0.75 are the paper's)."""

    dim: int = setting(50, "Vector size.", flag=True)
    window: int = setting(15, "Context words on each side (weighted 1/distance).", flag=True)
    x_max: float = setting(100.0, "Cutoff of the weighting function f.", flag=True)
    alpha: float = setting(0.75, "Exponent of the weighting function f.", flag=True)
    epochs: int = setting(25, "Passes over the non-zero co-occurrences.", flag=True)
    eta: float = setting(0.05, "Initial AdaGrad learning rate.", flag=True)
    grad_clip: float = setting(100.0, "Clip each gradient component to this size (glove.c).")
    min_count: int = setting(5, "Drop words rarer than this.", flag=True)
    max_vocab: int = setting(0, "Keep at most this many words (0: all).", flag=True)
    distance_weighting: bool = setting(True, "Weight a co-occurrence by 1/distance (cooccur.c).")
    word_only: bool = setting(False, "Output the word vectors w, not w + w~ (the same as --model 1).",
                              flag="--word-only")
    model: int = setting(2, "What to output, as glove.c's -model: 2, the vectors w + w~; 1, the word vectors w; 0, "
                         "all the parameters, 'word w_1..w_D b w~_1..w~_D b~' a line in GloVe text (2 (dim + 1) "
                         "numbers a word, for other tools; seqlab reads them as vectors of that size).", flag=True)
    batch_size: int = setting(0, "Non-zero entries per step (0: 4096 on CPU, 16384 on GPU).", flag=True)
    seed: int = setting(1, "Random seed.", flag=True)
    lowercase: bool = setting(False, "Lowercase the corpus.", flag=True)
    tokenize: str = tokenize_setting()
    max_sentence_length: int = setting(1_000_000, "Cut longer lines into pieces of this many words (cooccur.c "
                                       "never cuts a line; this bounds memory per line).")
    count_chunk_tokens: int = setting(0, "Positions per counting chunk (0: 262144 on CPU, 4194304 on GPU).")
    memory: float = setting(4.0, "Soft limit in GB on the memory of co-occurrence counting (cooccur.c -memory): a "
                            "bigger matrix is counted in sorted runs spilled to temporary files and merged.",
                            flag=True)
    checkpoint_minutes: float = setting(10.0, "Checkpoint interval in minutes.", flag=True)
    checkpoint_entries: int = setting(0, "Also checkpoint every N trained entries (0: off).", flag=True)
    cpu_kernel: str = setting("auto", "On the CPU: counting and glove.c's loop in C, entry after entry (native, "
                              "built on first use), torch (batched steps), or native when it builds (auto).",
                              flag=True,
                              choices=("auto", "native", "torch"))

    def validate(self) -> None:
        """ConfigError naming the first setting out of its range (see :mod:`seqlab.embeddings.limits`)."""
        require(*limits.finite(x_max=self.x_max, alpha=self.alpha, eta=self.eta, grad_clip=self.grad_clip,
                                   checkpoint_minutes=self.checkpoint_minutes, memory=self.memory) + [
            *limits.shared_checks(self),
            *choice_checks(self),
            (self.x_max > 0, "x_max must be positive"),
            (self.alpha > 0, "alpha must be positive"),
            learning_rate_check(self.eta, "eta"),
            (self.grad_clip > 0, "grad_clip must be positive"),
            limits.at_most("batch_size", self.batch_size, MAX_BATCH, "a step holds several batch_size x dim "
                           "tables; the defaults are 4,096 on the CPU, 16,384 on a GPU"),
            (self.count_chunk_tokens >= 0, "count_chunk_tokens must be >= 0"),
            (self.memory > 0, f"memory must be positive (GB), got {self.memory}"),
            (self.checkpoint_entries >= 0, "checkpoint_entries must be >= 0"),
            (self.model in (0, 1, 2), f"model must be 0, 1 or 2 (glove.c's -model), got {self.model}"),
            (not (self.word_only and self.model == 0), "word_only (model 1) and model 0 contradict; give one"),
        ])

    @property
    def output_model(self) -> int:
        """glove.c's -model of the output: ``model``, or 1 with ``word_only``."""
        return 1 if self.word_only else self.model

    def batch_for(self, device: torch.device) -> int:
        return self.batch_size or (16384 if device.type == "cuda" else 4096)

    def chunk_for(self, device: torch.device) -> int:
        """Positions per counting chunk, at most ``COUNT_PAIRS`` // window of them (a chunk makes
        chunk x window pairs at once)."""
        chunk = self.count_chunk_tokens or (1 << 22 if device.type == "cuda" else 1 << 18)
        return max(1, min(chunk, COUNT_PAIRS[device.type == "cuda"] // self.window))

    def count_settings(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in COUNT_SETTINGS}


# ---------------------------------------------------------------------------------- the maths
def weighting(x: torch.Tensor, x_max: float, alpha: float) -> torch.Tensor:
    """f(x) = min(1, (x / x_max)^alpha), elementwise (paper eq. 9)."""
    return torch.clamp(x / x_max, max=1.0).pow(alpha)


def glove_loss(weight: torch.Tensor, context: torch.Tensor, bias: torch.Tensor, context_bias: torch.Tensor,
               rows: torch.Tensor, cols: torch.Tensor, log_x: torch.Tensor, f_x: torch.Tensor) -> torch.Tensor:
    """J / 2 = 0.5 * sum f(X_ij) (w_i . w~_j + b_i + b~_j - log X_ij)^2 over the entries (rows, cols) (B,)."""
    diff = (weight[rows] * context[cols]).sum(1) + bias[rows] + context_bias[cols] - log_x
    return 0.5 * (f_x * diff * diff).sum()


def entry_gradients(weight: torch.Tensor, context: torch.Tensor, bias: torch.Tensor, context_bias: torch.Tensor,
                    rows: torch.Tensor, cols: torch.Tensor, log_x: torch.Tensor, f_x: torch.Tensor
                    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """Per-entry gradients of :func:`glove_loss`: ``fdiff`` (B,) = f (w . w~ + b + b~ - log X), which is
    also the gradient for both biases, ``grad_weight`` (B, D) = fdiff * w~_j, ``grad_context`` (B, D) =
    fdiff * w_i, and ``diff`` (B,)."""
    w, c = weight[rows], context[cols]
    diff = (w * c).sum(1) + bias[rows] + context_bias[cols] - log_x
    fdiff = f_x * diff
    return fdiff, fdiff.unsqueeze(1) * c, fdiff.unsqueeze(1) * w, diff


class Glove:
    """Word and context tables, their biases and AdaGrad accumulators, and the training loop.

    weight, context: (V, dim); bias, context_bias: (V,); the ``*_gradsq`` tensors have the same shapes.
    """

    def __init__(self, vocab: Vocab, config: GloveConfig, device: torch.device | str = "cpu") -> None:
        config.validate()
        self.vocab, self.config = vocab, config
        self.device = resolve_device(device)
        gen = make_generator(config.seed, self.device)
        vsize, dim = len(vocab), config.dim
        batch = min(config.batch_for(self.device), vsize * vsize)  # a step takes at most every entry of X
        limits.check_fits([limits.tables(dim, vsize, 5, "w, w~, their AdaGrad sums, and the vectors returned"),
                           (STEP_BYTES * batch * dim, f"batch_size {batch:,} x dim {dim:,} x {STEP_BYTES} bytes of "
                            "step temporaries", "lower --batch-size or --dim")], self.device)

        def uniform(*shape: int) -> torch.Tensor:  # glove.c: (rand() / RAND_MAX - 0.5) / vector_size
            return (torch.rand(*shape, generator=gen, device=self.device) - 0.5) / dim

        self.weight, self.context = uniform(vsize, dim), uniform(vsize, dim)
        self.bias, self.context_bias = uniform(vsize), uniform(vsize)
        self.weight_gradsq = torch.ones(vsize, dim, device=self.device)
        self.context_gradsq = torch.ones(vsize, dim, device=self.device)
        self.bias_gradsq = torch.ones(vsize, device=self.device)
        self.context_bias_gradsq = torch.ones(vsize, device=self.device)
        self.epoch = 0  # next epoch to run
        self.step = 0  # next step within that epoch
        self.entries_done = 0
        self.corpus = ""
        self.nnz = 0  # of the matrix being trained on (checked on resume)
        self.native = use_native(config.cpu_kernel, self.device.type, native_available)  # glove.c's loop in C

    _TENSORS = ("weight", "context", "bias", "context_bias", "weight_gradsq", "context_gradsq", "bias_gradsq",
                "context_bias_gradsq")

    # ---- checkpoints -------------------------------------------------------------------------
    def state_dict(self) -> dict[str, Any]:
        state = {"kind": CHECKPOINT_KIND, "config": dataclasses.asdict(self.config), "words": self.vocab.words,
                 "counts": self.vocab.counts, "total_words": self.vocab.total_words, "epoch": self.epoch,
                 "step": self.step, "entries_done": self.entries_done, "corpus": self.corpus, "nnz": self.nnz}
        state.update({name: getattr(self, name).cpu() for name in self._TENSORS})
        return state

    @classmethod
    def from_state_dict(cls, state: dict[str, Any], device: torch.device | str = "cpu") -> Glove:
        if state.get("kind") != CHECKPOINT_KIND:
            raise DataError(f"checkpoint is a {state.get('kind')!r}, not a GloVe checkpoint")
        vocab = Vocab(list(state["words"]), state["counts"], state["total_words"])
        model = cls(vocab, GloveConfig(**state["config"]), device)
        for name in cls._TENSORS:
            getattr(model, name).copy_(state[name])
        model.epoch, model.step, model.entries_done = state["epoch"], state["step"], state["entries_done"]
        model.corpus, model.nnz = state.get("corpus", ""), state.get("nnz", 0)
        return model

    def keyed_vectors(self) -> KeyedVectors:
        """The output, as glove.c's ``-model`` (:attr:`GloveConfig.output_model`) says, with the vocabulary
        and counts, on the CPU: (V, dim) w + w~ (2), w (1), or (V, 2 (dim + 1)) [w, b, w~, b~] (0), the
        numbers of a line of glove.c's text output in their order."""
        model = self.config.output_model
        if model == 0:
            vectors = torch.cat([self.weight, self.bias[:, None], self.context, self.context_bias[:, None]], dim=1)
        else:
            vectors = self.weight if model == 1 else self.weight + self.context
        return KeyedVectors(self.vocab.words, vectors.detach().cpu().clone(), self.vocab.counts)

    # ---- training ----------------------------------------------------------------------------
    def adagrad_step(self, rows: torch.Tensor, cols: torch.Tensor, log_x: torch.Tensor,
                     f_x: torch.Tensor) -> torch.Tensor:
        """One glove.c update for the entries (rows, cols) (B,) at once; returns the summed J/2 (0-d)."""
        cfg = self.config
        fdiff, grad_w, grad_c, diff = entry_gradients(self.weight, self.context, self.bias, self.context_bias,
                                                      rows, cols, log_x, f_x)
        step_w = grad_w.clamp_(-cfg.grad_clip, cfg.grad_clip).mul_(cfg.eta)
        step_c = grad_c.clamp_(-cfg.grad_clip, cfg.grad_clip).mul_(cfg.eta)
        # Accumulate first, then divide each entry's step by sqrt(accumulator - its own square): an
        # entry alone in its row sees exactly glove.c's accumulator; an entry sharing its row with
        # others in the batch also sees their squares, as if they had come just before it.
        sq_w, sq_c, sq_b = step_w * step_w, step_c * step_c, fdiff * fdiff
        self.weight_gradsq.index_add_(0, rows, sq_w)
        self.context_gradsq.index_add_(0, cols, sq_c)
        self.bias_gradsq.index_add_(0, rows, sq_b)
        self.context_bias_gradsq.index_add_(0, cols, sq_b)
        self.weight.index_add_(0, rows, step_w / (self.weight_gradsq[rows] - sq_w).sqrt(), alpha=-1.0)
        self.context.index_add_(0, cols, step_c / (self.context_gradsq[cols] - sq_c).sqrt(), alpha=-1.0)
        self.bias.index_add_(0, rows, fdiff / (self.bias_gradsq[rows] - sq_b).sqrt(), alpha=-1.0)
        self.context_bias.index_add_(0, cols, fdiff / (self.context_bias_gradsq[cols] - sq_b).sqrt(), alpha=-1.0)
        return 0.5 * (fdiff * diff).sum()

    def _tables(self) -> tuple[torch.Tensor, ...]:
        return tuple(getattr(self, name) for name in self._TENSORS)

    def _permutation(self, nnz: int, epoch: int) -> torch.Tensor:
        """The order of the entries in ``epoch``; one generator per epoch makes resume exact."""
        gen = make_generator(self.config.seed * 100_003 + epoch + 1, self.device)
        return torch.randperm(nnz, generator=gen, device=self.device)

    def train(self, rows: torch.Tensor, cols: torch.Tensor, values: torch.Tensor, quiet: bool = False,
              checkpoint_path: str | os.PathLike | None = None) -> dict[str, float]:
        """Run the remaining epochs over the non-zero entries (rows, cols, values) (nnz,) of X.

        The blocks of ``BLOCK_STEPS`` steps run in a :class:`~seqlab.training.BudgetLoop` over the entries
        of all epochs: with ``checkpoint_path`` the full state is saved atomically every
        ``checkpoint_minutes`` / ``checkpoint_entries`` (at a block boundary) and :meth:`from_state_dict`
        resumes it exactly. A non-finite cost (read once per block), or non-finite tables at a checkpoint
        or at the end, stops training with a DivergedError before anything is saved, and so does a cost that
        stays finite but explodes: past ``EXPLODED`` times the cost of an untrained model (AdaGrad at too high
        an ``eta``; glove.c's loop, unlike batched steps, can grow its weights a thousandfold without overflow).
        Returns ``seconds``, ``entries``, ``entries_per_second`` and ``loss`` (J/2 per entry, last epoch).
        """
        cfg, dev = self.config, self.device
        nnz = int(rows.shape[0])
        if nnz == 0:
            raise DataError("the co-occurrence matrix is empty (no word pairs within the window); nothing to train")
        if self.nnz and self.nnz != nnz:
            raise DataError(f"the checkpoint was made on a co-occurrence matrix of {self.nnz} entries, this one has "
                            f"{nnz}; give the same corpus and settings or drop --resume")
        self.nnz = nnz
        values = values.to(dev)
        entries = (rows.to(dev), cols.to(dev), values.log().float(), weighting(values, cfg.x_max, cfg.alpha).float())
        loop = BudgetLoop(nnz * cfg.epochs, "glove", "entry", done=self.entries_done, quiet=quiet,
                          checkpoint=checkpoint_path, minutes=cfg.checkpoint_minutes, every=cfg.checkpoint_entries,
                          lr_flag=f"--eta, now {cfg.eta:g}")
        t0, done0 = time.perf_counter(), self.entries_done
        reported = loop.run(self._blocks(*entries, untrained_cost(entries[2], entries[3])), self.state_dict,
                            self._tables(), (self.weight, self.context))
        synchronize(dev)
        seconds = time.perf_counter() - t0
        done = self.entries_done - done0
        return {"seconds": seconds, "entries": done, "entries_per_second": done / max(seconds, 1e-9),
                "loss": reported}

    def _blocks(self, rows: torch.Tensor, cols: torch.Tensor, log_x: torch.Tensor, f_x: torch.Tensor,
                start_cost: float) -> Generator[Block, None, float]:
        """Train the remaining blocks of every epoch, one per item; returns the last epoch's cost per entry.
        ``start_cost``: the cost per entry of an untrained model (see ``EXPLODED``)."""
        cfg, nnz = self.config, int(rows.shape[0])
        top = EXPLODED * max(start_cost, 1.0)
        ceiling = {"cost": (top, f"{top:.3g}; an untrained model's cost is {start_cost:.3g} per entry")}
        batch = cfg.batch_for(self.device)
        n_steps = -(-nnz // batch)
        epoch_loss = torch.zeros((), dtype=torch.float64, device=self.device)
        reported = float("nan")
        while self.epoch < cfg.epochs:
            order = self._permutation(nnz, self.epoch)
            if self.step == 0:
                epoch_loss.zero_()
            while self.step < n_steps:
                last = min(self.step + BLOCK_STEPS, n_steps)
                if self.native:  # the same entries in the same order, one after the other
                    epoch_loss += train_block(self._tables(), rows, cols, log_x, f_x,
                                              order[self.step * batch:last * batch], cfg.eta, cfg.grad_clip,
                                              torch.get_num_threads())
                else:
                    for s in range(self.step, last):
                        take = order[s * batch:(s + 1) * batch]
                        epoch_loss += self.adagrad_step(rows[take], cols[take], log_x[take], f_x[take])
                where = f"in epoch {self.epoch + 1} (after {min(last * batch, nnz):,} of {nnz:,} entries)"
                self.step = last
                self.entries_done = self.epoch * nnz + min(last * batch, nnz)
                if self.step == n_steps:
                    reported = epoch_loss.item() / nnz
                    self.epoch, self.step = self.epoch + 1, 0
                yield Block(self.entries_done, where, {"cost": epoch_loss / min(last * batch, nnz)},
                            {"cost": reported, "epoch": min(self.epoch + 1, cfg.epochs)}, ceilings=ceiling)
                if self.step == 0:
                    break
        return reported


def untrained_cost(log_x: torch.Tensor, f_x: torch.Tensor, chunk: int = 1 << 24) -> float:
    """J/2 per entry with every vector and bias at zero, 0.5 mean f(X) log(X)^2: where training starts
    (the random initial vectors are small), in float64, a chunk of entries at a time."""
    total = sum(float(torch.dot(f_x[i:i + chunk].double(), log_x[i:i + chunk].double().square()))
                for i in range(0, log_x.shape[0], chunk))
    return 0.5 * total / max(log_x.shape[0], 1)


# ------------------------------------------------------------------------------ corpus -> X
def count_cooccurrences(corpus: str | os.PathLike, config: GloveConfig = GloveConfig(),
                        device: str | torch.device = "auto", vocab: Vocab | None = None,
                        quiet: bool = False) -> Cooccurrence:
    """Build the vocabulary (unless given) and count X over the corpus file, on ``device``."""
    dev = resolve_device(device)
    config.validate()  # before reading the corpus
    native = use_native(config.cpu_kernel, dev.type, cooccur_native_available)
    with Corpus(str(corpus), config.lowercase, config.max_sentence_length, config.tokenize) as sentences:
        vocab, data = read_corpus(sentences, config.min_count, config.max_vocab, vocab, quiet)
    keys, sums = count_encoded_pairs(data, len(vocab), config.window, config.distance_weighting,
                                     config.chunk_for(dev), dev, quiet, native=native, memory=config.memory)
    settings = {**config.count_settings(), "corpus": corpus_name(corpus), "tokens": len(data.ids)}
    return Cooccurrence(vocab.words, vocab.counts, vocab.total_words, keys.cpu(), sums.cpu(), settings)


def _reusable(cooc: Cooccurrence, config: GloveConfig, corpus_name: str, path: str | os.PathLike) -> None:
    """Raise DataError when a saved matrix was counted with other settings or on another corpus."""
    wanted = {**config.count_settings(), "corpus": corpus_name}
    defaults = GloveConfig().count_settings()  # a matrix saved before a setting existed was counted with its default
    for key, value in wanted.items():
        if cooc.settings.get(key, defaults.get(key)) != value:
            raise DataError(f"{path}: this co-occurrence matrix was counted with {key} = {cooc.settings.get(key)!r}, "
                            f"not {value!r}; delete it or give another --cooc file")


def train_glove(corpus: str | os.PathLike, config: GloveConfig = GloveConfig(), device: str | torch.device = "auto",
                checkpoint_path: str | os.PathLike | None = None, resume: bool = False, quiet: bool = False,
                cooc_path: str | os.PathLike | None = None) -> tuple[KeyedVectors, dict[str, Any]]:
    """Count co-occurrences in ``corpus`` and train GloVe; returns (vectors, statistics).

    With ``cooc_path``, the matrix is read from that file when it exists (and was counted with the
    same settings on the same corpus), and written there otherwise. With ``checkpoint_path`` the training
    state is saved there now and then (see :meth:`Glove.train`); with ``resume``, training continues from
    that checkpoint (or one of the previous name, ``OUTPUT.ckpt``; its config wins), and without one that
    is a DataError. The statistics hold ``count_seconds``, ``seconds`` (training), ``entries_per_second``,
    ``loss``, ``nnz``, ``vocab_size`` and ``config``.
    """
    refuse_multiprocess("GloVe", f"with --threads CPU threads, {torch.get_num_threads()} here, or one GPU")
    dev = resolve_device(device)
    name = corpus_name(corpus)
    model: Glove | None = None
    if resume:
        model = Glove.from_state_dict(load_training_state(checkpoint_path, CHECKPOINT_KIND, "GloVe", name), dev)
        config = model.config
    t0 = time.perf_counter()
    if cooc_path is not None and Path(cooc_path).exists():
        cooc = Cooccurrence.load(cooc_path)
        _reusable(cooc, config, name, cooc_path)
    else:
        cooc = count_cooccurrences(corpus, config, dev, model.vocab if model else None, quiet)
        if cooc_path is not None:
            cooc.save(cooc_path)
    synchronize(dev)
    count_seconds = time.perf_counter() - t0
    vocab = Vocab(cooc.words, cooc.counts, cooc.total_words)
    if model is None:
        model = Glove(vocab, config, dev)
    elif model.vocab.words != vocab.words:
        raise DataError(f"{cooc_path}: its vocabulary differs from the checkpoint's; drop --resume or --cooc")
    model.corpus = name
    rows, cols, values = cooc.entries(dev)
    stats: dict[str, Any] = dict(model.train(rows, cols, values, quiet=quiet, checkpoint_path=checkpoint_path))
    stats.update(count_seconds=count_seconds, nnz=int(rows.shape[0]), vocab_size=len(vocab), config=model.config)
    return model.keyed_vectors(), stats


def glove_default_corpus() -> tuple[Path, Path]:
    """The embedded default corpus (gensim's Lee background corpus) and configs/glove_lee.toml."""
    return default_corpus("glove_lee.toml")

