"""The CPU kernel of word2vec (``word2vec_cpu.c``): word2vec.c's sequential Hogwild SGD.

On the CPU, word2vec trained pair after pair from a row in cache is much faster than batched
gathers and scatter-adds of (pairs, dim) temporaries, and it is the paper's update order. The
block's examples (centre words, windows, learning rates) are still made in bulk by
:class:`~seqlab.embeddings.word2vec.Word2Vec`; this module only hands them to the C loop.
"""

from __future__ import annotations

import ctypes

import torch

from seqlab.native import NativeUnavailable, announce_fallback, available, load

SOURCE = "embeddings/word2vec_cpu.c"
# checked when loading: a library without them is rebuilt
SYMBOLS = ("w2v_train_block", "w2v_train_block_batched", "w2v_draw_noise")

_i64, _f32p, _i64p = ctypes.c_int64, ctypes.POINTER(ctypes.c_float), ctypes.POINTER(ctypes.c_int64)


def _library() -> ctypes.CDLL:
    lib = load(SOURCE, SYMBOLS)
    if not getattr(lib, "_seqlab_typed", False):
        lib.w2v_train_block.restype = _i64
        lib.w2v_train_block.argtypes = [
            _f32p, _f32p, _i64,  # w_in, w_out, dim
            _i64p, _i64p, _f32p,  # centre, context, alpha
            _i64, _i64, ctypes.c_int, ctypes.c_int, ctypes.c_int,  # n_rows, width, sg, hs, cbow_mean
            _i64p, _i64p,  # subword offsets and rows (fastText; NULL: none)
            _i64, _f32p, _i64p, _i64,  # negative, alias prob, alias idx, n_noise
            ctypes.c_uint64, _i64p,  # seed, neg_given
            _i64p, ctypes.POINTER(ctypes.c_uint8), _i64p, _i64,  # points, codes, lengths, max_len
            ctypes.c_int, _i64, ctypes.POINTER(ctypes.c_double), _i64p, _i64p,  # threads, loss stride, outputs
        ]
        lib.w2v_train_block_batched.restype = _i64
        lib.w2v_train_block_batched.argtypes = [
            _f32p, _f32p, _i64, _i64p, _i64p, _f32p,  # w_in, w_out, dim, centre, context, alpha
            _i64, _i64,  # n_rows, width
            _i64, _f32p, _i64p, _i64, ctypes.c_uint64, _i64p,  # negative, alias prob, alias idx, n_noise, seed, given
            ctypes.c_int, _i64, ctypes.POINTER(ctypes.c_double), _i64p, _i64p,  # threads, loss stride, outputs
        ]
        lib.w2v_draw_noise.restype = None
        lib.w2v_draw_noise.argtypes = [_i64p, _i64, ctypes.c_uint64, _i64, _f32p, _i64p, _i64]
        lib._seqlab_typed = True
    return lib


def native_available() -> tuple[bool, str]:
    """(True, '') when the C kernel builds and loads here, else (False, reason)."""
    return available(SOURCE, SYMBOLS)


def _ptr(t: torch.Tensor | None, ctype):
    if t is None:
        return None
    if t.device.type != "cpu" or not t.is_contiguous():
        raise ValueError("the native word2vec kernel needs contiguous CPU tensors")
    return ctypes.cast(t.data_ptr(), ctypes.POINTER(ctype))


def _need(t: torch.Tensor, dtype: torch.dtype) -> torch.Tensor:
    return t.to(device="cpu", dtype=dtype).contiguous()


class NativeTables:
    """The constant tables of one model, kept contiguous for the C kernel."""

    def __init__(self, noise_prob: torch.Tensor | None = None, noise_alias: torch.Tensor | None = None,
                 points: torch.Tensor | None = None, codes: torch.Tensor | None = None,
                 lengths: torch.Tensor | None = None) -> None:
        self.prob = None if noise_prob is None else _need(noise_prob, torch.float32)
        self.alias = None if noise_alias is None else _need(noise_alias, torch.int64)
        self.points = None if points is None else _need(points, torch.int64)
        self.codes = None if codes is None else _need(codes, torch.uint8)
        self.lengths = None if lengths is None else _need(lengths, torch.int64)


def train_block(w_in: torch.Tensor, w_out: torch.Tensor, centre: torch.Tensor, context: torch.Tensor,
                alpha: torch.Tensor, sg: bool, hs: bool, negative: int, tables: NativeTables, seed: int,
                threads: int, want_loss: bool = True, negatives: torch.Tensor | None = None,
                loss_stride: int = 1, batched: bool = False, cbow_mean: bool = True,
                subwords: tuple[torch.Tensor, torch.Tensor] | None = None) -> tuple[int, float, int, int]:
    """Train rows of centre words in place; returns (examples, loss sum, loss examples, decisions).

    The loss is summed over the rows r with r % loss_stride == 0 only (``loss examples`` is their
    number of examples), so that a progress bar can estimate it at a fraction of the cost.

    ``hs``: hierarchical-softmax decisions (the tables' points are rows of w_out); ``negative`` > 0: then
    negative sampling with that many noise words (both: word2vec.c's hs=1 with negative > 0).
    w_in (V, D), w_out (V' , D) float32 contiguous CPU tables, updated in place; centre (R,)
    int64; context (R, W) int64 word ids with -1 for empty slots; alpha (R,) float32 per-row
    learning rates. ``negatives`` (R, W, k) for skip-gram or (R, k) for CBOW replaces the
    kernel's own draws (tests). ``batched`` (skip-gram with negative sampling only) shares each row's
    noise words among its context words and updates the row as one small batch (HogBatch; see
    ``w2v_train_block_batched``); ``negatives`` is then (R, k). ``cbow_mean`` False: CBOW sums its
    context rows (gensim's cbow_mean=0). ``subwords`` (fastText): (offsets (V + 1,), rows (R,)) int64, word
    w's input rows being ``rows[offsets[w]:offsets[w + 1]]`` (see :func:`seqlab.embeddings.subwords.subword_rows`;
    w_in then has a row for each); h is their mean and each gets the whole input gradient (skip-gram: the centre
    word's rows, the decisions about each context word, as fastText does). Raises NativeUnavailable when the
    kernel cannot be built.
    """
    lib = _library()
    if (negative > 0 and tables.prob is None) or (hs and tables.points is None):
        raise ValueError("the kernel needs the noise tables for negative > 0 and the Huffman tables for hs")
    for table in (w_in, w_out):
        if table.dtype != torch.float32 or table.device.type != "cpu" or not table.is_contiguous():
            raise ValueError("the native word2vec kernel needs contiguous float32 CPU tables")
    centre, context, alpha = _need(centre, torch.int64), _need(context, torch.int64), _need(alpha, torch.float32)
    rows, width = context.shape
    if negatives is not None:
        negatives = _need(negatives, torch.int64)
    sub_offsets = sub_rows = None
    if subwords is not None:
        sub_offsets, sub_rows = (_need(t, torch.int64) for t in subwords)
        if batched:
            raise ValueError("the batched kernel is plain word2vec; subwords need the sequential loop")
        counts = sub_offsets[1:] - sub_offsets[:-1]
        if sub_offsets.shape[0] < 2 or int(sub_offsets[0]) != 0 or int(sub_offsets[-1]) != sub_rows.shape[0] \
                or int(counts.min()) < 1 or int(sub_rows.max()) >= w_in.shape[0] or int(sub_rows.min()) < 0:
            raise ValueError("subwords must be CSR tables giving every word at least one row of w_in")
    loss, loss_examples, decisions = ctypes.c_double(0.0), ctypes.c_int64(0), ctypes.c_int64(0)
    n_noise = 0 if tables.prob is None else tables.prob.shape[0]
    if batched:
        if not sg or hs:
            raise ValueError("the batched kernel is for skip-gram with negative sampling")
        examples = lib.w2v_train_block_batched(
            _ptr(w_in, ctypes.c_float), _ptr(w_out, ctypes.c_float), w_in.shape[1],
            _ptr(centre, ctypes.c_int64), _ptr(context, ctypes.c_int64), _ptr(alpha, ctypes.c_float), rows, width,
            negative, _ptr(tables.prob, ctypes.c_float), _ptr(tables.alias, ctypes.c_int64), n_noise,
            ctypes.c_uint64(seed & 0xFFFFFFFFFFFFFFFF), _ptr(negatives, ctypes.c_int64),
            max(int(threads), 1), loss_stride, ctypes.byref(loss) if want_loss else None,
            ctypes.byref(loss_examples), ctypes.byref(decisions))
        return int(examples), float(loss.value), int(loss_examples.value), int(decisions.value)
    max_len = 0 if tables.points is None else tables.points.shape[1]
    examples = lib.w2v_train_block(
        _ptr(w_in, ctypes.c_float), _ptr(w_out, ctypes.c_float), w_in.shape[1],
        _ptr(centre, ctypes.c_int64), _ptr(context, ctypes.c_int64), _ptr(alpha, ctypes.c_float),
        rows, width, int(sg), int(hs), int(cbow_mean),
        _ptr(sub_offsets, ctypes.c_int64), _ptr(sub_rows, ctypes.c_int64),
        negative, _ptr(tables.prob, ctypes.c_float), _ptr(tables.alias, ctypes.c_int64), n_noise,
        ctypes.c_uint64(seed & 0xFFFFFFFFFFFFFFFF), _ptr(negatives, ctypes.c_int64),
        _ptr(tables.points, ctypes.c_int64), _ptr(tables.codes, ctypes.c_uint8), _ptr(tables.lengths, ctypes.c_int64),
        max_len, max(int(threads), 1), loss_stride, ctypes.byref(loss) if want_loss else None,
        ctypes.byref(loss_examples), ctypes.byref(decisions))
    return int(examples), float(loss.value), int(loss_examples.value), int(decisions.value)


def draw_noise(n: int, seed: int, row: int, tables: NativeTables) -> torch.Tensor:
    """The first ``n`` noise words the kernel draws for row ``row`` of a block seeded ``seed``."""
    out = torch.empty(n, dtype=torch.int64)
    _library().w2v_draw_noise(_ptr(out, ctypes.c_int64), n, ctypes.c_uint64(seed & 0xFFFFFFFFFFFFFFFF), row,
                              _ptr(tables.prob, ctypes.c_float), _ptr(tables.alias, ctypes.c_int64),
                              tables.prob.shape[0])
    return out


__all__ = ["NativeTables", "NativeUnavailable", "announce_fallback", "draw_noise", "native_available", "train_block"]
