"""The word2vec objectives and their SGD updates, batched (Mikolov et al. 2013a, 2013b).

Both architectures reduce to one output layer of binary logistic decisions on an input vector h:

- skip-gram: h = W_in[context word]; the decisions are about the centre word
  (word2vec.c predicts the centre word from each context word, and so does gensim);
- CBOW: h = mean of W_in over the context words; the decisions are about the centre word.

The decisions are either negative sampling (target: the centre word with label 1, then k noise
words with label 0; a noise word equal to the centre word is skipped, as in word2vec.c) or
hierarchical softmax (target: the inner nodes on the Huffman path of the centre word, label
1 - code; a decision with |score| >= 6 is skipped, as in word2vec.c's MAX_EXP table).

For one decision with score s = h . u and label y, the loss is -log sigma((2y - 1) s), whose
gradient is dL/ds = sigma(s) - y. The update is plain SGD with rate alpha:
u <- u - alpha (sigma(s) - y) h, and every input row gets -alpha sum_k (sigma(s_k) - y_k) u_k.
For CBOW that sum is added to each context row undivided by the context size, as word2vec.c
and gensim do (cbow_mean=1); it is the gradient with respect to the mean h, not to each row. With
gensim's cbow_mean=0, h is the sum of the context rows and each gets the sum divided by the context
size (gensim's choice, kept for parity: the step of a summed input is spread over its rows).

All rows of a batch read the same parameters and their updates are summed into the tables (a
sparse scatter-add: no dense (V, D) gradient is ever made). word2vec.c applies the updates of one
row one after the other, each seeing the previous one; summing n updates computed from the same
stale row is the same to first order while n is small, but overshoots for the few rows that a
batch hits hundreds of times (the Huffman root, "the" as a negative sample), and a large batch
then diverges. So a row hit n > ``max_hits`` times in one step gets its summed update scaled by
max_hits / n: rows hit at most ``max_hits`` times get exactly the plain SGD sum.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

MAX_EXP = 6.0


def scatter_rows_(table: torch.Tensor, rows: torch.Tensor, values: torch.Tensor) -> None:
    """table[rows[i]] += values[i] for every i, duplicates summed (in place; rows (N,), values (N, D)).

    scatter_add_ with an expanded index is about twice as fast as index_add_ on the CPU.
    """
    table.scatter_add_(0, rows.unsqueeze(1).expand(-1, table.shape[1]), values)


def hit_scale(rows: torch.Tensor, hits: torch.Tensor, size: int, max_hits: float) -> torch.Tensor | None:
    """Per-entry factor (N,) min(1, max_hits / n) where n is the total ``hits`` of the entry's row.

    rows: (N,) table rows; hits: (N,) how many decisions each entry's update sums. None when
    ``max_hits`` is 0 (plain summed SGD). The factor is applied to the small per-decision
    gradients before the (N, D) updates are formed, so it costs no pass over them.
    """
    if max_hits <= 0:
        return None
    count = torch.zeros(size, dtype=hits.dtype, device=hits.device).index_add_(0, rows, hits)
    return (max_hits / count.clamp_min_(1.0)).clamp_max_(1.0)[rows]


def output_step(h: torch.Tensor, w_out: torch.Tensor, targets: torch.Tensor, labels: torch.Tensor,
                mask: torch.Tensor, alpha: float | torch.Tensor, skip_saturated: bool = False,
                max_hits: float = 0.0) -> tuple[torch.Tensor, torch.Tensor]:
    """Apply the output-layer SGD update in place and return (grad_h, loss_sum).

    h: (P, D) input vectors; w_out: (V', D) output table, updated in place;
    targets: (P, K) rows of w_out; labels: (P, K) float 0/1; mask: (P, K) float 0/1.
    Returns grad_h (P, D), already scaled by -alpha (the amount to add to each input row), and
    the summed loss of the unmasked decisions (a 0-d tensor, left on the device).
    """
    n, k = targets.shape
    flat = targets.reshape(-1)
    u = w_out.index_select(0, flat).view(n, k, -1)  # (P, K, D)
    scores = (u * h.unsqueeze(1)).sum(2)  # (P, K)
    if skip_saturated:
        mask = mask * (scores.abs() < MAX_EXP)
    g = (labels - torch.sigmoid(scores)) * mask  # -dL/ds
    loss = -(F.logsigmoid(torch.where(labels > 0, scores, -scores)) * mask).sum()
    g = g * alpha
    grad_h = torch.bmm(g.unsqueeze(1), u).squeeze(1)  # (P, D)
    scale = hit_scale(flat, mask.reshape(-1).to(g.dtype), w_out.shape[0], max_hits)
    g_rows = g if scale is None else g * scale.view(n, k)
    scatter_rows_(w_out, flat, (g_rows.unsqueeze(2) * h.unsqueeze(1)).reshape(n * k, -1))
    return grad_h, loss


def ns_targets(centre: torch.Tensor, negatives: torch.Tensor) -> tuple[torch.Tensor, ...]:
    """Targets, labels and mask (P, 1+k) for negative sampling with noise words ``negatives`` (P, k)."""
    targets = torch.cat([centre.unsqueeze(1), negatives], dim=1)
    labels = torch.zeros(targets.shape, dtype=torch.float32, device=centre.device)
    labels[:, 0] = 1.0
    mask = (negatives != centre.unsqueeze(1)).to(torch.float32)
    mask = torch.cat([torch.ones_like(mask[:, :1]), mask], dim=1)
    return targets, labels, mask


def hs_targets(centre: torch.Tensor, points: torch.Tensor, codes: torch.Tensor, lengths: torch.Tensor
               ) -> tuple[torch.Tensor, ...]:
    """Targets, labels and mask (P, L) for hierarchical softmax: the Huffman path of each centre word.

    points/codes: (V, L) device tables from :class:`~seqlab.embeddings.huffman.HuffmanTree`.
    """
    targets = points[centre]
    labels = 1.0 - codes[centre].to(torch.float32)
    steps = torch.arange(points.shape[1], device=centre.device)
    mask = (steps.unsqueeze(0) < lengths[centre].unsqueeze(1)).to(torch.float32)
    return targets, labels, mask


def skipgram_step(w_in: torch.Tensor, w_out: torch.Tensor, context: torch.Tensor,
                  targets: torch.Tensor, labels: torch.Tensor, mask: torch.Tensor,
                  alpha: float | torch.Tensor, hs: bool, max_hits: float = 0.0) -> torch.Tensor:
    """One skip-gram SGD step on P (context word, centre decisions) pairs; returns the loss sum.

    context: (P,) input word ids; targets/labels/mask: (P, K) as from ns_targets/hs_targets.
    """
    h = w_in.index_select(0, context)
    grad_h, loss = output_step(h, w_out, targets, labels, mask, alpha, skip_saturated=hs, max_hits=max_hits)
    scale = hit_scale(context, torch.ones_like(grad_h[:, 0]), w_in.shape[0], max_hits)
    scatter_rows_(w_in, context, grad_h if scale is None else grad_h * scale.unsqueeze(1))
    return loss


def skipgram_hs_step(w_in: torch.Tensor, w_out: torch.Tensor, context: torch.Tensor,
                     context_mask: torch.Tensor, targets: torch.Tensor, labels: torch.Tensor,
                     mask: torch.Tensor, alpha: float | torch.Tensor, max_hits: float = 0.0) -> torch.Tensor:
    """Skip-gram with hierarchical softmax, grouped by centre word; returns the loss sum.

    Every context word of a centre word makes the same decisions (the centre word's Huffman
    path), so the path vectors are gathered once per centre word and all (node, context) scores
    are one batched matmul; the updates are the same as pair by pair.
    context/context_mask: (C, 2W) context ids and 0/1 mask; targets/labels/mask: (C, L) path.
    """
    n, c = context.shape
    length = targets.shape[1]
    h = w_in.index_select(0, context.reshape(-1)).view(n, c, -1)  # (C, 2W, D)
    u = w_out.index_select(0, targets.reshape(-1)).view(n, length, -1)  # (C, L, D)
    scores = torch.bmm(u, h.transpose(1, 2))  # (C, L, 2W)
    full = mask.unsqueeze(2) * context_mask.unsqueeze(1) * (scores.abs() < MAX_EXP)
    lab = labels.unsqueeze(2)
    g = (lab - torch.sigmoid(scores)) * full
    loss = -(F.logsigmoid(torch.where(lab > 0, scores, -scores)) * full).sum()
    g = g * alpha
    nodes, words = targets.reshape(-1), context.reshape(-1)
    out_scale = hit_scale(nodes, full.sum(2).reshape(-1), w_out.shape[0], max_hits)
    in_scale = hit_scale(words, context_mask.reshape(-1).to(g.dtype), w_in.shape[0], max_hits)
    g_out = g if out_scale is None else g * out_scale.view(n, length, 1)
    g_in = g if in_scale is None else g * in_scale.view(n, 1, c)
    scatter_rows_(w_out, nodes, torch.bmm(g_out, h).reshape(n * length, -1))
    scatter_rows_(w_in, words, torch.bmm(g_in.transpose(1, 2), u).reshape(n * c, -1))
    return loss


def cbow_step(w_in: torch.Tensor, w_out: torch.Tensor, context: torch.Tensor, context_mask: torch.Tensor,
              targets: torch.Tensor, labels: torch.Tensor, mask: torch.Tensor,
              alpha: float | torch.Tensor, hs: bool, max_hits: float = 0.0, mean: bool = True) -> torch.Tensor:
    """One CBOW SGD step on P centre words with padded contexts; returns the loss sum.

    context: (P, C) word ids; context_mask: (P, C) float 0/1 (every row has at least one 1). ``mean``
    False: h is the sum of the context rows (gensim's cbow_mean=0; see the module).
    """
    count = context_mask.sum(1, keepdim=True)
    n, c = context.shape
    vectors = w_in.index_select(0, context.reshape(-1)).view(n, c, -1)
    h = torch.bmm(context_mask.unsqueeze(1), vectors).squeeze(1)
    if mean:
        h = h / count
    grad_h, loss = output_step(h, w_out, targets, labels, mask, alpha, skip_saturated=hs, max_hits=max_hits)
    if not mean:
        grad_h = grad_h / count
    # masked slots get a zero update, which is cheaper than compacting them away
    words = context.reshape(-1)
    weight = context_mask
    scale = hit_scale(words, context_mask.reshape(-1).to(grad_h.dtype), w_in.shape[0], max_hits)
    if scale is not None:
        weight = weight * scale.view(n, c)
    scatter_rows_(w_in, words, (grad_h.unsqueeze(1) * weight.unsqueeze(2)).reshape(n * c, -1))
    return loss
