"""Subword tokenisation with sentencepiece (Kudo & Richardson 2018): train, encode, decode, save.

sentencepiece does all the work; this wrapper fixes the special ids every seqlab model relies on
(pad 0, unk 1, bos 2, eos 3), trains from an in-memory list of sentences, and keeps the model as
bytes so it can travel inside a checkpoint.
"""

from __future__ import annotations

import io
import os
from collections.abc import Iterable, Sequence

import sentencepiece as spm

from seqlab.errors import ConfigError, DataError

PAD, UNK, BOS, EOS = 0, 1, 2, 3
MODEL_TYPES = ("unigram", "bpe", "char", "word")


class Subword:
    """A trained sentencepiece model: ``encode(str) -> list[int]``, ``decode(list[int]) -> str``."""

    def __init__(self, model: bytes) -> None:
        self.model_bytes = bytes(model)
        self.sp = spm.SentencePieceProcessor(model_proto=self.model_bytes)
        if (self.sp.pad_id(), self.sp.unk_id(), self.sp.bos_id(), self.sp.eos_id()) != (PAD, UNK, BOS, EOS):
            raise DataError("sentencepiece model does not use seqlab's special ids (pad 0, unk 1, bos 2, eos 3)")

    @classmethod
    def train(cls, sentences: Iterable[str], vocab_size: int, model_type: str = "unigram",
              character_coverage: float = 1.0, seed_sentences: int = 1_000_000, lowercase: bool = False) -> Subword:
        """Train on ``sentences``; ``vocab_size`` is capped by what the data allow (``hard_vocab_limit`` off)."""
        if model_type not in MODEL_TYPES:
            raise ConfigError(f"unknown sentencepiece model type {model_type!r}; "
                              f"choose one of {', '.join(MODEL_TYPES)}")
        data = [s for s in sentences if s.strip()]
        if not data:
            raise DataError("no text to train the subword model on")
        model = io.BytesIO()
        spm.SentencePieceTrainer.train(
            sentence_iterator=iter(data), model_writer=model, vocab_size=vocab_size, model_type=model_type,
            character_coverage=character_coverage, pad_id=PAD, unk_id=UNK, bos_id=BOS, eos_id=EOS,
            hard_vocab_limit=False, input_sentence_size=seed_sentences, shuffle_input_sentence=True,
            normalization_rule_name="nmt_nfkc_cf" if lowercase else "nmt_nfkc", minloglevel=2,
            num_threads=max(1, min(4, os.cpu_count() or 1)),
        )
        return cls(model.getvalue())

    def __len__(self) -> int:
        return self.sp.get_piece_size()

    def encode(self, text: str) -> list[int]:
        return self.sp.encode(text, out_type=int)

    def encode_batch(self, texts: Sequence[str]) -> list[list[int]]:
        return self.sp.encode(list(texts), out_type=int)

    def sample_batch(self, texts: Sequence[str], alpha: float, nbest: int = -1, seed: int = 1) -> list[list[int]]:
        """One sampled segmentation of each text: subword regularisation (Kudo 2018) for a unigram model,
        sampled from the ``nbest`` best segmentations (-1: all) with the probabilities raised to ``alpha``;
        BPE-dropout (Provilkov et al. 2020) with merge-dropout probability ``alpha`` for a BPE model. The
        same ``seed`` gives the same segmentations; every one decodes back to its text."""
        spm.set_random_generator_seed(int(seed))
        return self.sp.encode(list(texts), out_type=int, enable_sampling=True, alpha=float(alpha),
                              nbest_size=int(nbest), num_threads=1)

    def decode(self, ids: Sequence[int]) -> str:
        """Detokenised text of ``ids`` (special ids dropped)."""
        return self.sp.decode([int(i) for i in ids if int(i) > EOS])

    def pieces(self, text: str) -> list[str]:
        return self.sp.encode(text, out_type=str)

    def id_to_piece(self, i: int) -> str:
        return self.sp.id_to_piece(int(i))

    def unknown_characters(self, text: str) -> list[str]:
        """The characters of ``text`` this model maps to unk (empty when it covers them all)."""
        return sorted({ch for ch in text if not ch.isspace() and self.sp.piece_to_id(ch) == UNK
                       and UNK in self.sp.encode(ch, out_type=int)})
