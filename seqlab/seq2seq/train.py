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
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable
from contextlib import nullcontext
from pathlib import Path

import torch
import torch.distributed as dist
import torch.nn.functional as F

from seqlab.device import cpu_has_bf16, make_generator
from seqlab.errors import DataError
from seqlab.io import claim_output
from seqlab.metrics.bleu import corpus_bleu
from seqlab.seq2seq.config import Seq2SeqConfig
from seqlab.seq2seq.data import ParallelCorpus, read_parallel, read_tsv
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


# --- distributed ----------------------------------------------------------------------------------

def distributed_context(device: torch.device) -> tuple[int, int]:
    """(rank, world_size); joins the process group that ``torchrun`` describes in the environment."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1:
        return 0, 1
    if not dist.is_initialized():
        dist.init_process_group(backend="nccl" if device.type == "cuda" else "gloo")
    return dist.get_rank(), dist.get_world_size()


def _all_sum(value: torch.Tensor, world: int) -> torch.Tensor:
    if world > 1:
        dist.all_reduce(value)
    return value


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
        self.rank, self.world = distributed_context(device)
        if self.world > 1 and device.type == "cuda":  # torchrun: one GPU per local rank
            device = torch.device("cuda", int(os.environ.get("LOCAL_RANK", "0")))
            torch.cuda.set_device(device)
        self.cfg, self.out, self.device, self.quiet = cfg, Path(out_dir), device, quiet
        self.log = log if (log and self.rank == 0) else (lambda message: None)
        train_src, train_tgt, valid_src, valid_tgt = texts or load_texts(cfg)
        self.src_sp, self.tgt_sp = subwords or train_subwords(cfg, train_src, train_tgt)
        self.train = ParallelCorpus(train_src, train_tgt, self.src_sp, self.tgt_sp, cfg.max_len, cfg.reverse_target)
        self.valid = ParallelCorpus(valid_src, valid_tgt, self.src_sp, self.tgt_sp, reverse_target=cfg.reverse_target)
        if len(self.train) == 0:
            raise DataError("no training pairs left after dropping empty and overlong ones")
        torch.manual_seed(cfg.seed)  # initial weights and dropout: the same on every rank
        self.model = Seq2Seq(cfg.model_config(len(self.src_sp), len(self.tgt_sp))).to(device)
        self.net = self.model
        if self.world > 1:
            self.net = torch.nn.parallel.DistributedDataParallel(
                self.model, device_ids=[device.index] if device.type == "cuda" else None)
        self.optimizer = torch.optim.Adam(self.model.parameters(), lr=cfg.lr)
        self.steps_per_epoch = math.ceil(len(self.train) / (cfg.batch_size * self.world))
        self.scheduler = self._scheduler()
        self.plateau = (torch.optim.lr_scheduler.ReduceLROnPlateau(self.optimizer, mode="max", factor=0.5,
                                                                   patience=1) if cfg.decay == "plateau" else None)
        self.average = WeightAverage(self.model, cfg.ema_decay) if cfg.ema_decay > 0 else None
        self.generator = make_generator(cfg.seed, torch.device("cpu"))
        self.amp = self._use_autocast(cfg, device)
        self.init_loop()

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
        """The best validation BLEU so far (-1 before the first epoch)."""
        return self.best_key[0] if self.best_key else -1.0

    # --- one step -----------------------------------------------------------------------------
    def shard(self, index: list[int]) -> list[int]:
        """This rank's part of a global batch."""
        size = math.ceil(len(index) / self.world)
        return index[self.rank * size:(self.rank + 1) * size]

    def usable(self, index: list[int]) -> bool:
        return len(index) >= self.world  # a last batch too small to give every rank a sentence is skipped

    def step(self, index: list[int]) -> float:
        """One optimiser step on the global batch ``index``; returns its mean token loss."""
        self.net.train()
        batch = self.train.batch(self.shard(index)).to(self.device)
        tokens = torch.tensor(float(batch.num_tokens), device=self.device)
        total_tokens = _all_sum(tokens.clone(), self.world).clamp_min(1.0)
        self.optimizer.zero_grad(set_to_none=True)
        autocast = torch.autocast(self.device.type, dtype=torch.bfloat16) if self.amp else nullcontext()
        with autocast:
            logits, _ = self.net(batch.src, batch.src_lengths, batch.tgt_in, self.cfg.teacher_forcing)
        loss_sum = token_loss(logits, batch.tgt_out, self.cfg.label_smoothing)
        (loss_sum * self.world / total_tokens).backward()
        if self.cfg.clip_norm > 0:
            torch.nn.utils.clip_grad_norm_(self.model.parameters(), self.cfg.clip_norm)
        self.optimizer.step()
        self.scheduler.step()
        if self.average is not None:
            self.average.update()
        self.step_count += 1
        return float(_all_sum(loss_sum.detach(), self.world) / total_tokens)

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
        exact = sum(h.strip() == r.strip() for h, r in zip(hyps, refs, strict=True)) / max(1, len(refs))
        self.model.train()
        return {"valid_loss": loss / max(1, tokens), "valid_bleu": bleu, "valid_exact": exact}

    def selection_key(self, metrics: dict, record: dict) -> list[float]:
        return [metrics["valid_bleu"], metrics["valid_exact"], -metrics["valid_loss"]]  # ties: exact, then loss

    def after_epoch(self, metrics: dict) -> None:
        if self.plateau:
            self.plateau.step(metrics["valid_bleu"])

    def save_best(self, record: dict) -> None:
        save_model(self.out, model_state(self.model, self.cfg, self.src_sp, self.tgt_sp, record))

    def describe(self, record: dict, improved: bool) -> str:
        return (f"epoch {record['epoch']}: train loss {record.get('train_loss', 0.0):.3f}, valid loss "
                f"{record['valid_loss']:.3f}, BLEU {record['valid_bleu']:.2f}, exact "
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

    def epoch_batches(self) -> list[list[int]]:
        """This epoch's global batches (the same on every rank, and again after a resume)."""
        self.generator.set_state(self.epoch_generator_state)
        if self.cfg.sampling_alpha > 0:  # subword regularisation: a fresh segmentation per epoch, seeded by it
            self.train.resample(self.cfg.sampling_alpha, self.cfg.sampling_nbest,
                                self.cfg.seed * 100_003 + self.epoch)
        return self.train.batches(self.cfg.batch_size * self.world, shuffle=True, generator=self.generator)

    def summary(self) -> dict:
        return {"best_valid_bleu": self.best, "epochs": self.epoch, "steps": self.step_count,
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
        return trainer.fit()
