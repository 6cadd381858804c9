"""word2vec on CUDA: the same code as on the CPU must learn the same kind of vectors.

Skipped without CUDA (CI has none); run on a GPU machine with ``pytest -m gpu``.
"""

import numpy as np
import pytest
import torch

from seqlab.embeddings.evaluate import gensim_test_data
from seqlab.embeddings.word2vec import EncodedCorpus, Word2Vec, Word2VecConfig
from seqlab.text.corpus import Corpus
from seqlab.text.vocab import Vocab

pytestmark = [pytest.mark.gpu, pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")]


def _neighbour_score(kv, data: EncodedCorpus, window: int = 2, n: int = 4000) -> float:
    """Mean cosine of words that co-occur within ``window`` minus that of random word pairs, after
    centring (the direction all trained vectors share would make every cosine large)."""
    rng = np.random.default_rng(0)
    centred = kv.vectors.double() - kv.vectors.double().mean(0)
    unit = centred / centred.norm(dim=1, keepdim=True)
    pos = rng.integers(0, len(data.ids) - window, n)
    a, b = data.ids[pos], data.ids[pos + rng.integers(1, window + 1, n)]
    r1, r2 = rng.integers(0, len(kv), n), rng.integers(0, len(kv), n)
    near = (unit[a] * unit[b]).sum(1).mean().item()
    rand = (unit[r1] * unit[r2]).sum(1).mean().item()
    return near - rand


@pytest.mark.parametrize("model,loss", [("sg", "ns"), ("sg", "hs"), ("cbow", "ns"), ("cbow", "hs")])
def test_cuda_training_learns(model, loss):
    corpus = Corpus(str(gensim_test_data("lee_background.cor")), lowercase=True)
    vocab = Vocab.build(corpus, min_count=2)
    data = EncodedCorpus.encode(corpus, vocab)
    cfg = Word2VecConfig(model=model, loss=loss, dim=50, epochs=10, min_count=2, batch_size=256)
    w2v = Word2Vec(vocab, cfg, "cuda")
    w2v.train(data, quiet=True)
    kv = w2v.keyed_vectors()
    assert torch.isfinite(kv.vectors).all()
    assert _neighbour_score(kv, data) > 0.08  # random vectors: 0 +- 0.003
