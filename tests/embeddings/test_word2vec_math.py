"""The batched word2vec SGD updates against autograd, in float64.

Every step applies ``param -= alpha * dL/dparam`` for the loss of its binary decisions,
L = -sum mask * log sigmoid((2y - 1) s), written out below independently of the library; rows hit
several times in a batch get the sum of their updates. The exceptions are word2vec.c's: CBOW gives
every context row the gradient with respect to the mean h (not divided by the context size), and
hierarchical softmax skips a decision whose |score| >= MAX_EXP.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from seqlab.embeddings.huffman import build_huffman
from seqlab.embeddings.word2vec import Word2VecConfig, learning_rate
from seqlab.embeddings.word2vec_math import (
    MAX_EXP,
    cbow_step,
    hit_scale,
    hs_targets,
    ns_targets,
    output_step,
    scatter_rows_,
    skipgram_hs_step,
    skipgram_step,
)

DIM = 5
ALPHA = 0.05
COUNTS = np.array([9, 7, 5, 4, 3, 2, 1])  # V = 7, sorted as build_huffman wants
VOCAB = len(COUNTS)


def decision_loss(h: torch.Tensor, w_out: torch.Tensor, targets: torch.Tensor, labels: torch.Tensor,
                  mask: torch.Tensor) -> torch.Tensor:
    """L = -sum mask * log sigmoid((2y - 1) s) with s = h . w_out[target]; h (P, D), targets (P, K)."""
    scores = (w_out[targets] * h.unsqueeze(1)).sum(-1)
    return -(mask * torch.log(torch.sigmoid((2 * labels.double() - 1) * scores))).sum()


def tables(seed: int, out_rows: int, scale: float = 1.0) -> tuple[torch.Tensor, torch.Tensor]:
    gen = torch.Generator().manual_seed(seed)
    w_in = (torch.rand(VOCAB, DIM, generator=gen, dtype=torch.float64) - 0.5) * scale
    w_out = (torch.rand(out_rows, DIM, generator=gen, dtype=torch.float64) - 0.5) * scale
    return w_in, w_out


def huffman_tables() -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    tree = build_huffman(COUNTS)
    return torch.as_tensor(tree.points), torch.as_tensor(tree.codes), torch.as_tensor(tree.lengths)


def saturation_mask(h: torch.Tensor, w_out: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """1 where word2vec.c's hierarchical softmax uses a decision (|score| < MAX_EXP)."""
    scores = (w_out[targets] * h.unsqueeze(1)).sum(-1)
    return (scores.abs() < MAX_EXP).double()


# ------------------------------------------------------------------------------ targets
def test_ns_targets_mask_a_negative_equal_to_the_centre():
    centre = torch.tensor([1, 2, 0])
    negatives = torch.tensor([[4, 1, 1], [2, 5, 6], [3, 3, 4]])
    targets, labels, mask = ns_targets(centre, negatives)
    assert targets.tolist() == [[1, 4, 1, 1], [2, 2, 5, 6], [0, 3, 3, 4]]
    assert labels.tolist() == [[1, 0, 0, 0]] * 3
    assert mask.tolist() == [[1, 1, 0, 0], [1, 0, 1, 1], [1, 1, 1, 1]]


def test_hs_targets_follow_the_huffman_path():
    tree = build_huffman(np.array([5, 3, 2, 1, 1]))  # worked by hand in test_huffman.py
    points, codes, lengths = (torch.as_tensor(a) for a in (tree.points, tree.codes, tree.lengths))
    targets, labels, mask = hs_targets(torch.tensor([3, 0, 1]), points, codes, lengths)
    assert targets.tolist() == [[3, 2, 1, 0], [3, 0, 0, 0], [3, 2, 0, 0]]
    assert labels[0].tolist() == [0, 0, 1, 0]  # label = 1 - code, codes [1, 1, 0, 1]
    assert labels[2, :2].tolist() == [0, 1]  # codes [1, 0]
    assert mask.tolist() == [[1, 1, 1, 1], [1, 0, 0, 0], [1, 1, 0, 0]]


# ------------------------------------------------------------------------------ output layer
def test_output_step_ns_equals_autograd():
    _, w_out = tables(0, VOCAB)
    h = torch.rand(4, DIM, generator=torch.Generator().manual_seed(1), dtype=torch.float64) - 0.5
    centre = torch.tensor([1, 2, 1, 3])
    negatives = torch.tensor([[4, 1], [2, 5], [0, 0], [4, 6]])  # repeats, and two negatives equal to the centre
    targets, labels, mask = ns_targets(centre, negatives)
    hand_mask = torch.tensor([[1, 1, 0], [1, 0, 1], [1, 1, 1], [1, 1, 1]], dtype=torch.float64)

    h_ref, w_ref = h.clone().requires_grad_(), w_out.clone().requires_grad_()
    loss_ref = decision_loss(h_ref, w_ref, targets, labels, hand_mask)
    loss_ref.backward()

    updated = w_out.clone()
    grad_h, loss = output_step(h, updated, targets, labels, mask, ALPHA)
    torch.testing.assert_close(updated, w_out - ALPHA * w_ref.grad, rtol=0, atol=1e-14)
    torch.testing.assert_close(grad_h, -ALPHA * h_ref.grad, rtol=0, atol=1e-14)
    torch.testing.assert_close(loss, loss_ref.detach(), rtol=1e-12, atol=0)
    assert not torch.equal(updated[5], w_out[5]) and not torch.equal(updated[6], w_out[6])


def test_output_step_hs_equals_autograd():
    _, w_out = tables(2, VOCAB - 1)
    h = torch.rand(3, DIM, generator=torch.Generator().manual_seed(3), dtype=torch.float64) - 0.5
    targets, labels, mask = hs_targets(torch.tensor([6, 0, 6]), *huffman_tables())
    assert torch.all(saturation_mask(h, w_out, targets) == 1)  # small scores: every decision is used

    h_ref, w_ref = h.clone().requires_grad_(), w_out.clone().requires_grad_()
    loss_ref = decision_loss(h_ref, w_ref, targets, labels, mask.double())
    loss_ref.backward()

    updated = w_out.clone()
    grad_h, loss = output_step(h, updated, targets, labels, mask, ALPHA, skip_saturated=True)
    torch.testing.assert_close(updated, w_out - ALPHA * w_ref.grad, rtol=0, atol=1e-14)
    torch.testing.assert_close(grad_h, -ALPHA * h_ref.grad, rtol=0, atol=1e-14)
    torch.testing.assert_close(loss, loss_ref.detach(), rtol=1e-12, atol=0)


def test_hs_skips_decisions_with_saturated_scores():
    # word 3 of counts [5, 3, 2, 1, 1] has path [3, 2, 1, 0] and labels [0, 0, 1, 0] (test_huffman.py)
    tree = build_huffman(np.array([5, 3, 2, 1, 1]))
    targets, labels, mask = hs_targets(torch.tensor([3]), *(torch.as_tensor(a) for a in
                                                            (tree.points, tree.codes, tree.lengths)))
    h = torch.tensor([[1.0, 0.0, 0.0]], dtype=torch.float64)
    w_out = torch.tensor([[5.9, 1.0, 0.0],   # node 0: s = 5.9, used
                          [-6.0, 2.0, 0.0],  # node 1: s = -6, |s| >= 6: skipped
                          [7.0, 0.0, 3.0],   # node 2: s = 7: skipped
                          [0.5, 0.0, 1.0]], dtype=torch.float64)  # node 3 (root): used

    updated = w_out.clone()
    grad_h, loss = output_step(h, updated, targets, labels, mask, ALPHA, skip_saturated=True)
    assert torch.equal(updated[1:3], w_out[1:3])  # no update for the skipped decisions
    # the used ones by hand: u <- u + alpha (y - sigma(s)) h,  grad_h = alpha sum (y - sigma(s)) u
    g_root = ALPHA * (0.0 - torch.sigmoid(torch.tensor(0.5, dtype=torch.float64)))
    g_node0 = ALPHA * (0.0 - torch.sigmoid(torch.tensor(5.9, dtype=torch.float64)))
    torch.testing.assert_close(updated[3], w_out[3] + g_root * h[0], rtol=0, atol=1e-15)
    torch.testing.assert_close(updated[0], w_out[0] + g_node0 * h[0], rtol=0, atol=1e-15)
    torch.testing.assert_close(grad_h[0], g_root * w_out[3] + g_node0 * w_out[0], rtol=0, atol=1e-15)
    expected_loss = -(torch.log(torch.sigmoid(torch.tensor([-0.5, -5.9], dtype=torch.float64)))).sum()
    torch.testing.assert_close(loss, expected_loss, rtol=1e-12, atol=0)

    # negative sampling (skip_saturated=False) never skips: the same scores all move their rows
    updated = w_out.clone()
    output_step(h, updated, targets, labels, mask, ALPHA, skip_saturated=False)
    assert not torch.equal(updated[1], w_out[1]) and not torch.equal(updated[2], w_out[2])


# ------------------------------------------------------------------------------ skip-gram
@pytest.mark.parametrize("loss_kind,scale", [("ns", 1.0), ("hs", 1.0), ("hs", 12.0)])
def test_skipgram_step_equals_autograd(loss_kind, scale):
    w_out_rows = VOCAB if loss_kind == "ns" else VOCAB - 1
    w_in, w_out = tables(4, w_out_rows, scale)
    context = torch.tensor([0, 3, 3, 5, 0, 6])  # repeated input rows: their updates add up
    centre = torch.tensor([1, 2, 2, 6, 4, 0])
    if loss_kind == "ns":
        negatives = torch.tensor([[5, 2], [2, 0], [1, 1], [3, 6], [4, 5], [1, 3]])
        targets, labels, mask = ns_targets(centre, negatives)
        ref_mask = mask.double()
    else:
        targets, labels, mask = hs_targets(centre, *huffman_tables())
        ref_mask = mask.double() * saturation_mask(w_in[context], w_out, targets)
        if scale > 1:  # some decisions saturate, some do not
            assert 0 < ref_mask.sum() < mask.sum()

    w_in_ref, w_out_ref = w_in.clone().requires_grad_(), w_out.clone().requires_grad_()
    loss_ref = decision_loss(w_in_ref[context], w_out_ref, targets, labels, ref_mask)
    loss_ref.backward()

    new_in, new_out = w_in.clone(), w_out.clone()
    loss = skipgram_step(new_in, new_out, context, targets, labels, mask, ALPHA, hs=loss_kind == "hs")
    atol = 1e-14 * scale**2
    torch.testing.assert_close(new_in, w_in - ALPHA * w_in_ref.grad, rtol=0, atol=atol)
    torch.testing.assert_close(new_out, w_out - ALPHA * w_out_ref.grad, rtol=0, atol=atol)
    torch.testing.assert_close(loss, loss_ref.detach(), rtol=1e-12, atol=0)
    assert torch.equal(new_in[[1, 2, 4]], w_in[[1, 2, 4]])  # never a context word: untouched
    assert not torch.equal(new_in[3], w_in[3])


@pytest.mark.parametrize("scale,max_hits", [(1.0, 0.0), (12.0, 0.0), (1.0, 2.0), (12.0, 3.0)])
def test_skipgram_hs_step_equals_pairwise_skipgram_step(scale, max_hits):
    w_in, w_out = tables(5, VOCAB - 1, scale)
    points, codes, lengths = huffman_tables()
    centre = torch.tensor([6, 0, 3, 0])
    context = torch.tensor([[1, 2, 4, 5], [6, 6, 2, 0], [0, 1, 5, 2], [3, 4, 4, 4]])
    context_mask = torch.tensor([[0, 1, 1, 0], [1, 1, 1, 1], [1, 1, 1, 0], [0, 0, 1, 1]], dtype=torch.float64)
    targets, labels, mask = (t.double() if t.is_floating_point() else t
                             for t in hs_targets(centre, points, codes, lengths))

    grouped_in, grouped_out = w_in.clone(), w_out.clone()
    loss_grouped = skipgram_hs_step(grouped_in, grouped_out, context, context_mask, targets, labels, mask, ALPHA,
                                    max_hits)

    rows, slots = context_mask.nonzero(as_tuple=True)  # the same (context, centre) pairs, one by one
    pair_targets, pair_labels, pair_mask = hs_targets(centre[rows], points, codes, lengths)
    pair_mask = pair_mask.double()  # the tables are float64 here (float32 in training)
    pair_in, pair_out = w_in.clone(), w_out.clone()
    loss_pairs = skipgram_step(pair_in, pair_out, context[rows, slots], pair_targets, pair_labels, pair_mask,
                               ALPHA, hs=True, max_hits=max_hits)

    assert not torch.equal(grouped_in, w_in) and not torch.equal(grouped_out, w_out)
    torch.testing.assert_close(grouped_in, pair_in, rtol=0, atol=1e-13 * scale**2)
    torch.testing.assert_close(grouped_out, pair_out, rtol=0, atol=1e-13 * scale**2)
    torch.testing.assert_close(loss_grouped, loss_pairs, rtol=1e-12, atol=0)


# ------------------------------------------------------------------------------ CBOW
@pytest.mark.parametrize("loss_kind", ["ns", "hs"])
def test_cbow_step_equals_autograd_with_respect_to_the_mean(loss_kind):
    w_in, w_out = tables(6, VOCAB if loss_kind == "ns" else VOCAB - 1)
    centre = torch.tensor([2, 4, 2])
    context = torch.tensor([[0, 1, 3, 5], [1, 1, 6, 5], [3, 0, 6, 6]])  # row 1 holds word 1 twice
    context_mask = torch.tensor([[1, 1, 1, 0], [1, 1, 1, 0], [0, 1, 1, 1]], dtype=torch.float64)
    if loss_kind == "ns":
        targets, labels, mask = ns_targets(centre, torch.tensor([[5, 2], [0, 1], [4, 2]]))
    else:
        targets, labels, mask = hs_targets(centre, *huffman_tables())
    m = context_mask
    h = (w_in[context] * m.unsqueeze(2)).sum(1) / m.sum(1, keepdim=True)  # mean of the context vectors

    h_ref, w_out_ref = h.clone().requires_grad_(), w_out.clone().requires_grad_()
    loss_ref = decision_loss(h_ref, w_out_ref, targets, labels, mask.double())
    loss_ref.backward()
    expected_in = w_in.clone()
    for p in range(len(centre)):
        for c in range(context.shape[1]):
            if context_mask[p, c]:
                expected_in[context[p, c]] -= ALPHA * h_ref.grad[p]  # dL/dh, not divided by the context size

    new_in, new_out = w_in.clone(), w_out.clone()
    loss = cbow_step(new_in, new_out, context, context_mask, targets, labels, mask, ALPHA, hs=loss_kind == "hs")
    torch.testing.assert_close(new_out, w_out - ALPHA * w_out_ref.grad, rtol=0, atol=1e-14)
    torch.testing.assert_close(new_in, expected_in, rtol=0, atol=1e-14)
    torch.testing.assert_close(loss, loss_ref.detach(), rtol=1e-12, atol=0)
    assert torch.equal(new_in[[2, 4, 5]], w_in[[2, 4, 5]])  # 2 and 4 are no context word, 5 only in masked slots


def test_cbow_context_rows_get_count_times_the_autograd_gradient():
    # one window of three distinct words and one padded slot: each row moves by -alpha * dL/dh, which
    # is 3 times -alpha * dL/d(row) since h = (v0 + v1 + v3) / 3 (word2vec.c and gensim, cbow_mean=1)
    w_in, w_out = tables(7, VOCAB)
    context = torch.tensor([[0, 1, 3, 6]])
    context_mask = torch.tensor([[1, 1, 1, 0]], dtype=torch.float64)
    targets, labels, mask = ns_targets(torch.tensor([2]), torch.tensor([[4, 5, 2]]))

    w_in_ref = w_in.clone().requires_grad_()
    h = w_in_ref[context[0, :3]].mean(0, keepdim=True)
    decision_loss(h, w_out, targets, labels, mask.double()).backward()

    new_in = w_in.clone()
    cbow_step(new_in, w_out.clone(), context, context_mask, targets, labels, mask, ALPHA, hs=False)
    torch.testing.assert_close(new_in - w_in, -ALPHA * 3 * w_in_ref.grad, rtol=0, atol=1e-14)
    assert torch.equal(new_in[6], w_in[6])  # the padded slot's word is untouched


# ------------------------------------------------------------------------------ row cap
def test_scatter_rows_sums_duplicates_and_hit_scale_caps_heavy_rows():
    rows = torch.tensor([0, 0, 0, 1, 2])
    values = torch.ones(5, 2, dtype=torch.float64)
    plain = torch.zeros(3, 2, dtype=torch.float64)
    scatter_rows_(plain, rows, values)
    assert plain[:, 0].tolist() == [3.0, 1.0, 1.0]
    ones = torch.ones(5, dtype=torch.float64)
    assert hit_scale(rows, ones, 3, 0.0) is None  # off: plain summed SGD
    capped = torch.zeros(3, 2, dtype=torch.float64)
    scale = hit_scale(rows, ones, 3, 2.0)  # row 0: 3 hits > 2, scaled by 2/3
    scatter_rows_(capped, rows, values * scale.unsqueeze(1))
    torch.testing.assert_close(capped[:, 0], torch.tensor([2.0, 1.0, 1.0], dtype=torch.float64))
    weighted = torch.zeros(3, 2, dtype=torch.float64)
    hits = torch.tensor([1.0, 0.0, 1.0, 4.0, 2.0], dtype=torch.float64)  # row 0: 2, row 1: 4, row 2: 2 hits
    scatter_rows_(weighted, rows, values * hit_scale(rows, hits, 3, 2.0).unsqueeze(1))
    torch.testing.assert_close(weighted[:, 0], torch.tensor([3.0, 0.5, 1.0], dtype=torch.float64))


# ------------------------------------------------------------------------------ schedule
def test_learning_rate_decays_linearly_and_clamps():
    cfg = Word2VecConfig(alpha=0.025, min_alpha=0.0001)
    assert learning_rate(cfg, 0.0) == pytest.approx(0.025, abs=1e-15)
    assert learning_rate(cfg, 1.0) == pytest.approx(0.0001, abs=1e-15)
    assert learning_rate(cfg, 0.5) == pytest.approx(0.01255, abs=1e-15)
    assert learning_rate(cfg, 0.25) == pytest.approx(0.018775, abs=1e-15)
    assert learning_rate(cfg, -0.3) == pytest.approx(0.025, abs=1e-15)
    assert learning_rate(cfg, 1.7) == pytest.approx(0.0001, abs=1e-15)
    assert learning_rate(Word2VecConfig(alpha=0.5, min_alpha=0.5), 0.9) == 0.5


def test_output_step_caps_the_summed_update_of_a_heavy_row():
    torch.manual_seed(3)
    h = torch.randn(4, 5, dtype=torch.float64)
    w_out = torch.randn(6, 5, dtype=torch.float64) * 0.1
    targets = torch.tensor([[2, 5], [2, 4], [2, 3], [1, 0]])  # row 2 hit 3 times, the others once
    labels = torch.tensor([[1.0, 0.0]] * 4, dtype=torch.float64)
    mask = torch.ones(4, 2, dtype=torch.float64)
    plain, capped = w_out.clone(), w_out.clone()
    grad_plain, _ = output_step(h, plain, targets, labels, mask, ALPHA)
    grad_capped, _ = output_step(h, capped, targets, labels, mask, ALPHA, max_hits=1.0)
    torch.testing.assert_close(capped[2] - w_out[2], (plain[2] - w_out[2]) / 3, rtol=0, atol=1e-15)
    for row in (0, 1, 3, 4, 5):
        torch.testing.assert_close(capped[row], plain[row], rtol=0, atol=0)
    torch.testing.assert_close(grad_capped, grad_plain, rtol=0, atol=0)  # the input side is not capped here


def test_cbow_sum_rows_get_the_autograd_gradient_over_the_context_size():
    # gensim's cbow_mean=0: h = v0 + v1 + v3, and each row moves by -alpha * dL/dh / 3, which is
    # -alpha * dL/d(row) / 3 since dh/d(row) = 1 (gensim divides the summed step among the rows)
    w_in, w_out = tables(7, VOCAB)
    context = torch.tensor([[0, 1, 3, 6]])
    context_mask = torch.tensor([[1, 1, 1, 0]], dtype=torch.float64)
    targets, labels, mask = ns_targets(torch.tensor([2]), torch.tensor([[4, 5, 2]]))

    w_in_ref, w_out_ref = w_in.clone().requires_grad_(), w_out.clone().requires_grad_()
    h = w_in_ref[context[0, :3]].sum(0, keepdim=True)
    loss_ref = decision_loss(h, w_out_ref, targets, labels, mask.double())
    loss_ref.backward()

    new_in, new_out = w_in.clone(), w_out.clone()
    loss = cbow_step(new_in, new_out, context, context_mask, targets, labels, mask, ALPHA, hs=False, mean=False)
    torch.testing.assert_close(new_in - w_in, -ALPHA * w_in_ref.grad / 3, rtol=0, atol=1e-14)
    torch.testing.assert_close(new_out, w_out - ALPHA * w_out_ref.grad, rtol=0, atol=1e-14)
    torch.testing.assert_close(loss, loss_ref.detach(), rtol=1e-12, atol=0)
    assert torch.equal(new_in[6], w_in[6])
