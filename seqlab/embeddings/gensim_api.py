"""gensim's ``Word2Vec`` in seqlab: the same constructor, ``build_vocab`` / ``train`` (online vocabulary
updates included), callbacks and ``wv``, trained by seqlab's kernels (C on the CPU, torch on a GPU).

    from seqlab import Word2Vec
    model = Word2Vec(sentences=[["the", "cat", "sat"], ...], vector_size=100, window=5, min_count=1, sg=1)
    model.wv.most_similar("cat")
    model.build_vocab(more_sentences, update=True)
    model.train(more_sentences, total_examples=len(more_sentences), epochs=model.epochs)
    model.save("w2v.model"); Word2Vec.load("w2v.model")

``FastText`` (gensim's ``gensim.models.FastText``) is the same with character n-grams (``min_n``, ``max_n``,
``bucket``): ``FastText(sentences, sg=1, min_n=3, max_n=6).wv["unseen-word"]``.

The arguments, their defaults (CBOW: ``sg=0``) and their meaning are gensim 4's; ``sentences`` /
``corpus_iterable`` is any iterable of token lists (a generator is read once per call), ``corpus_file`` a
text file (``.gz``/``.bz2``/``.xz`` too) read by seqlab's one-pass C reader. What is not gensim's:

* ``device`` (``"auto"``, ``"cpu"`` or ``"cuda"``) and ``cpu_kernel`` (seqlab's ``--cpu-kernel``); on the
  CPU ``workers`` is the number of threads (torch's, restored after each call).
* ``max_vocab_size`` (gensim's cap on the words held while counting) must stay None: counting here needs
  no cap (``max_final_vocab`` is the size of the vocabulary). ``sorted_vocab`` must stay 1 and ``null_word`` 0.
* ``total_examples`` / ``total_words`` are accepted and not needed (the corpus is counted as it is read);
  ``batch_words``, ``queue_factor``, ``report_delay``, ``progress_per``, ``comment`` and ``hashfxn`` are accepted
  and have no effect (threads and blocks are seqlab's own; words are hashed by the C reader).
* ``save`` / ``load`` use seqlab's safe checkpoint format (no pickle: loading cannot run code).
* New words of an update are appended most frequent first (gensim: in order of first appearance), and
  are initialised from seqlab's generator, so an updated model equals gensim's in kind, not bit for bit.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

import numpy as np
import torch

from seqlab.embeddings.keyed_vectors import KeyedVectors
from seqlab.embeddings.word2vec import CHECKPOINT_KIND, SENTENCES, Hooks, Word2VecConfig
from seqlab.embeddings.word2vec import Word2Vec as Trainer
from seqlab.errors import ConfigError, DataError
from seqlab.text.corpus import Corpus
from seqlab.text.encode import read_corpus, read_sentences, recode
from seqlab.text.vocab import RULE_DISCARD, RULE_KEEP, EncodedCorpus, TrimRule, Vocab

MODEL_KIND = "seqlab.gensim-word2vec"
IGNORED = ("batch_words", "queue_factor", "report_delay", "progress_per", "comment", "hashfxn", "word_count",
           "total_examples", "total_words", "keep_raw_vocab")


class Word2Vec:
    """gensim's ``gensim.models.Word2Vec`` (see the module for what differs). ``wv`` holds the vectors,
    ``trainer`` the seqlab model underneath (:class:`seqlab.embeddings.word2vec.Word2Vec`)."""

    def __init__(self, sentences: Iterable[Sequence[str]] | None = None, corpus_file: str | os.PathLike | None = None,
                 vector_size: int = 100, alpha: float = 0.025, window: int = 5, min_count: int = 5,
                 max_vocab_size: int | None = None, sample: float = 1e-3, seed: int = 1, workers: int = 3,
                 min_alpha: float = 0.0001, sg: int = 0, hs: int = 0, negative: int = 5, ns_exponent: float = 0.75,
                 cbow_mean: int = 1, epochs: int = 5, null_word: int = 0, trim_rule: TrimRule | None = None,
                 sorted_vocab: int = 1, compute_loss: bool = False, callbacks: Sequence[Any] = (),
                 max_final_vocab: int | None = None, shrink_windows: bool = True, device: str = "auto",
                 cpu_kernel: str = "auto", **ignored: Any) -> None:
        _refuse(ignored)
        if not hs and not negative:
            raise ConfigError("negative=0 with hs=0 leaves nothing to train; set negative=5 or hs=1")
        if max_vocab_size is not None:
            raise ConfigError("max_vocab_size (gensim's cap on the words held while counting) is not needed here; "
                              "use max_final_vocab to cap the vocabulary")
        if sorted_vocab != 1 or null_word != 0:
            raise ConfigError("seqlab always sorts the vocabulary by count (sorted_vocab=1) and has no null word "
                              "(null_word=0)")
        self.config = self._config(
            model="sg" if sg else "cbow", loss=("hs+ns" if negative else "hs") if hs else "ns", dim=vector_size,
            window=window,
            negative=negative or Word2VecConfig().negative, ns_exponent=ns_exponent, min_count=min_count,
            sample=sample, epochs=epochs, alpha=alpha, min_alpha=min_alpha,
            seed=seed, cbow_mean=bool(cbow_mean), shrink_windows=shrink_windows, cpu_kernel=cpu_kernel)
        self.config.validate()
        self.workers, self.device, self.max_final_vocab = workers, device, max_final_vocab
        self.compute_loss = compute_loss
        self.trainer: Trainer | None = None
        self.corpus_count = self.corpus_total_words = 0
        self.running_training_loss = 0.0
        self._trains = 0  # train calls so far: with the words done, says when wv is out of date
        self._wv: tuple[int, int, KeyedVectors] | None = None
        if sentences is not None or corpus_file is not None:  # read once: sentences may be a generator
            seen, data = self.build_vocab(sentences, corpus_file, trim_rule=trim_rule)
            self._train(recode(seen.words, data.ids, np.asarray(data.starts)[1:], self.trainer.vocab),
                        self.config, corpus_file, callbacks, quiet=True)

    # ---- gensim's attributes ---------------------------------------------------------------------
    vector_size = property(lambda self: self.config.dim)
    window = property(lambda self: self.config.window)
    min_count = property(lambda self: self.config.min_count)
    epochs = property(lambda self: self.config.epochs)
    alpha = property(lambda self: self.config.alpha)
    min_alpha = property(lambda self: self.config.min_alpha)
    sg = property(lambda self: int(self.config.skipgram))
    hs = property(lambda self: int(self.config.uses_hs))
    negative = property(lambda self: self.config.negative if self.config.uses_ns else 0)
    cbow_mean = property(lambda self: int(self.config.cbow_mean))
    sample = property(lambda self: self.config.sample)

    def _config(self, **settings: Any) -> Word2VecConfig:
        """The trainer's settings from gensim's arguments (a subclass adds its own)."""
        return Word2VecConfig(**settings)

    @property
    def wv(self) -> KeyedVectors:
        """The word vectors as they are now (a copy, made again only after more training)."""
        trainer = self._trained()
        key = (self._trains, trainer.words_done)
        if self._wv is None or self._wv[:2] != key:
            self._wv = (*key, trainer.keyed_vectors())
        return self._wv[2]

    def get_latest_training_loss(self) -> float:
        """The loss of the last train call's last block, per example (gensim sums it; seqlab reports the
        mean, its progress bar's figure); 0.0 without ``compute_loss``."""
        return self.running_training_loss if self.compute_loss else 0.0

    # ---- vocabulary ------------------------------------------------------------------------------
    def build_vocab(self, corpus_iterable: Iterable[Sequence[str]] | None = None,
                    corpus_file: str | os.PathLike | None = None, update: bool = False,
                    trim_rule: TrimRule | None = None, **ignored: Any) -> tuple[Vocab, EncodedCorpus]:
        """Count the corpus into the vocabulary (and start new vectors), as gensim does. With ``update``,
        the words already known keep their vectors and add the new counts; new words that pass
        ``min_count`` (or ``trim_rule``) are appended, with new random vectors. Returns what was read: the
        vocabulary of every word and the corpus encoded with it (gensim returns nothing)."""
        _refuse(ignored)
        if update and self.trainer is None:
            raise DataError("build_vocab(update=True) needs a vocabulary to update; call build_vocab first")
        seen, data = self._read(corpus_iterable, corpus_file, None)
        self._remember(data)
        if not update:
            min_count = self.config.min_count
            if self.max_final_vocab and len(seen) > self.max_final_vocab:  # gensim raises min_count to fit
                min_count = max(min_count, int(seen.counts[self.max_final_vocab]) + 1)
            self._start(Vocab.from_counts(seen.words, seen.counts, seen.total_words, min_count, None,
                                          SENTENCES, trim_rule))
            return seen, data
        old = self.trainer.vocab
        counts, words = old.counts.copy(), list(old.words)
        new_counts: list[int] = []
        for word, count in zip(seen.words, seen.counts.tolist(), strict=True):
            if not _keep(word, count, self.config.min_count, trim_rule):
                continue
            if word in old.index:
                counts[old.index[word]] += count
            else:
                words.append(word)
                new_counts.append(count)
        vocab = Vocab(words, np.concatenate([counts, np.asarray(new_counts, np.int64)]),
                      old.total_words + seen.total_words)
        self._start(vocab, previous=self.trainer)
        return seen, data

    def _start(self, vocab: Vocab, previous: Trainer | None = None) -> None:
        """A new trainer over ``vocab``; with ``previous``, its vectors for the words they share (the first
        rows: an update only appends words), its output rows as far as they go and its generator."""
        trainer = Trainer(vocab, self.config, self.device)
        if previous is not None:
            with torch.no_grad():
                n_in = min(len(previous.vocab), len(vocab))
                trainer.w_in[:n_in] = previous.w_in[:n_in]
                if self.config.subwords:  # the n-gram rows, after the words' rows
                    trainer.w_in[len(vocab):] = previous.w_in[len(previous.vocab):]
                n_out = min(previous.w_out.shape[0], trainer.w_out.shape[0])
                trainer.w_out[:n_out] = previous.w_out[:n_out]
            trainer.generator.set_state(previous.generator.get_state())
        self.trainer, self._wv = trainer, None

    def _remember(self, data: EncodedCorpus) -> None:
        self.corpus_count, self.corpus_total_words = len(data.starts) - 1, data.raw_words

    # ---- training --------------------------------------------------------------------------------
    def train(self, corpus_iterable: Iterable[Sequence[str]] | None = None,
              corpus_file: str | os.PathLike | None = None, epochs: int | None = None,
              start_alpha: float | None = None, end_alpha: float | None = None, compute_loss: bool | None = None,
              callbacks: Sequence[Any] = (), quiet: bool = True, **ignored: Any) -> tuple[int, int]:
        """Train ``epochs`` passes (default: the model's) over the corpus, the learning rate going from
        ``start_alpha`` to ``end_alpha`` (default: ``alpha`` to ``min_alpha``); ``callbacks`` get
        ``on_train_begin``/``on_epoch_begin``/``on_epoch_end``/``on_train_end`` with this model. Returns
        gensim's pair (words trained, raw words), both the raw words here: seqlab does not count the
        words left after subsampling apart."""
        _refuse(ignored)
        trainer = self._trained()
        cfg = dataclasses.replace(self.config, epochs=epochs or self.config.epochs,
                                  alpha=self.config.alpha if start_alpha is None else start_alpha,
                                  min_alpha=self.config.min_alpha if end_alpha is None else end_alpha)
        cfg.validate()
        if compute_loss is not None:
            self.compute_loss = compute_loss
        _, data = self._read(corpus_iterable, corpus_file, trainer.vocab)
        return self._train(data, cfg, corpus_file, callbacks, quiet)

    def _train(self, data: EncodedCorpus, cfg: Word2VecConfig, corpus_file: str | os.PathLike | None,
               callbacks: Sequence[Any], quiet: bool) -> tuple[int, int]:
        trainer = self._trained()
        if len(data.ids) < 2:
            raise DataError("fewer than two in-vocabulary tokens to train on (a generator is read once: give a "
                            "list, or a new generator to each call); lower min_count")
        self._remember(data)
        trainer.config, trainer.epoch, trainer.chunk, trainer.words_done = cfg, 0, 0, 0
        trainer.corpus = SENTENCES if corpus_file is None else os.fspath(corpus_file)
        self._trains += 1
        with _threads(self.workers, trainer.device):
            stats = trainer.train(data, quiet=quiet, callbacks=callbacks, owner=self)
        self.running_training_loss = float(stats["loss"])
        raw = int(round(stats["raw_words"]))
        return raw, raw

    def _trained(self) -> Trainer:
        if self.trainer is None:
            raise DataError("the model has no vocabulary yet: call build_vocab (or give sentences to Word2Vec)")
        return self.trainer

    def _read(self, sentences: Iterable[Sequence[str]] | None, corpus_file: str | os.PathLike | None,
              vocab: Vocab | None) -> tuple[Vocab, EncodedCorpus]:
        """The corpus read with ``vocab``, or with a vocabulary of all its words (most frequent first)."""
        if (sentences is None) == (corpus_file is None):
            raise DataError("give exactly one of corpus_iterable (sentences) and corpus_file")
        cfg = self.config
        if corpus_file is not None:
            with Corpus(os.fspath(corpus_file), cfg.lowercase, cfg.max_sentence_length, cfg.tokenize) as corpus:
                return read_corpus(corpus, 1, 0, vocab, True)
        return read_sentences(sentences, 1, 0, vocab, True, None, cfg.max_sentence_length, SENTENCES)

    # ---- files -----------------------------------------------------------------------------------
    def save(self, path: str | os.PathLike) -> None:
        """The whole model (settings, vocabulary, both tables, generator), atomically, in seqlab's safe
        checkpoint format."""
        from seqlab.io import save_checkpoint

        state = self._trained().state_dict()
        state.update(kind=MODEL_KIND, workers=self.workers, compute_loss=self.compute_loss,
                     max_final_vocab=self.max_final_vocab or 0,
                     running_training_loss=self.running_training_loss)
        save_checkpoint(state, path)

    @classmethod
    def load(cls, path: str | os.PathLike, device: str = "auto") -> Word2Vec:
        """A model written by :meth:`save`."""
        from seqlab.io import load_checkpoint

        state = load_checkpoint(path)
        if state.get("kind") != MODEL_KIND:
            raise DataError(f"{path}: is a {state.get('kind')!r} file, not a model saved by seqlab.Word2Vec.save")
        trainer = Trainer.from_state_dict({**state, "kind": CHECKPOINT_KIND}, device)
        model = cls.__new__(cls)
        model.config, model.workers, model.device = trainer.config, int(state["workers"]), device
        model.max_final_vocab = int(state["max_final_vocab"]) or None
        model.compute_loss = bool(state["compute_loss"])
        model.trainer, model._wv, model._trains = trainer, None, 0
        model.corpus_count = model.corpus_total_words = 0
        model.running_training_loss = float(state["running_training_loss"])
        return model


class FastText(Word2Vec):
    """gensim's ``gensim.models.FastText`` (Bojanowski et al. 2017): :class:`Word2Vec` with character n-grams
    (``min_n``, ``max_n``, ``bucket``; gensim's defaults 3, 6, 2,000,000); ``wv`` is a
    :class:`~seqlab.embeddings.fasttext_vectors.FastTextVectors`, which gives words outside the vocabulary a
    vector. As in fastText, a word's input vector divides by its n-grams plus one (gensim's skip-gram divides by
    the n-grams only), so the vectors equal gensim's in kind, not bit for bit."""

    def __init__(self, sentences: Iterable[Sequence[str]] | None = None, corpus_file: str | os.PathLike | None = None,
                 min_n: int = 3, max_n: int = 6, bucket: int = 2_000_000, **arguments: Any) -> None:
        self.subword_settings = {"min_n": min_n, "max_n": max_n, "bucket": bucket}
        super().__init__(sentences, corpus_file, **arguments)

    def _config(self, **settings: Any) -> Word2VecConfig:
        return Word2VecConfig(**{**settings, "model": "fasttext-" + settings["model"], **self.subword_settings})

    min_n = property(lambda self: self.config.min_n)
    max_n = property(lambda self: self.config.max_n)
    bucket = property(lambda self: self.config.bucket)


def _keep(word: str, count: int, min_count: int, trim_rule: TrimRule | None) -> bool:
    """gensim.utils.keep_vocab_item."""
    rule = trim_rule(word, count, min_count) if trim_rule is not None else None
    return True if rule == RULE_KEEP else False if rule == RULE_DISCARD else count >= min_count


def _refuse(ignored: dict[str, Any]) -> None:
    unknown = sorted(set(ignored) - set(IGNORED))
    if unknown:
        raise TypeError(f"unexpected argument{'s' if len(unknown) > 1 else ''}: {', '.join(unknown)}")


@contextlib.contextmanager
def _threads(workers: int, device: torch.device) -> Iterator[None]:
    """torch's thread count set to ``workers`` on the CPU for the duration."""
    before = torch.get_num_threads()
    if device.type == "cpu" and workers and workers > 0:
        torch.set_num_threads(int(workers))
    try:
        yield
    finally:
        torch.set_num_threads(before)


__all__ = ["FastText", "Hooks", "Word2Vec"]
