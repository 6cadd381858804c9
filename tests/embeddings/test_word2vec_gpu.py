"""word2vec on CUDA: the same code as on the CPU must learn the same kind of vectors.

Skipped without CUDA (CI has none); run on a GPU machine with ``pytest -m gpu``.
"""

import pytest
import torch

from seqlab.embeddings.evaluate import gensim_test_data
from seqlab.embeddings.word2vec import EncodedCorpus, Word2Vec, Word2VecConfig
from seqlab.text.corpus import Corpus
from seqlab.text.vocab import Vocab

pytestmark = [pytest.mark.gpu, pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")]


@pytest.mark.parametrize("model,loss", [("sg", "ns"), ("sg", "hs"), ("cbow", "ns"), ("cbow", "hs")])
def test_cuda_training_learns(model, loss, cooccurrence_score):
    corpus = Corpus(str(gensim_test_data("lee_background.cor")), lowercase=True)
    vocab = Vocab.build(corpus, min_count=2)
    data = EncodedCorpus.encode(corpus, vocab)
    cfg = Word2VecConfig(model=model, loss=loss, dim=50, epochs=10, min_count=2, batch_size=256)
    w2v = Word2Vec(vocab, cfg, "cuda")
    w2v.train(data, quiet=True)
    kv = w2v.keyed_vectors()
    assert torch.isfinite(kv.vectors).all()
    assert cooccurrence_score(kv, data) > 0.08  # random vectors: 0 +- 0.003
