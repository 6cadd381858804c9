"""word2vec.c's training loops (and fastText's, with several input rows a word) in plain Python, float64:
the reference that the C kernel's tests (test_word2vec_native.py, test_fasttext.py) compare with."""

from __future__ import annotations

import math

import torch


def sigmoid(x: float) -> float:
    return 1.0 / (1.0 + math.exp(-x))


# word2vec.c's expTable: sigmoid at 1001 points of [-6, 6], read at the point below s (hierarchical softmax)
EXP_TABLE = [sigmoid((i / 1000 * 2 - 1) * 6.0) for i in range(1001)]


def table_sigmoid(s: float) -> float:
    return EXP_TABLE[int((s + 6.0) * (1000 / 6.0 / 2))]


def reference(w_in, w_out, centre, context, alpha, sg, hs, negs, tree, loss_stride=1, cbow_mean=True, offset=0,
              rows_of=None):
    """word2vec.c's loops in Python, float64: returns (w_in, w_out, loss, decisions, examples,
    loss_examples); the loss is summed over the rows r % loss_stride == 0. ``cbow_mean`` False: gensim's
    cbow_mean=0 (h the sum of the context rows, each given the gradient over their number). With ``hs``
    and ``negs`` both, both objectives (hierarchical softmax first), the inner nodes at rows ``offset`` on.
    ``rows_of[w]``: word w's input rows (fastText: its own row and its n-grams' rows; default: row w alone).
    Skip-gram then runs fastText's FastText::skipgram (gensim's fasttext_fast_sentence_sg_*): the n-grams are
    the centre word's, so for each context word c in turn, h = the mean of the centre word's rows (recomputed
    for each pair), the decisions are about c, and every row (each occurrence of a duplicate) gets the pair's
    input gradient before the next pair. CBOW's h is the mean (or sum) of all rows of all context words, and
    every row (each occurrence) gets the whole input gradient."""
    w_in, w_out = w_in.double().clone(), w_out.double().clone()
    loss, decisions, examples, loss_examples, counted = 0.0, 0, 0, 0, True

    def decide(h, row, label, a, neu1e, node=False):
        nonlocal loss, decisions
        s = float(h @ w_out[row])
        if node and abs(s) >= 6.0:
            return
        g = (label - (table_sigmoid(s) if node else sigmoid(s))) * a
        loss += -math.log(sigmoid(s if label else -s)) if counted else 0.0
        decisions += 1
        neu1e += g * w_out[row]
        w_out[row] += g * h

    def all_decisions(h, word, a, neg_row):
        neu1e = torch.zeros(w_in.shape[1], dtype=torch.float64)
        if hs:
            for j in range(int(tree.lengths[word])):
                decide(h, offset + int(tree.points[word, j]), 1.0 - float(tree.codes[word, j]), a, neu1e, node=True)
        if neg_row is not None:
            decide(h, word, 1.0, a, neu1e)
            for n in neg_row.tolist():
                if n != word:
                    decide(h, n, 0.0, a, neu1e)
        return neu1e

    for r in range(len(centre)):
        word, a = int(centre[r]), float(alpha[r])
        counted, before = r % loss_stride == 0, examples
        if sg and rows_of is not None:  # fastText: h from the centre word's rows, decisions about the context word
            for j, c in enumerate(context[r].tolist()):
                if c < 0:
                    continue
                rows = rows_of[word]
                neu1e = all_decisions(w_in[rows].mean(0), c, a, None if negs is None else negs[r, j])
                for row in rows:
                    w_in[row] += neu1e
                examples += 1
        elif sg:  # word2vec: h is the context word's row, the decisions are about the centre word
            for j, c in enumerate(context[r].tolist()):
                if c < 0:
                    continue
                neu1e = all_decisions(w_in[c].clone(), word, a, None if negs is None else negs[r, j])
                w_in[c] += neu1e
                examples += 1
        else:
            rows = [row for c in context[r].tolist() if c >= 0
                    for row in (rows_of[c] if rows_of is not None else [c])]
            if rows:
                h = w_in[rows].mean(0) if cbow_mean else w_in[rows].sum(0)
                neu1e = all_decisions(h, word, a, None if negs is None else negs[r])
                if not cbow_mean:
                    neu1e /= len(rows)
                for row in rows:
                    w_in[row] += neu1e
                examples += 1
        loss_examples += (examples - before) if counted else 0
    return w_in, w_out, loss, decisions, examples, loss_examples
