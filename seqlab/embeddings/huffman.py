"""Huffman tree over the vocabulary for hierarchical softmax (Mikolov et al. 2013a, section 2.1).

Built exactly as word2vec.c's ``CreateBinaryTree``: with words sorted by descending count, two
queues (leaves from the rarest up, inner nodes in creation order) give the two smallest nodes in
linear time; the second-smallest child gets bit 1. A word's ``points`` are the inner nodes on the
path from the root (inner node ``V - 2``) down to its parent, and its ``codes`` the bits taken.
Frequent words get short codes, so the expected path length is the entropy-optimal one.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class HuffmanTree:
    """Padded code and path tables; rows are words, columns steps from the root.

    points: (V, L) int64 inner-node ids in [0, V-2] (padding 0)
    codes:  (V, L) uint8 bits (padding 0)
    lengths: (V,) int64 code length of each word
    """

    points: np.ndarray
    codes: np.ndarray
    lengths: np.ndarray

    @property
    def max_length(self) -> int:
        return int(self.points.shape[1])


def build_huffman(counts: np.ndarray) -> HuffmanTree:
    """Build the word2vec.c Huffman tree from ``counts`` (V,), which must be sorted descending."""
    counts = np.asarray(counts, dtype=np.int64)
    vocab_size = len(counts)
    if vocab_size < 2:
        # a one-word vocabulary still needs one binary decision to train anything
        return HuffmanTree(np.zeros((vocab_size, 1), np.int64), np.zeros((vocab_size, 1), np.uint8),
                           np.ones(vocab_size, np.int64))
    if np.any(counts[:-1] < counts[1:]):
        raise ValueError("build_huffman needs counts sorted in descending order")
    count = np.concatenate([counts, np.full(vocab_size, 10**15, np.int64)]).tolist()
    parent = [0] * (2 * vocab_size)
    binary = [0] * (2 * vocab_size)
    pos1, pos2 = vocab_size - 1, vocab_size
    for a in range(vocab_size - 1):
        mins = []
        for _ in range(2):
            if pos1 >= 0 and count[pos1] < count[pos2]:
                mins.append(pos1)
                pos1 -= 1
            else:
                mins.append(pos2)
                pos2 += 1
        count[vocab_size + a] = count[mins[0]] + count[mins[1]]
        parent[mins[0]] = parent[mins[1]] = vocab_size + a
        binary[mins[1]] = 1
    root = 2 * vocab_size - 2
    # walk top-down once: each node's path is its parent's plus one step
    node_codes: dict[int, list[int]] = {root: []}
    node_points: dict[int, list[int]] = {root: []}
    for node in range(root - 1, -1, -1):
        up = parent[node]
        node_codes[node] = node_codes[up] + [binary[node]]
        node_points[node] = node_points[up] + [up - vocab_size]
    lengths = np.fromiter((len(node_codes[w]) for w in range(vocab_size)), np.int64, vocab_size)
    width = int(lengths.max())
    points = np.zeros((vocab_size, width), np.int64)
    codes = np.zeros((vocab_size, width), np.uint8)
    for w in range(vocab_size):
        n = lengths[w]
        points[w, :n] = node_points[w]
        codes[w, :n] = node_codes[w]
    return HuffmanTree(points, codes, lengths)
