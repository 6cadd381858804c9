"""Training an encoder-decoder: teacher forcing, label smoothing, Adam, clipping, AMP, DDP, checkpoints.

Each step minimises the label-smoothed cross-entropy (Szegedy et al. 2016) summed over the target
tokens of the global batch and divided by their number, so that N processes under DDP (each with
1/N of the batch) take exactly the step one process takes with the whole batch. After every epoch
the model is scored on the validation set (loss, BLEU with seqlab's sacrebleu-exact metric, exact
match); the best model so far is saved as ``<out>/model.safetensors``, the training state as
``<out>/last.safetensors`` (also every ``checkpoint_minutes``), both atomically; ``resume`` continues from
``last.safetensors`` at the batch where it stopped, with the same random state. Training stops early after
``patience`` epochs without a better validation BLEU. With ``ema_decay`` the weights validated and
saved are an exponential moving average of the trained ones (:class:`seqlab.training.WeightAverage`).
With ``sampling_alpha`` every epoch trains on a new sampled segmentation of the pairs (subword
regularisation, Kudo 2018; BPE-dropout, Provilkov et al. 2020); validation and decoding use the best one.

``valid_metric = "chrf"`` picks the best model (and steps the plateau schedule and patience) by chrF
(Popović 2015) instead of BLEU; both are reported. ``batch_tokens`` makes batches of a budget of padded
tokens (:meth:`ParallelCorpus.token_batches`, fairseq's ``--max-tokens``), ``accumulate`` sums the
gradients of that many batches into one optimiser step (Ott et al. 2018, "Scaling NMT", sec. 4.2): the
loss is divided by the target tokens of all of them, so ``accumulate=2`` with batches of B takes the step
one batch of 2B takes. Each item of :meth:`Seq2SeqTrainer.epoch_batches` is one optimiser step (a list
of its batches), so checkpoints and resume fall on steps.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable
from contextlib import nullcontext
from pathlib import Path

import torch
import torch.nn.functional as F

from seqlab.device import cpu_has_bf16, make_generator
from seqlab.distributed import all_sum as _all_sum
from seqlab.errors import DataError
from seqlab.io import claim_output, save_checkpoint
from seqlab.metrics.bleu import corpus_bleu
from seqlab.metrics.chrf import corpus_chrf
from seqlab.seq2seq.config import Seq2SeqConfig
from seqlab.seq2seq.data import Batch, ParallelCorpus, read_parallel, read_tsv
from seqlab.seq2seq.dates import generate
from seqlab.seq2seq.model import Seq2Seq
from seqlab.seq2seq.translate import MODEL_FILE, Translator, model_state, save_model
from seqlab.text.subword import PAD, Subword
from seqlab.training import EpochTrainer, WeightAverage, check_same_architecture, load_training_state

TRAIN_KIND = "seq2seq-train"
LAST_FILE = "last.safetensors"


# --- data ---------------------------------------------------------------------------------------

def load_texts(cfg: Seq2SeqConfig) -> tuple[list[str], list[str], list[str], list[str]]:
    """(train_src, train_tgt, valid_src, valid_tgt) strings for the configured task."""
    if cfg.task == "dates":
        src, tgt = generate(cfg.train_size + cfg.valid_size, cfg.seed)
        return src[:cfg.train_size], tgt[:cfg.train_size], src[cfg.train_size:], tgt[cfg.train_size:]
    if cfg.task == "tsv":
        src, tgt = read_tsv(cfg.tsv, cfg.src_column, cfg.tgt_column)
        perm = torch.randperm(len(src), generator=torch.Generator().manual_seed(cfg.seed)).tolist()
        if len(src) <= cfg.valid_size:
            raise DataError(f"{cfg.tsv}: {len(src)} pairs, not more than valid_size {cfg.valid_size}")
        valid, train = perm[:cfg.valid_size], perm[cfg.valid_size:]
        return [src[i] for i in train], [tgt[i] for i in train], [src[i] for i in valid], [tgt[i] for i in valid]
    train_src, train_tgt = read_parallel(cfg.train_src, cfg.train_tgt)
    valid_src, valid_tgt = read_parallel(cfg.valid_src, cfg.valid_tgt)
    return train_src, train_tgt, valid_src, valid_tgt


def train_subwords(cfg: Seq2SeqConfig, src: list[str], tgt: list[str]) -> tuple[Subword, Subword]:
    """sentencepiece models from the training side (one joint model, or one per language)."""
    if cfg.joint_vocab:
        joint = Subword.train(src + tgt, cfg.vocab_size, cfg.spm_type)
        return joint, joint
    return Subword.train(src, cfg.vocab_size, cfg.spm_type), Subword.train(tgt, cfg.vocab_size, cfg.spm_type)


# --- the loss -------------------------------------------------------------------------------------

def token_loss(logits: torch.Tensor, target: torch.Tensor, label_smoothing: float) -> torch.Tensor:
    """Summed label-smoothed cross-entropy over the non-PAD target tokens: logits (B, T, V), target (B, T)."""
    return F.cross_entropy(logits.float().reshape(-1, logits.shape[-1]), target.reshape(-1), ignore_index=PAD,
                           label_smoothing=label_smoothing, reduction="sum")


# --- training -------------------------------------------------------------------------------------

class Seq2SeqTrainer(EpochTrainer):
    """Owns the model, optimiser, schedule and data of one run; ``fit`` trains, ``step`` takes one step."""

    kind, section = TRAIN_KIND, "seq2seq"

    def __init__(self, cfg: Seq2SeqConfig, out_dir: str | os.PathLike, device: torch.device,
                 texts: tuple[list[str], list[str], list[str], list[str]] | None = None,
                 subwords: tuple[Subword, Subword] | None = None, quiet: bool = False,
                 log: Callable[[str], None] | None = None) -> None:
        device = self.join(device, log)  # torchrun: rank, world, this rank's GPU, rank 0's log
        self.cfg, self.out, self.device, self.quiet = cfg, Path(out_dir), device, quiet
        train_src, train_tgt, valid_src, valid_tgt = texts or load_texts(cfg)
        self.src_sp, self.tgt_sp = subwords or train_subwords(cfg, train_src, train_tgt)
        self.train = ParallelCorpus(train_src, train_tgt, self.src_sp, self.tgt_sp, cfg.max_len, cfg.reverse_target)
        self.valid = ParallelCorpus(valid_src, valid_tgt, self.src_sp, self.tgt_sp, reverse_target=cfg.reverse_target)
        if len(self.train) == 0:
            raise DataError("no training pairs left after dropping empty and overlong ones")
        torch.manual_seed(cfg.seed)  # initial weights and dropout: the same on every rank
        self.model = Seq2Seq(cfg.model_config(len(self.src_sp), len(self.tgt_sp))).to(device)
        self.net = self.parallel.wrap(self.model)  # DDP under torchrun
        self.optimizer = torch.optim.Adam(self.model.parameters(), lr=cfg.lr)
        self.steps_per_epoch = self._steps_per_epoch()
        self.scheduler = self._scheduler()
        self.plateau = (torch.optim.lr_scheduler.ReduceLROnPlateau(self.optimizer, mode="max", factor=0.5,
                                                                   patience=1) if cfg.decay == "plateau" else None)
        self.average = WeightAverage(self.model, cfg.ema_decay) if cfg.ema_decay > 0 else None
        self.generator = make_generator(cfg.seed, torch.device("cpu"))
        self.amp = self._use_autocast(cfg, device)
        self.init_loop()

    def _steps_per_epoch(self) -> int:
        """Optimiser steps per epoch: the epoch's batches in groups of ``accumulate``. Token batches are counted
        on a batching of the first epoch's kind (later epochs' shuffles give a few more or fewer)."""
        if self.cfg.batch_tokens > 0:
            generator = make_generator(self.cfg.seed, torch.device("cpu"))
            batches = len(self.train.token_batches(self.cfg.batch_tokens * self.world, generator, min_pairs=self.world))
        else:
            batches = math.ceil(len(self.train) / (self.cfg.batch_size * self.world))
        return math.ceil(batches / self.cfg.accumulate)

    def _use_autocast(self, cfg: Seq2SeqConfig, device: torch.device) -> bool:
        """Whether training steps run under bfloat16 autocast: ``amp`` on CUDA; ``amp_cpu`` on a CPU
        that has native bfloat16 (elsewhere autocast would be emulated, and slower: float32 then)."""
        if device.type == "cuda":
            return cfg.amp
        if cfg.amp_cpu and not cpu_has_bf16():
            self.log("amp_cpu: this CPU has no native bfloat16 (AVX512-BF16 or AMX); training in float32")
            return False
        return cfg.amp_cpu

    def _scheduler(self) -> torch.optim.lr_scheduler.LRScheduler:
        total = self.steps_per_epoch * self.cfg.epochs
        warm = self.cfg.warmup_steps
        schedules = []
        if warm > 0:
            schedules.append(torch.optim.lr_scheduler.LinearLR(self.optimizer, 1.0 / warm, 1.0, total_iters=warm))
        if self.cfg.decay == "cosine":
            schedules.append(torch.optim.lr_scheduler.CosineAnnealingLR(self.optimizer, max(1, total - warm)))
        else:
            schedules.append(torch.optim.lr_scheduler.ConstantLR(self.optimizer, 1.0, total_iters=0))
        if len(schedules) == 1:
            return schedules[0]
        return torch.optim.lr_scheduler.SequentialLR(self.optimizer, schedules, milestones=[warm])

    @property
    def best(self) -> float:
        """The best validation score (``valid_metric``: BLEU or chrF) so far (-1 before the first epoch)."""
        return self.best_key[0] if self.best_key else -1.0

    # --- one step -----------------------------------------------------------------------------
    def usable(self, batches: list[list[int]]) -> bool:
        # a step's batches (see epoch_batches) each give every rank a sentence
        return all(len(index) >= self.world for index in batches)

    def step(self, batches: list[list[int]]) -> float:
        """One optimiser step on ``batches``, the global batches (sentence indices) whose gradients it sums
        (one batch, or ``accumulate``); the loss is divided by the target tokens of all of them, on all ranks.
        Returns the step's mean token loss."""
        self.net.train()
        parts = [self.train.batch(self.shard(index)) for index in batches]
        tokens = torch.tensor(float(sum(part.num_tokens for part in parts)), device=self.device)
        total_tokens = _all_sum(tokens.clone(), self.world).clamp_min(1.0)
        self.optimizer.zero_grad(set_to_none=True)
        loss_sum = torch.zeros((), device=self.device)
        for k, part in enumerate(parts):
            # DDP: gradients are all-reduced once, on the last batch's backward
            sync = nullcontext() if k == len(parts) - 1 else getattr(self.net, "no_sync", nullcontext)()
            with sync:
                loss = self._batch_loss(part.to(self.device))
                (loss * self.world / total_tokens).backward()
            loss_sum += loss.detach()
        if self.cfg.clip_norm > 0:
            torch.nn.utils.clip_grad_norm_(self.model.parameters(), self.cfg.clip_norm)
        self.optimizer.step()
        self.scheduler.step()
        if self.average is not None:
            self.average.update()
        self.step_count += 1
        return float(_all_sum(loss_sum.detach(), self.world) / total_tokens)

    def _batch_loss(self, batch: Batch) -> torch.Tensor:
        """The summed label-smoothed loss of one batch (teacher forcing; autocast when ``amp``)."""
        autocast = torch.autocast(self.device.type, dtype=torch.bfloat16) if self.amp else nullcontext()
        with autocast:
            logits, _ = self.net(batch.src, batch.src_lengths, batch.tgt_in, self.cfg.teacher_forcing)
        return token_loss(logits, batch.tgt_out, self.cfg.label_smoothing)

    def postfix(self) -> dict:
        return {"lr": self.optimizer.param_groups[0]["lr"]}

    # --- validation -----------------------------------------------------------------------------
    @torch.no_grad()
    def validate(self) -> dict[str, float]:
        self.model.eval()
        loss, tokens = 0.0, 0
        for index in self.valid.batches(self.cfg.batch_size, shuffle=False):
            batch = self.valid.batch(index).to(self.device)
            logits, _ = self.model(batch.src, batch.src_lengths, batch.tgt_in)
            loss += float(token_loss(logits, batch.tgt_out, 0.0))
            tokens += batch.num_tokens
        translator = Translator(self.model, self.cfg, self.src_sp, self.tgt_sp, self.device)
        hyps = [t.text for t in translator.translate(self.valid.src_text, beam=self.cfg.valid_beam,
                                                     batch_size=max(self.cfg.batch_size, 64))]
        refs = self.valid.tgt_text
        bleu = corpus_bleu(hyps, [refs], tokenize=self.cfg.bleu_tokenize).score
        chrf = corpus_chrf(hyps, [refs])
        exact = sum(h.strip() == r.strip() for h, r in zip(hyps, refs, strict=True)) / max(1, len(refs))
        self.model.train()
        return {"valid_loss": loss / max(1, tokens), "valid_bleu": bleu, "valid_chrf": chrf, "valid_exact": exact}

    @property
    def metric(self) -> str:
        """The history entry of the score that selects the best model: ``valid_bleu`` or ``valid_chrf``."""
        return f"valid_{self.cfg.valid_metric}"

    def selection_key(self, metrics: dict, record: dict) -> list[float]:
        # ties: exact match, then loss; a record of an older run without the score ranks last
        return [metrics.get(self.metric, -1.0), metrics["valid_exact"], -metrics["valid_loss"]]

    def after_epoch(self, metrics: dict) -> None:
        if self.plateau:
            self.plateau.step(metrics[self.metric])
        if self.cfg.average_last and self.rank == 0:  # the weights validated this epoch, for the final average
            with self.averaged():
                save_checkpoint(model_state(self.model, self.cfg, self.src_sp, self.tgt_sp, self.history[-1]),
                                self.out / epoch_file(self.epoch))
            (self.out / epoch_file(self.epoch - self.cfg.average_last)).unlink(missing_ok=True)

    def save_best(self, record: dict) -> None:
        save_model(self.out, model_state(self.model, self.cfg, self.src_sp, self.tgt_sp, record))

    def describe(self, record: dict, improved: bool) -> str:
        return (f"epoch {record['epoch']}: train loss {record.get('train_loss', 0.0):.3f}, valid loss "
                f"{record['valid_loss']:.3f}, BLEU {record['valid_bleu']:.2f}, chrF {record['valid_chrf']:.2f}, exact "
                f"{100 * record['valid_exact']:.1f}%{' (best)' if improved else ''}")

    # --- checkpoints ----------------------------------------------------------------------------
    def extra_state(self) -> dict:
        return {"optimizer": self.optimizer.state_dict(), "scheduler": self.scheduler.state_dict(),
                "plateau": self.plateau.state_dict() if self.plateau else None,
                "src_spm": self.src_sp.model_bytes, "tgt_spm": self.tgt_sp.model_bytes}

    def load_extra_state(self, state: dict) -> None:
        self.optimizer.load_state_dict(state["optimizer"])
        self.scheduler.load_state_dict(state["scheduler"])
        if self.plateau and state["plateau"]:
            self.plateau.load_state_dict(state["plateau"])

    def epoch_batches(self) -> list[list[list[int]]]:
        """This epoch's optimiser steps, each a list of ``accumulate`` global batches of sentence indices (of
        ``batch_size`` sentences or ``batch_tokens`` padded tokens per rank): the same on every rank, and again
        after a resume. A batch too small to give every rank a sentence is left out."""
        self.generator.set_state(self.epoch_generator_state)
        if self.cfg.sampling_alpha > 0:  # subword regularisation: a fresh segmentation per epoch, seeded by it
            self.train.resample(self.cfg.sampling_alpha, self.cfg.sampling_nbest,
                                self.cfg.seed * 100_003 + self.epoch)
        if self.cfg.batch_tokens > 0:
            batches = self.train.token_batches(self.cfg.batch_tokens * self.world, self.generator,
                                               min_pairs=self.world)
        else:
            batches = self.train.batches(self.cfg.batch_size * self.world, shuffle=True, generator=self.generator)
        batches = [index for index in batches if len(index) >= self.world]
        size = self.cfg.accumulate
        return [batches[i:i + size] for i in range(0, len(batches), size)]

    def best_record(self) -> dict | None:
        """The history entry of the best model (the first of the epochs with the best selection key)."""
        return max(self.history, key=lambda r: self.selection_key(r, r), default=None)

    def summary(self) -> dict:
        best = self.best_record() or {}
        return {"best_valid_bleu": best.get("valid_bleu", -1.0), "best_valid_chrf": best.get("valid_chrf", -1.0),
                "valid_metric": self.cfg.valid_metric, "epochs": self.epoch, "steps": self.step_count,
                "history": self.history, "model": str(self.out / MODEL_FILE)}


def train_seq2seq(cfg: Seq2SeqConfig, out_dir: str | os.PathLike, device: torch.device, resume: bool = False,
                  quiet: bool = False, log: Callable[[str], None] | None = None) -> dict:
    """Train (or with ``resume`` continue) a model into ``out_dir``; returns the run's summary."""
    with claim_output(out_dir, directory=True) as out:
        state = None
        if resume:
            state = load_training_state(out / LAST_FILE, TRAIN_KIND, "seq2seq")
            saved = Seq2SeqConfig(**state["config"])
            check_same_architecture(saved.model_config(1, 1) == cfg.model_config(1, 1), out / LAST_FILE)
        subwords = (Subword(state["src_spm"]), Subword(state["tgt_spm"])) if state else None
        trainer = Seq2SeqTrainer(cfg, out, device, subwords=subwords, quiet=quiet, log=log)
        if state:
            trainer.load_state(state)
        summary = trainer.fit()
        if cfg.average_last and trainer.rank == 0:
            summary["average"] = average_last_epochs(out, trainer.epoch, cfg.average_last, trainer.log)
        return summary


def epoch_file(epoch: int) -> str:
    """The name of the weights kept after ``epoch`` (1-based) for ``average_last``."""
    return f"epoch{epoch}.safetensors"


def average_last_epochs(out: Path, epoch: int, count: int, log: Callable[[str], None]) -> str | None:
    """Average the weights kept after the last ``count`` epochs up to ``epoch`` into the model directory
    ``out/average`` (:mod:`seqlab.seq2seq.average`); returns its model file (None with fewer than two epochs)."""
    from seqlab.seq2seq.average import average_models

    files = [out / epoch_file(k) for k in range(max(1, epoch - count + 1), epoch + 1)]
    files = [f for f in files if f.exists()]
    if len(files) < 2:
        log(f"average_last: {len(files)} epoch kept, nothing to average")
        return None
    done = average_models(files, out / "average")
    log(f"the average of epochs {files[0].stem.removeprefix('epoch')}-{epoch}: {done['model']}")
    return done["model"]
