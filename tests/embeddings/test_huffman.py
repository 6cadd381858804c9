"""The Huffman tree of hierarchical softmax: word2vec.c's CreateBinaryTree worked by hand, and the
properties of any Huffman code (prefix-free, optimal expected length, monotone lengths)."""

from __future__ import annotations

import heapq

import numpy as np
import pytest

from seqlab.embeddings.huffman import build_huffman


def test_hand_worked_word2vec_c_tree():
    # counts [5, 3, 2, 1, 1], V = 5; nodes 0-4 are leaves, 5-8 inner nodes (inner id = node - 5).
    # count = [5, 3, 2, 1, 1, inf, inf, inf, inf]; pos1 = 4 (rarest leaf), pos2 = 5 (first inner node).
    # word2vec.c takes pos1 only when count[pos1] < count[pos2] (strictly): ties go to the inner node.
    # a=0: min1: count[4]=1 < inf -> leaf 4;  min2: count[3]=1 < inf -> leaf 3.
    #      node 5 = 1+1 = 2; parent[4] = parent[3] = 5; binary[3] = 1 (the second-smallest child).
    # a=1: min1: count[2]=2 < count[5]=2? no (tie) -> node 5;  min2: count[2]=2 < inf -> leaf 2.
    #      node 6 = 2+2 = 4; parent[5] = parent[2] = 6; binary[2] = 1.
    # a=2: min1: count[1]=3 < count[6]=4 -> leaf 1;  min2: count[0]=5 < count[6]=4? no -> node 6.
    #      node 7 = 3+4 = 7; parent[1] = parent[6] = 7; binary[6] = 1.
    # a=3: min1: count[0]=5 < count[7]=7 -> leaf 0;  min2: pos1 < 0 -> node 7.
    #      node 8 = 5+7 = 12 (the root, 2V-2; inner id 3 = V-2); parent[0] = parent[7] = 8; binary[7] = 1.
    # Paths from the root down (points = inner ids of the nodes passed, codes = binary of the child taken):
    #   word 0: 8->0                  points [3]           codes [0]
    #   word 1: 8->7->1               points [3, 2]        codes [1, 0]
    #   word 2: 8->7->6->2            points [3, 2, 1]     codes [1, 1, 1]
    #   word 3: 8->7->6->5->3         points [3, 2, 1, 0]  codes [1, 1, 0, 1]
    #   word 4: 8->7->6->5->4         points [3, 2, 1, 0]  codes [1, 1, 0, 0]
    # (Had the tie at a=1 gone to the leaf, word 2 would get codes [1, 1, 0] and words 3, 4 start [1, 1, 1].)
    tree = build_huffman(np.array([5, 3, 2, 1, 1]))
    assert tree.lengths.tolist() == [1, 2, 3, 4, 4]
    assert tree.max_length == 4
    rows = [(tree.points[w, :n].tolist(), tree.codes[w, :n].tolist()) for w, n in enumerate(tree.lengths)]
    assert rows == [
        ([3], [0]),
        ([3, 2], [1, 0]),
        ([3, 2, 1], [1, 1, 1]),
        ([3, 2, 1, 0], [1, 1, 0, 1]),
        ([3, 2, 1, 0], [1, 1, 0, 0]),
    ]
    # padding is zero
    assert tree.points[0, 1:].tolist() == [0, 0, 0] and tree.codes[1, 2:].tolist() == [0, 0]
    assert tree.points.dtype == np.int64 and tree.codes.dtype == np.uint8 and tree.lengths.dtype == np.int64


def test_two_and_one_word_vocabularies():
    tree = build_huffman(np.array([7, 7]))
    # a=0: min1: count[1]=7 < inf -> leaf 1, min2: leaf 0 gets bit 1; root is inner node 0
    assert tree.lengths.tolist() == [1, 1]
    assert tree.points.tolist() == [[0], [0]] and tree.codes.tolist() == [[1], [0]]
    single = build_huffman(np.array([3]))
    assert single.lengths.tolist() == [1] and single.points.shape == (1, 1)


def test_unsorted_counts_are_refused():
    with pytest.raises(ValueError, match="descending"):
        build_huffman(np.array([1, 5, 2]))


def optimal_cost(counts: list[int]) -> int:
    """sum(count * depth) of an optimal prefix code: the sum of all merged weights (textbook Huffman)."""
    heap = list(counts)
    heapq.heapify(heap)
    cost = 0
    while len(heap) > 1:
        merged = heapq.heappop(heap) + heapq.heappop(heap)
        cost += merged
        heapq.heappush(heap, merged)
    return cost


def random_counts(rng: np.random.Generator, size: int) -> np.ndarray:
    kind = rng.integers(3)
    if kind == 0:  # Zipf-like, as real vocabularies
        counts = (1e5 / np.arange(1, size + 1) ** rng.uniform(0.5, 1.5)).astype(np.int64) + 1
    elif kind == 1:  # many ties
        counts = rng.integers(1, 4, size)
    else:
        counts = rng.integers(1, 1000, size)
    return np.sort(counts)[::-1].copy()


@pytest.mark.parametrize("seed", range(40))
def test_huffman_properties(seed):
    rng = np.random.default_rng(seed)
    size = int(rng.integers(2, 300))
    counts = random_counts(rng, size)
    tree = build_huffman(counts)
    lengths = tree.lengths
    codes = ["".join(map(str, tree.codes[w, : lengths[w]])) for w in range(size)]

    # prefix-free: sorted codes, a prefix would sort right before a word it starts
    ordered = sorted(codes)
    assert len(set(codes)) == size
    assert not any(b.startswith(a) for a, b in zip(ordered, ordered[1:], strict=False))
    # a full binary tree: Kraft's sum is exactly 1
    assert sum(2.0 ** -len(c) for c in codes) == pytest.approx(1.0, abs=1e-12)
    # optimal expected length, computed independently
    assert int((counts * lengths).sum()) == optimal_cost(counts.tolist())
    # rarer words never get shorter codes
    assert np.all(np.diff(lengths) >= 0)

    # the points form one tree: the node reached by a code prefix is the same for every word, the
    # root is inner node V-2, and all V-1 inner nodes are used exactly once
    node_of: dict[str, int] = {}
    for w in range(size):
        for step in range(lengths[w]):
            prefix = codes[w][:step]
            assert node_of.setdefault(prefix, int(tree.points[w, step])) == tree.points[w, step]
    assert node_of[""] == size - 2
    assert sorted(node_of.values()) == list(range(size - 1))
