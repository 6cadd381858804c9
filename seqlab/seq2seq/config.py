"""Settings of a seq2seq run, in four sections: data (with the subwords), model, train and decode."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from seqlab.config import check_finite, choice_checks, learning_rate_check, part, setting
from seqlab.errors import ConfigError
from seqlab.memory import check_fits
from seqlab.rnn.cells import rnn_weight_count
from seqlab.seq2seq.attention import ATTENTION_KINDS
from seqlab.seq2seq.model import Architecture, ModelConfig
from seqlab.seq2seq.search import PENALTIES, Decoding
from seqlab.text.subword import MODEL_TYPES

TASKS = ("parallel", "tsv", "dates")
CELLS = ("gru", "lstm", "mingru", "peephole", "cifg", "rnn")
DECAYS = ("none", "cosine", "plateau")
VALID_METRICS = ("bleu", "chrf")


@dataclass(frozen=True)
class DataSettings:
    """The data section: aligned files (task "parallel"), one tab-separated file ("tsv") or the generated
    dates task, and the sentencepiece subwords made from them."""

    SECTION = "data"

    task: str = "parallel"
    train_src: str = ""
    train_tgt: str = ""
    valid_src: str = ""
    valid_tgt: str = ""
    tsv: str = ""
    src_column: int = 1
    tgt_column: int = 0
    valid_size: int = 1000  # tsv and dates: pairs held out for validation
    train_size: int = setting(40000, "Dates task: generated training pairs.", flag=True)
    vocab_size: int = 8000
    spm_type: str = "unigram"
    joint_vocab: bool = False
    max_len: int = 100  # training pairs longer than this (in subwords) are skipped
    # subword regularisation: each epoch segments the training pairs anew by sampling (0 = off). unigram:
    # Kudo 2018, from the sampling_nbest best segmentations (-1: all) with probabilities^alpha (paper: 64, 0.1);
    # bpe: BPE-dropout (Provilkov et al. 2020), alpha = the merge-dropout probability (paper: 0.1)
    sampling_alpha: float = 0.0
    sampling_nbest: int = 64
    # right-to-left: the decoder generates the target reversed (last subword first). Such a model is a
    # reranker of a left-to-right model's n-best lists (Liu et al. 2016; Sennrich et al. 2016, WMT16 sec. 3.3)
    reverse_target: bool = False


@dataclass(frozen=True)
class TrainSettings:
    """The train section: optimisation, schedule, validation during training, checkpoints."""

    SECTION = "train"

    epochs: int = setting(20, "Training epochs.", flag=True)
    batch_size: int = setting(64, "Sentences per batch.", flag=True)
    lr: float = setting(1e-3, "Adam learning rate.", flag=True)
    warmup_steps: int = 0
    decay: str = "plateau"
    label_smoothing: float = 0.1
    clip_norm: float = 1.0
    teacher_forcing: float = 1.0
    ema_decay: float = 0.0  # > 0: validate and save a moving average of the weights (e.g. 0.999; 0 = off)
    amp: bool = True  # bfloat16 autocast on CUDA (ignored on the CPU)
    amp_cpu: bool = False  # bfloat16 autocast on the CPU too, where it has native bf16 (about 2x faster training)
    patience: int = 5  # epochs without a better validation score before stopping
    checkpoint_minutes: float = 10.0
    seed: int = setting(1, "Random seed.", flag=True)
    valid_beam: int = 1  # the beam of the validation translations
    bleu_tokenize: str = "13a"
    valid_metric: str = setting("bleu", "The validation score that picks the best model, steps the plateau "
                                "schedule and counts patience: sacrebleu's BLEU or chrF (Popovic 2015).",
                                choices=VALID_METRICS)
    # > 0: batches of at most this many padded tokens (max(|x|, |y|+1) x pairs; per process under DDP), not
    # batch_size sentences (fairseq --max-tokens; 0 = off)
    batch_tokens: int = 0
    accumulate: int = 1  # batches per optimiser step (gradient accumulation: the step of an accumulate-times batch)
    average_last: int = setting(0, "Keep the weights of the last N epochs (OUTPUT/epoch<k>.safetensors) and write "
                                   "their average to OUTPUT/average at the end (0: off).", flag=True)


@dataclass(frozen=True)
class Seq2SeqConfig(Decoding, TrainSettings, Architecture, DataSettings):
    """A seq2seq run: its data, model, train and decode sections (:func:`seqlab.config.sections`), each
    field declared once in its section. Reads flat TOML files (``key = value`` or a ``[seq2seq]`` table) and
    sectioned ones (``[seq2seq.model]`` or ``[model]``); ``--set model.hidden_size=512`` or ``hidden_size=512``.
    The model section is the :class:`Architecture` the model is built from, the decode section the
    :class:`Decoding` a search takes. Defaults follow Luong et al. 2015 where the paper fixes a choice,
    scaled to Multi30k."""

    def validate(self) -> None:
        check_finite(self)
        checks = [
            (self.task in TASKS, f"task must be one of {', '.join(TASKS)}, got {self.task!r}"),
            (self.task != "parallel" or (self.train_src and self.train_tgt and self.valid_src and self.valid_tgt),
             "task parallel needs train_src, train_tgt, valid_src and valid_tgt"),
            (self.task != "tsv" or self.tsv, "task tsv needs tsv (a file path)"),
            (self.spm_type in MODEL_TYPES, f"spm_type must be one of {', '.join(MODEL_TYPES)}"),
            (self.cell in CELLS, f"cell must be one of {', '.join(CELLS)}, got {self.cell!r}"),
            (self.attention in ATTENTION_KINDS, f"attention must be one of {', '.join(ATTENTION_KINDS)}"),
            (self.attention != "dot", "attention dot needs a decoder state as wide as the encoder memory, but the "
                                      "bidirectional encoder's memory is 2 x hidden_size: use general or additive"),
            (self.decay in DECAYS, f"decay must be one of {', '.join(DECAYS)}"),
            (self.penalty in PENALTIES, f"penalty must be one of {', '.join(PENALTIES)}"),
            (self.coverage_beta >= 0, "coverage_beta must be >= 0 (0 = no coverage penalty)"),
            (self.vocab_size >= 8, "vocab_size must be at least 8"),
            (self.sampling_alpha >= 0, "sampling_alpha must be >= 0 (0 = no subword sampling)"),
            (self.sampling_alpha == 0 or self.spm_type in ("unigram", "bpe"),
             "subword sampling (sampling_alpha > 0) needs spm_type unigram or bpe"),
            (self.sampling_alpha < 1 or self.spm_type != "bpe", "sampling_alpha is BPE-dropout's probability: "
                                                                 "it must be below 1 for spm_type bpe"),
            (self.sampling_nbest == -1 or self.sampling_nbest >= 2,
             "sampling_nbest must be -1 (all segmentations) or at least 2"),
            (min(self.emb_dim, self.hidden_size, self.enc_layers, self.dec_layers) >= 1, "sizes must be >= 1"),
            (0 <= self.dropout < 1, "dropout must be in [0, 1)"),
            (0 <= self.label_smoothing < 1, "label_smoothing must be in [0, 1)"),
            (0 <= self.teacher_forcing <= 1, "teacher_forcing must be in [0, 1]"),
            (0 <= self.ema_decay < 1, "ema_decay must be in [0, 1) (0 = no weight average)"),
            (self.epochs >= 1 and self.batch_size >= 1, "epochs and batch_size must be at least 1"),
            *choice_checks(self),
            (self.batch_tokens >= 0, "batch_tokens must be >= 0 (0: batches of batch_size sentences)"),
            (self.accumulate >= 1, "accumulate must be at least 1 (batches per optimiser step)"),
            (self.average_last == 0 or self.average_last >= 2, "average_last must be 0 (off) or at least 2 epochs"),
            learning_rate_check(self.lr),
            (self.beam >= 1 and self.valid_beam >= 1, "beam sizes must be at least 1"),
            (self.valid_size >= 1 and self.train_size >= 1, "valid_size and train_size must be at least 1"),
            (not self.tie_embeddings or self.emb_dim == self.hidden_size,
             "tie_embeddings needs emb_dim == hidden_size"),
        ]
        for ok, message in checks:
            if not ok:
                raise ConfigError(message)
        part(self, Decoding).check()
        self.check_memory(8, 8)  # the smallest vocabularies: absurd sizes are refused before any data is read

    def check_memory(self, src_vocab: int, tgt_vocab: int) -> None:
        """ConfigError when the model's float32 weights alone could not be allocated in the memory available."""
        check_fits(4 * weight_count(self, src_vocab, tgt_vocab), f"a seq2seq model with hidden_size "
                   f"{self.hidden_size}, emb_dim {self.emb_dim} and vocabularies of {src_vocab} and {tgt_vocab}")

    def model_config(self, src_vocab: int, tgt_vocab: int) -> ModelConfig:
        """The model section with these vocabulary sizes (after :meth:`check_memory`: nothing is allocated yet)."""
        self.check_memory(src_vocab, tgt_vocab)
        return ModelConfig(**dataclasses.asdict(part(self, Architecture)), src_vocab=src_vocab, tgt_vocab=tgt_vocab)

    def decoding(self, **changes: object) -> Decoding:
        """The decode section, with the non-None ``changes`` (a call's own beam, alpha, ...)."""
        return dataclasses.replace(part(self, Decoding), **{k: v for k, v in changes.items() if v is not None})


def weight_count(cfg: Seq2SeqConfig, src_vocab: int, tgt_vocab: int) -> int:
    """A lower bound of the parameters of its Seq2Seq model: embeddings, both RNNs, bridge, attention
    combination and output layer, without biases (Python integers: no overflow, nothing allocated)."""
    h = cfg.hidden_size
    encoder = rnn_weight_count(cfg.cell, cfg.emb_dim, h, cfg.enc_layers, bidirectional=True)
    decoder = rnn_weight_count(cfg.cell, cfg.emb_dim + (h if cfg.input_feeding else 0), h, cfg.dec_layers)
    embeddings = (src_vocab + tgt_vocab) * cfg.emb_dim
    output = 0 if cfg.tie_embeddings else h * tgt_vocab
    return embeddings + encoder + decoder + 2 * h * cfg.dec_layers * h + 3 * h * h + output
