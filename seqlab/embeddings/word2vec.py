"""word2vec: skip-gram and CBOW with negative sampling or hierarchical softmax.

Mikolov, Chen, Corrado & Dean 2013 ("Efficient Estimation of Word Representations in Vector
Space"), and Mikolov, Sutskever, Chen, Corrado & Dean 2013 ("Distributed Representations of Words
and Phrases and their Compositionality"), trained as word2vec.c does: frequent-word subsampling,
a dynamic window drawn per centre word, a learning rate decaying linearly from ``alpha`` to
``min_alpha`` over all epochs, input vectors initialised uniformly in [-0.5, 0.5] / dim (fastText's,
as fastText and gensim: [-1, 1] / dim) and output vectors at zero. The objectives and updates are
in :mod:`seqlab.embeddings.word2vec_math`.

Training goes in blocks of consecutive (subsampled) centre words whose windows are made in bulk
as tensors. On the GPU (and on the CPU with ``cpu_kernel = "torch"``), a step takes
``batch_size`` centre words of a block, makes all their (context, centre) pairs or context
windows at once, draws all negatives at once, and applies the summed sparse updates (a row hit
more than ``max_row_hits`` times in one step has its sum scaled down; see word2vec_math); nothing
leaves the device inside an epoch except the loss for the progress bar. On the CPU the block goes
to a small C kernel (:mod:`seqlab.embeddings.word2vec_native`, built on first use) that runs
word2vec.c's own update order: one thread per slice of the block, each decision applied at once;
for skip-gram with negative sampling it runs HogBatch by default (Ji et al. 2016: a window's context
words share their noise words and its updates are made as one small batch), which matches the
exact loop's quality at about twice its speed (``cpu_kernel = "native"`` asks for the exact loop).

fastText (``fasttext-sg``, ``fasttext-cbow``; Bojanowski, Grave, Joulin & Mikolov 2017, "Enriching Word
Vectors with Subword Information", section 3.2) trains the same way with one change at the input: the input
table has V + bucket rows, and a word w stands for its own row and the rows of its character n-grams'
buckets (:mod:`seqlab.embeddings.subwords`), R(w) = {w} + {V + hash(g) : g in G(w)}. Skip-gram puts the
n-grams on the CENTRE word, as the paper's score s(w, c) = sum over g in G(w) of z_g . v_c, fastText's
``FastText::skipgram`` and gensim's ``fasttext_fast_sentence_sg_*`` do: for each context word c of centre w,
h = mean of the rows R(w) and the decisions are about c (c's Huffman path; c with label 1 and the noise words,
one equal to c skipped), so the roles are word2vec sg's swapped. CBOW: h = mean (cbow_mean off: sum) over the
rows of all context words together. After the decisions the whole input gradient is added to every row (each
time R(w) lists it; with cbow_mean off, divided by their number), as fastText's unsupervised models and gensim
do; skip-gram does it after every pair (the C kernel keeps h exact between pairs and adds the window's summed
gradient once: see word2vec_cpu.c). h divides by |G(w)| + 1 as fastText does; gensim's training divides
skip-gram's h by |G(w)| only (a quirk not copied).
The vectors returned are :class:`~seqlab.embeddings.fasttext_vectors.FastTextVectors`.
"""

from __future__ import annotations

import dataclasses
import os
import time
from collections.abc import Generator, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F

from seqlab.config import choice_checks, learning_rate_check, require, setting
from seqlab.device import make_generator, resolve_device, synchronize
from seqlab.distributed import refuse_multiprocess
from seqlab.embeddings import limits
from seqlab.embeddings.fasttext_vectors import FastTextVectors
from seqlab.embeddings.huffman import build_huffman
from seqlab.embeddings.keyed_vectors import KeyedVectors
from seqlab.embeddings.sampling import SEGMENT_TOKENS, KeptTokens, NoiseSampler, keep_probabilities, reduced_windows
from seqlab.embeddings.subwords import padded_rows, subword_rows
from seqlab.embeddings.word2vec_math import (
    cbow_step,
    hs_targets,
    ns_targets,
    skipgram_hs_step,
    skipgram_step,
)
from seqlab.embeddings.word2vec_native import NativeTables, native_available, train_block
from seqlab.errors import DataError
from seqlab.native import use_native
from seqlab.text.corpus import Corpus, corpus_name, tokenize_setting
from seqlab.text.encode import read_corpus, read_sentences
from seqlab.text.vocab import EncodedCorpus, TrimRule, Vocab
from seqlab.training import Block, BudgetLoop, load_training_state

CHECKPOINT_KIND = "seqlab.word2vec"
SENTENCES = "python sentences"  # the corpus name of sentences given in Python (checkpoints)
BLOCK_STEPS = 32  # steps made in bulk between two host synchronisations
LOSS_STRIDE = 8  # the C kernel estimates the progress bar's loss from every 8th centre word
MAX_BATCH = 1 << 16  # centre words per step (see Word2VecConfig.validate)
WINDOW_SLOT_BYTES = 40  # a block's windows: positions, word ids, sentence ids, masks (int64s and bools)


@dataclass(frozen=True)
class Word2VecConfig:
    """Training settings; defaults are word2vec.c's / gensim's."""

    model: str = setting("sg", "Skip-gram or CBOW; fasttext-sg / fasttext-cbow: the same with each word's input vector "
                         "the mean of its own row and its character n-grams' rows (Bojanowski et al. 2017).",
                         flag=True, choices=("sg", "cbow", "fasttext-sg", "fasttext-cbow"))
    loss: str = setting("ns", "Negative sampling, hierarchical softmax, or both (hs+ns: word2vec.c and gensim with "
                        "hs=1 and negative > 0, each with its own output vectors).", flag=True,
                        choices=("ns", "hs", "hs+ns"))
    dim: int = setting(100, "Vector size.", flag=True)
    window: int = setting(5, "Maximum window (drawn per centre word from 1..window).", flag=True)
    shrink_windows: bool = setting(True, "Draw each centre word's window from 1..window (word2vec.c); off: always "
                                   "the whole window (gensim shrink_windows=False).", flag=True)
    negative: int = setting(5, "Negative samples per pair.", flag=True)
    ns_exponent: float = setting(0.75, "Exponent of the noise distribution (count ** ns_exponent).", flag=True)
    min_n: int = setting(3, "fastText: shortest character n-gram (characters of <word>).", flag=True)
    max_n: int = setting(6, "fastText: longest character n-gram (0: no n-grams, only the word's own row).", flag=True)
    bucket: int = setting(2_000_000, "fastText: hash buckets, the n-gram rows of the input table.", flag=True)
    cbow_mean: bool = setting(True, "CBOW: average the context vectors (word2vec.c); off: sum them (gensim "
                              "cbow_mean=0).", flag=True)
    min_count: int = setting(5, "Drop words rarer than this.", flag=True)
    max_vocab: int = setting(0, "Keep at most this many words (0: all).", flag=True)
    sample: float = setting(1e-3, "Subsampling threshold (0: off).", flag=True)
    epochs: int = setting(5, "Passes over the corpus.", flag=True)
    alpha: float = setting(0.025, "Initial learning rate.", flag=True)
    min_alpha: float = setting(0.0001, "Final learning rate.", flag=True)
    batch_size: int = setting(0, "Centre words per step (0: 512 on CPU, 8192 on GPU, 2048 for fastText on GPU).",
                              flag=True)
    max_row_hits: int = setting(64, "Scale down a row's summed update past this many hits per step (0: off).")
    seed: int = setting(1, "Random seed.", flag=True)
    lowercase: bool = setting(False, "Lowercase the corpus.", flag=True)
    tokenize: str = tokenize_setting()
    max_sentence_length: int = setting(10_000, "Cut longer sentences into pieces of this many words.")
    checkpoint_minutes: float = setting(10.0, "Checkpoint interval in minutes.", flag=True)
    checkpoint_words: int = setting(0, "Also checkpoint every N processed words (0: off).", flag=True)
    cpu_kernel: str = setting("auto", "On the CPU: word2vec.c's loop in C (native, built on first use); batched: "
                              "skip-gram with negative sampling in C with each window's noise words shared and its "
                              "updates made as one small batch (HogBatch, Ji et al. 2016); torch: the batched steps "
                              "the GPU runs; auto: batched for skip-gram with negative sampling, native otherwise, "
                              "torch when the C kernel does not build.", flag=True,
                              choices=("auto", "native", "torch", "batched"))

    def validate(self) -> None:
        """ConfigError naming the first setting out of its range (see :mod:`seqlab.embeddings.limits`)."""
        ns = self.uses_ns
        require(*limits.finite(ns_exponent=self.ns_exponent, sample=self.sample, alpha=self.alpha,
                                   min_alpha=self.min_alpha, checkpoint_minutes=self.checkpoint_minutes) + [
            *choice_checks(self),
            *limits.shared_checks(self),
            (not ns or self.negative >= 1, f"negative must be at least 1 with loss {self.loss}"),
            limits.at_most("negative", self.negative if ns else 0, limits.MAX_NEGATIVE, "each negative sample "
                           "costs a full update of every pair; the paper uses 5-20, 2-5 on large corpora"),
            limits.at_most("|ns_exponent|", abs(self.ns_exponent), 10, "the noise distribution is count ** "
                           "ns_exponent, which overflows beyond; word2vec.c uses 0.75"),
            (self.sample >= 0, "sample must be >= 0"),
            learning_rate_check(self.alpha, "alpha"),
            (0 <= self.min_alpha <= self.alpha, "need 0 <= min_alpha <= alpha"),
            limits.at_most("batch_size", self.batch_size, MAX_BATCH, f"a block of {BLOCK_STEPS} steps holds "
                           "batch_size x 2 x window context slots; the defaults are 512 on the CPU, 8,192 on a GPU"),
            (self.max_row_hits >= 0, "max_row_hits must be >= 0"),
            (self.checkpoint_words >= 0, "checkpoint_words must be >= 0"),
            (self.cpu_kernel != "batched" or (self.model == "sg" and ns),
             "cpu_kernel batched is skip-gram with negative sampling (--model sg --loss ns)"),
            (self.max_n == 0 or 1 <= self.min_n <= self.max_n, "need 1 <= min_n <= max_n (or max_n 0: no n-grams)"),
            (self.bucket >= 1, "bucket must be at least 1"),
            limits.at_most("bucket", self.bucket, limits.MAX_BUCKET, "each bucket is a row of the input table; "
                           "fastText uses 2,000,000"),
        ])

    def batch_for(self, device: torch.device) -> int:
        """Centre words per step: batch_size, or 512 on the CPU and 8,192 on a GPU (2,048 for fastText, whose
        steps gather every n-gram row of every context word)."""
        return self.batch_size or (512 if device.type != "cuda" else 2048 if self.subwords else 8192)

    @property
    def uses_ns(self) -> bool:
        """Whether negative sampling is trained (loss ns or hs+ns)."""
        return self.loss in ("ns", "hs+ns")

    @property
    def uses_hs(self) -> bool:
        """Whether hierarchical softmax is trained (loss hs or hs+ns)."""
        return self.loss in ("hs", "hs+ns")

    @property
    def skipgram(self) -> bool:
        """Whether the model is skip-gram (sg or fasttext-sg) rather than CBOW."""
        return self.model in ("sg", "fasttext-sg")

    @property
    def subwords(self) -> bool:
        """Whether words' input vectors include their character n-grams (fasttext-sg, fasttext-cbow)."""
        return self.model.startswith("fasttext")

    @property
    def hogbatch(self) -> bool:
        """Whether the C kernel trains HogBatch (``batched``, or ``auto`` for skip-gram with negative
        sampling, where it matches the exact loop's quality: benchmarks/RESULTS.md) rather than word2vec.c's loop."""
        return self.cpu_kernel == "batched" or (self.cpu_kernel == "auto" and self.model == "sg" and self.loss == "ns")


def learning_rate(config: Word2VecConfig, progress: float | torch.Tensor) -> float | torch.Tensor:
    """Linear decay from alpha to min_alpha; ``progress`` in [0, 1] is the share of all epochs done
    (a number, or a tensor of them for one rate per centre word)."""
    if isinstance(progress, torch.Tensor):
        progress = progress.clamp(0.0, 1.0)
    else:
        progress = min(max(progress, 0.0), 1.0)
    return config.alpha - (config.alpha - config.min_alpha) * progress


class Word2Vec:
    """The two embedding tables and the training loop.

    w_in: (V, dim) input vectors (the word vectors; fastText: (V + bucket, dim), the n-grams' rows after the
    words'); w_out: (V, dim) output vectors for negative sampling, or (V - 1, dim) inner-node vectors for
    hierarchical softmax.
    """

    def __init__(self, vocab: Vocab, config: Word2VecConfig, device: torch.device | str = "cpu") -> None:
        config.validate()
        self.vocab, self.config = vocab, config
        self.device = resolve_device(device)
        gen = make_generator(config.seed, self.device)
        vsize, dim = len(vocab), config.dim
        native = use_native(config.cpu_kernel, self.device.type, native_available)
        buckets = config.bucket if config.subwords else 0
        padded = 0
        if config.subwords:
            # each word's input rows, [word, V + bucket of each n-gram], as CSR (the C kernel, the vectors
            # returned) and, for the batched torch steps, padded (V, M) with a 0/1 mask
            offsets, rows = subword_rows(vocab.words, config.min_n, config.max_n, config.bucket)
            self.sub_offsets, self.sub_rows = torch.from_numpy(offsets), torch.from_numpy(rows)
            padded = 0 if native else 12 * vsize * int((offsets[1:] - offsets[:-1]).max(initial=1))
        slots = config.batch_for(self.device) * BLOCK_STEPS * 2 * config.window
        limits.check_fits([limits.tables(dim, vsize, 3, "input, output, and the vectors returned"),
                           (4 * dim * buckets * 2, f"dim {dim:,} x bucket {buckets:,} x 2 tables (the n-gram rows of "
                            "the input table, and the n-gram vectors returned) x 4 bytes", "lower --bucket or --dim"),
                           (padded, f"vocabulary {vsize:,} x the most input rows of a word x 12 bytes (the padded "
                            "n-gram table of the torch steps)", "lower --max-n or drop the longest tokens"),
                           (WINDOW_SLOT_BYTES * slots, f"batch_size {config.batch_for(self.device):,} x "
                            f"{BLOCK_STEPS} steps x 2 x window {config.window:,} context slots x "
                            f"{WINDOW_SLOT_BYTES} bytes", "lower --batch-size or --window")], self.device)
        # the input table: the words' rows, then (fastText) the n-gram buckets' rows, all initialised alike:
        # uniform in [-0.5, 0.5] / dim as word2vec.c, [-1, 1] / dim as fastText (Matrix::uniform(1 / dim)) and gensim
        spread = 2.0 if config.subwords else 1.0
        self.w_in = (torch.rand(vsize + buckets, dim, generator=gen, device=self.device) - 0.5) * (spread / dim)
        # output vectors: the words' for negative sampling, then the Huffman tree's inner nodes for hierarchical
        # softmax (rows from hs_offset on); with hs+ns both, as word2vec.c's syn1neg and syn1
        self.hs_offset = vsize if config.uses_ns else 0
        n_out = self.hs_offset + (max(vsize - 1, 1) if config.uses_hs else 0)
        self.w_out = torch.zeros(n_out, dim, device=self.device)
        self.generator = gen
        self.epoch = 0  # next epoch to run
        self.chunk = 0  # next block within that epoch
        self.words_done = 0
        self.corpus = ""  # where the training text came from (checked on resume)
        self._hooks = Hooks()
        if config.uses_hs:
            tree = build_huffman(vocab.counts)
            self.points = torch.as_tensor(tree.points, device=self.device) + self.hs_offset  # rows of w_out
            self.codes = torch.as_tensor(tree.codes, device=self.device)
            self.code_lengths = torch.as_tensor(tree.lengths, device=self.device)
        if config.uses_ns:
            self.noise = NoiseSampler(vocab.counts, config.ns_exponent, self.device)
        self.keep_prob = torch.as_tensor(keep_probabilities(vocab.counts, config.sample),
                                         dtype=torch.float32, device=self.device)
        w = config.window
        self.offsets = torch.cat([torch.arange(-w, 0), torch.arange(1, w + 1)]).to(self.device)
        self.native: NativeTables | None = None
        if native:
            ns, hs = config.uses_ns, config.uses_hs
            self.native = NativeTables(self.noise.prob if ns else None, self.noise.alias if ns else None,
                                       self.points if hs else None, self.codes if hs else None,
                                       self.code_lengths if hs else None)
        if config.subwords and not native:
            table, mask = padded_rows(offsets, rows)
            self.sub_table = torch.from_numpy(table).to(self.device)
            self.sub_mask = torch.from_numpy(mask).to(self.device)

    # ---- checkpoints -------------------------------------------------------------------------
    def state_dict(self) -> dict[str, Any]:
        return {
            "kind": CHECKPOINT_KIND,
            "config": dataclasses.asdict(self.config),
            "words": self.vocab.words,
            "counts": self.vocab.counts,
            "total_words": self.vocab.total_words,
            "w_in": self.w_in.cpu(),
            "w_out": self.w_out.cpu(),
            "epoch": self.epoch,
            "chunk": self.chunk,
            "words_done": self.words_done,
            "generator": self.generator.get_state(),
            "corpus": self.corpus,
        }

    @classmethod
    def from_state_dict(cls, state: dict[str, Any], device: torch.device | str = "cpu") -> Word2Vec:
        if state.get("kind") != CHECKPOINT_KIND:
            raise DataError(f"checkpoint is a {state.get('kind')!r}, not a word2vec checkpoint")
        config = Word2VecConfig(**state["config"])
        vocab = Vocab(list(state["words"]), state["counts"], state["total_words"])
        model = cls(vocab, config, device)
        model.w_in.copy_(state["w_in"])
        model.w_out.copy_(state["w_out"])
        model.epoch, model.chunk, model.words_done = state["epoch"], state["chunk"], state["words_done"]
        model.generator.set_state(state["generator"])
        model.corpus = state.get("corpus", "")
        return model

    def keyed_vectors(self) -> KeyedVectors:
        """The trained word vectors (input table) with the vocabulary and counts, on the CPU. With subwords, a
        :class:`~seqlab.embeddings.fasttext_vectors.FastTextVectors`: each word's vector is the mean of its
        input rows (its own and its n-grams'), and the n-gram rows are kept for words out of the vocabulary."""
        w_in = self.w_in.detach().cpu()
        vsize = len(self.vocab)
        if not self.config.subwords:
            return KeyedVectors(self.vocab.words, w_in.clone(), self.vocab.counts)
        means = F.embedding_bag(self.sub_rows, w_in, self.sub_offsets[:-1], mode="mean")
        cfg = self.config
        return FastTextVectors(self.vocab.words, means, self.vocab.counts, w_in[vsize:].clone(), cfg.min_n, cfg.max_n,
                               cfg.bucket)

    # ---- training ----------------------------------------------------------------------------
    def _kept_tokens(self, data: EncodedCorpus, epoch: int) -> KeptTokens:
        """The tokens kept this epoch, streamed; a generator per epoch makes resume exact. On the CPU
        the corpus is subsampled in segments (the same draws, bounded memory); a CUDA generator draws
        differently in pieces, so the GPU subsamples the whole corpus at once, on the device."""
        gen = make_generator(self.config.seed * 100_003 + epoch + 1, self.device)
        segment = SEGMENT_TOKENS if self.device.type == "cpu" else len(data.ids)
        return KeptTokens(data, self.keep_prob, gen, segment)

    def _windows(self, ids_k: torch.Tensor, sent_k: torch.Tensor, start: int, stop: int
                 ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Padded windows of the kept centre positions [start, stop): (pos (C,), ctx (C, 2W)
        positions of the context slots, valid (C, 2W)), with a dynamic window per centre word and
        no window crossing a sentence boundary."""
        cfg, dev = self.config, self.device
        pos = torch.arange(start, stop, device=dev)
        n_kept = ids_k.shape[0]
        radius = (reduced_windows(stop - start, cfg.window, self.generator, dev) if cfg.shrink_windows
                  else torch.full((stop - start,), cfg.window, device=dev))
        ctx = pos.unsqueeze(1) + self.offsets  # (C, 2W)
        valid = (self.offsets.abs() <= radius.unsqueeze(1)) & (ctx >= 0) & (ctx < n_kept)
        ctx.clamp_(0, n_kept - 1)
        valid &= sent_k[ctx] == sent_k[pos].unsqueeze(1)
        return pos, ctx, valid

    def _block(self, ids_k: torch.Tensor, sent_k: torch.Tensor, start: int, stop: int) -> dict[str, torch.Tensor]:
        """Training examples for the kept centre positions [start, stop), made in bulk.

        Skip-gram with negative sampling gets one row per (context, centre) pair; the others one
        row per centre word that has at least one context word, with its padded window. ``centre``
        is sorted by position, so a step is a contiguous slice of rows.
        """
        pos, ctx, valid = self._windows(ids_k, sent_k, start, stop)
        if self.config.skipgram and self.config.loss == "ns":
            rows, cols = valid.nonzero(as_tuple=True)
            return {"row": rows, "centre": ids_k[pos[rows]], "context": ids_k[ctx[rows, cols]]}
        rows = valid.any(1).nonzero().squeeze(1)
        return {"row": rows, "centre": ids_k[pos[rows]], "context": ids_k[ctx[rows]],
                "context_mask": valid[rows].to(torch.float32)}

    def _step(self, ex: dict[str, torch.Tensor], lo: int, hi: int, alpha: float) -> torch.Tensor:
        """One SGD step on example rows [lo, hi) of a block; returns the loss sum (0-d tensor).

        fastText is CBOW's step on input rows: a CBOW window's context is all the input rows of its context
        words, and a skip-gram (centre, context word) pair is a window of one word, the CENTRE word's input
        rows (h their mean; each row gets the whole input gradient), whose decisions are about the context
        word (fastText's FastText::skipgram, gensim's sg training; word2vec's sg is the other way round)."""
        cfg = self.config
        centre, context = ex["centre"][lo:hi], ex["context"][lo:hi]
        cap = float(cfg.max_row_hits)
        if cfg.skipgram and cfg.loss == "ns":  # here a row of ex is one (centre, context word) pair
            noise = self.noise.sample((hi - lo, cfg.negative), self.generator)
            if cfg.subwords:
                targets, labels, mask = ns_targets(context, noise)
                rows, row_mask = self._input_rows(centre.unsqueeze(1))
                return cbow_step(self.w_in, self.w_out, rows, row_mask, targets, labels, mask, alpha, hs=False,
                                 max_hits=cap)
            targets, labels, mask = ns_targets(centre, noise)
            return skipgram_step(self.w_in, self.w_out, context, targets, labels, mask, alpha, hs=False, max_hits=cap)
        context_mask = ex["context_mask"][lo:hi]
        loss = torch.zeros((), device=self.device)
        if cfg.skipgram and (cfg.uses_ns or cfg.subwords):
            row, slot = context_mask.nonzero(as_tuple=True)  # the windows' (context, centre) pairs
            pair_centre, pair_context = centre[row], context[row, slot]
            if cfg.subwords:  # fastText: the centre word's rows are the input, the context word the target
                pair_rows, pair_mask = self._input_rows(pair_centre.unsqueeze(1))
        elif cfg.subwords:
            context, context_mask = self._input_rows(context, context_mask)
        # with hs+ns the two objectives are two steps, hierarchical softmax first as in word2vec.c (whose
        # loop sums both into one input update: the same to first order)
        if cfg.uses_hs:
            if cfg.skipgram and cfg.subwords:
                targets, labels, mask = hs_targets(pair_context, self.points, self.codes, self.code_lengths)
                loss = loss + cbow_step(self.w_in, self.w_out, pair_rows, pair_mask, targets, labels, mask, alpha,
                                        hs=True, max_hits=cap)
            elif cfg.skipgram:
                targets, labels, mask = hs_targets(centre, self.points, self.codes, self.code_lengths)
                loss = loss + skipgram_hs_step(self.w_in, self.w_out, context, context_mask, targets, labels, mask,
                                               alpha, cap)
            else:
                targets, labels, mask = hs_targets(centre, self.points, self.codes, self.code_lengths)
                loss = loss + cbow_step(self.w_in, self.w_out, context, context_mask, targets, labels, mask, alpha,
                                        hs=True, max_hits=cap, mean=cfg.cbow_mean)
        if cfg.uses_ns:
            if cfg.skipgram:
                target_words = pair_context if cfg.subwords else pair_centre
                targets, labels, mask = ns_targets(target_words, self.noise.sample((len(row), cfg.negative),
                                                                                   self.generator))
                if cfg.subwords:
                    loss = loss + cbow_step(self.w_in, self.w_out, pair_rows, pair_mask, targets, labels, mask, alpha,
                                            hs=False, max_hits=cap)
                else:
                    loss = loss + skipgram_step(self.w_in, self.w_out, pair_context, targets, labels, mask, alpha,
                                                hs=False, max_hits=cap)
            else:
                targets, labels, mask = ns_targets(centre, self.noise.sample((hi - lo, cfg.negative), self.generator))
                loss = loss + cbow_step(self.w_in, self.w_out, context, context_mask, targets, labels, mask, alpha,
                                        hs=False, max_hits=cap, mean=cfg.cbow_mean)
        return loss

    def _input_rows(self, words: torch.Tensor, word_mask: torch.Tensor | None = None
                    ) -> tuple[torch.Tensor, torch.Tensor]:
        """fastText: the input rows of the words (P, C) (C slots, masked by ``word_mask`` (P, C) 0/1, default
        all on) as (P, R) rows and their 0/1 float mask, R the most rows of any of the P examples.

        The padded table gives each word M slots, M the most rows of any word (on Lee a word has 14 rows per
        token on average and the longest 83), so each example's rows are moved to its first slots and the
        columns that no example uses are dropped: a fraction of the gathers, for one host sync per step."""
        mask = self.sub_mask[words]
        if word_mask is not None:
            mask = mask * word_mask.unsqueeze(2)
        rows, mask = self.sub_table[words].flatten(1), mask.flatten(1)
        order = mask.argsort(dim=1, descending=True, stable=True)[:, : max(int(mask.sum(1).max()), 1)]
        return rows.gather(1, order), mask.gather(1, order)

    def _torch_block(self, ids_k: torch.Tensor, sent_k: torch.Tensor, kept: torch.Tensor, start: int, stop: int,
                     base: int, n_words: int, batch: int) -> tuple[torch.Tensor, int, float]:
        """Train kept centre positions [start, stop) in batched torch steps of ``batch`` centre
        words; returns (loss sum, examples, progress at the last step). One host sync."""
        cfg, dev = self.config, self.device
        ex = self._block(ids_k, sent_k, start, stop)
        # cut the block into steps of `batch` centre positions: the one sync per block
        step_pos = torch.arange(start, stop, batch, device=dev)
        cuts = torch.searchsorted(ex["row"] + start, step_pos).tolist() + [ex["row"].shape[0]]
        first_word = kept[step_pos].tolist()
        loss_sum = torch.zeros((), device=dev)
        progress = 0.0
        for i, (lo, hi) in enumerate(zip(cuts[:-1], cuts[1:], strict=True)):
            progress = (base + first_word[i]) / (cfg.epochs * n_words)
            if hi > lo:
                loss_sum += self._step(ex, lo, hi, learning_rate(cfg, progress))
        return loss_sum, cuts[-1], progress

    def _native_block(self, ids_k: torch.Tensor, sent_k: torch.Tensor, kept: torch.Tensor, start: int, stop: int,
                      base: int, n_words: int, want_loss: bool) -> tuple[float, int, float]:
        """Train kept centre positions [start, stop) with the C kernel, each centre word at the
        learning rate of its own position; returns (loss sum, examples, progress at the end)."""
        cfg = self.config
        pos, ctx, valid = self._windows(ids_k, sent_k, start, stop)
        context = torch.where(valid, ids_k[ctx], -1)
        progress = (base + kept[pos]).double() / (cfg.epochs * n_words)
        alpha = learning_rate(cfg, progress).float()
        seed = int(torch.randint(0, 2**62, (1,), generator=self.generator))
        _, loss, loss_examples, _ = train_block(self.w_in, self.w_out, ids_k[pos], context, alpha,
                                                cfg.skipgram, cfg.uses_hs, cfg.negative if cfg.uses_ns else 0,
                                                self.native,
                                                seed, torch.get_num_threads(), want_loss, loss_stride=LOSS_STRIDE,
                                                batched=cfg.hogbatch, cbow_mean=cfg.cbow_mean,
                                                subwords=(self.sub_offsets, self.sub_rows) if cfg.subwords else None)
        return loss, loss_examples, float(progress[-1])

    def train(self, data: EncodedCorpus, quiet: bool = False, checkpoint_path: str | os.PathLike | None = None,
              callbacks: Sequence[Any] = (), owner: Any = None) -> dict[str, float]:
        """Run the remaining epochs over ``data``; returns timing and loss statistics.

        Work is made in blocks of ``BLOCK_STEPS`` steps of centre words: one host
        synchronisation per block (to cut it into steps and read the loss), none per step; with
        the C kernel, one kernel call per block. The epoch's kept tokens stream through
        :class:`~seqlab.embeddings.sampling.KeptTokens`, so memory does not grow with the corpus
        on the CPU. The blocks run in a :class:`~seqlab.training.BudgetLoop` over the encoded words
        of all epochs: with ``checkpoint_path``, the full state is saved atomically at a block
        boundary every ``checkpoint_minutes`` / ``checkpoint_words``, and :meth:`from_state_dict`
        resumes it exactly. A non-finite loss (or non-finite tables at a checkpoint or at the end)
        stops training with a DivergedError before anything is saved.

        ``callbacks`` are gensim-style: each may define ``on_train_begin``, ``on_epoch_begin``,
        ``on_epoch_end`` and ``on_train_end``, called with ``owner`` (default: this model); a resumed
        epoch gets no ``on_epoch_begin``.
        """
        cfg = self.config
        if len(data.ids) < 2:
            raise DataError("the corpus has fewer than two in-vocabulary tokens; nothing to train on")
        n_words = len(data.ids)
        raw_per_word = data.raw_words / n_words
        loop = BudgetLoop(cfg.epochs * n_words, f"word2vec {cfg.model}-{cfg.loss}", "word", done=self.words_done,
                          scale=raw_per_word, quiet=quiet, checkpoint=checkpoint_path, minutes=cfg.checkpoint_minutes,
                          every=cfg.checkpoint_words, lr_flag=f"--alpha, now {cfg.alpha:g}")
        t0, words0 = time.perf_counter(), self.words_done
        self._hooks = Hooks(callbacks, self if owner is None else owner)
        self._hooks("on_train_begin")
        loss = loop.run(self._blocks(data, raw_per_word), self.state_dict, (self.w_in, self.w_out), (self.w_in,))
        self._hooks("on_train_end")
        synchronize(self.device)
        seconds = time.perf_counter() - t0
        raw_done = (self.words_done - words0) * raw_per_word
        return {"seconds": seconds, "raw_words": raw_done, "words_per_second": raw_done / max(seconds, 1e-9),
                "loss": loss}

    def _blocks(self, data: EncodedCorpus, raw_per_word: float) -> Generator[Block, None, float]:
        """Train the remaining blocks of every epoch, one per item; returns the last loss estimate."""
        cfg, n_words = self.config, len(data.ids)
        loss = float("nan")
        while self.epoch < cfg.epochs:
            kept = self._kept_tokens(data, self.epoch)
            if self.chunk == 0:
                self._hooks("on_epoch_begin")
            while True:
                epoch = self.epoch
                done = self._next_block(kept, n_words)
                if done is None:  # nothing left in this epoch
                    break
                loss, progress = done
                where = f"in epoch {epoch + 1} (after {int(self.words_done * raw_per_word):,} words)"
                shown = {"loss": loss, "lr": learning_rate(cfg, progress), "epoch": min(self.epoch + 1, cfg.epochs)}
                yield Block(self.words_done, where, {"loss": loss}, shown)
                if self.chunk == 0:
                    break
            self._hooks("on_epoch_end")
        return loss

    def _next_block(self, kept: KeptTokens, n_words: int) -> tuple[float, float] | None:
        """Train block ``self.chunk`` of the epoch's kept tokens and move the position on; returns
        (the loss estimate, the progress at its end), or None (the epoch ended) when nothing is left."""
        cfg = self.config
        block = cfg.batch_for(self.device) * BLOCK_STEPS
        start = self.chunk * block
        kept.fill(start - cfg.window, start + block + cfg.window)  # the block and its windows' margins
        if kept.total is not None and start >= kept.total:  # no word kept at all (or a stale position)
            self.epoch, self.chunk = self.epoch + 1, 0
            return None
        stop = start + block if kept.total is None else min(start + block, kept.total)
        base, lo, hi = self.epoch * n_words, start - kept.offset, stop - kept.offset
        if self.native is not None:
            loss_sum, examples, progress = self._native_block(kept.ids, kept.sentence, kept.position, lo, hi, base,
                                                              n_words, want_loss=True)
        else:
            loss_sum, examples, progress = self._torch_block(kept.ids, kept.sentence, kept.position, lo, hi, base,
                                                             n_words, cfg.batch_for(self.device))
        last = stop == kept.total
        self.chunk += 1
        self.words_done = self.epoch * n_words + (n_words if last else int(kept.position[hi].item()))
        if last:
            self.epoch, self.chunk = self.epoch + 1, 0
        return float(loss_sum) / max(examples, 1), progress


class Hooks:
    """gensim-style callbacks: calling ``hooks(name)`` calls each callback's method ``name`` (when it has
    one) with ``owner``."""

    def __init__(self, callbacks: Sequence[Any] = (), owner: Any = None) -> None:
        self.callbacks, self.owner = list(callbacks), owner

    def __call__(self, name: str) -> None:
        for callback in self.callbacks:
            method = getattr(callback, name, None)
            if method is not None:
                method(self.owner)


def train_word2vec(corpus: str | os.PathLike | Iterable[Sequence[str]], config: Word2VecConfig = Word2VecConfig(),
                   device: str | torch.device = "auto", checkpoint_path: str | os.PathLike | None = None,
                   resume: bool = False, quiet: bool = False, callbacks: Sequence[Any] = (),
                   trim_rule: TrimRule | None = None) -> tuple[KeyedVectors, dict[str, Any]]:
    """Train word2vec on ``corpus`` and return (vectors, statistics).

    ``corpus`` is a corpus file (see :class:`~seqlab.text.corpus.Corpus`) or, as gensim's ``sentences``,
    an iterable of sentences, each a list of string tokens (read once; a generator will do). The
    statistics hold ``seconds``, ``raw_words``, ``words_per_second``, ``loss``, ``vocab_size`` and
    ``config``, the Word2VecConfig actually used. ``callbacks`` are gensim-style epoch hooks (see
    :meth:`Word2Vec.train`); ``trim_rule(word, count, min_count)`` is gensim's vocabulary rule (see
    :meth:`Vocab.from_counts <seqlab.text.vocab.Vocab.from_counts>`).

    With ``checkpoint_path`` the training state is saved there now and then (see :meth:`Word2Vec.train`).
    With ``resume``, training continues where that checkpoint (or one of the previous name,
    ``OUTPUT.ckpt``) left off, its config and vocabulary winning over ``config``; without one that is a
    DataError. Without ``resume``, training starts afresh and replaces the checkpoint.
    """
    refuse_multiprocess("word2vec", f"with --threads CPU threads, {torch.get_num_threads()} here, or one GPU")
    dev = resolve_device(device)
    model: Word2Vec | None = None
    from_file = isinstance(corpus, (str, os.PathLike))
    name = corpus_name(corpus) if from_file else SENTENCES
    if resume:
        model = Word2Vec.from_state_dict(load_training_state(checkpoint_path, CHECKPOINT_KIND, "word2vec", name), dev)
        config = model.config
    config.validate()  # before reading the corpus
    given = model.vocab if model else None
    if from_file:
        with Corpus(str(corpus), config.lowercase, config.max_sentence_length, config.tokenize) as sentences:
            vocab, data = read_corpus(sentences, config.min_count, config.max_vocab, given, quiet, trim_rule)
    else:
        vocab, data = read_sentences(corpus, config.min_count, config.max_vocab, given, quiet, trim_rule,
                                     config.max_sentence_length, SENTENCES)
    model = model or Word2Vec(vocab, config, dev)
    model.corpus = name
    if len(data.ids) < 2:
        raise DataError(f"{name if not from_file else corpus}: fewer than two in-vocabulary tokens; lower --min-count")
    stats: dict[str, Any] = dict(model.train(data, quiet=quiet, checkpoint_path=checkpoint_path, callbacks=callbacks))
    stats["vocab_size"] = len(model.vocab)
    stats["config"] = model.config  # on resume, the checkpoint's config
    return model.keyed_vectors(), stats
