"""seqlab: classic NLP sequence models, faithful to their papers, fast on a GPU, correct on a CPU.

``from seqlab import Word2Vec`` is gensim's Word2Vec (and ``FastText`` gensim's FastText:
:mod:`seqlab.embeddings.gensim_api`); every other
name lives in its subpackage (``seqlab.embeddings``, ``seqlab.rnn``, ...). Nothing is imported until used.
"""

__version__ = "0.1.0"

from seqlab.lazy import lazy_exports  # noqa: E402 (after the version, which setuptools reads)

__all__, __getattr__, __dir__ = lazy_exports(__name__, {"embeddings.gensim_api": ["FastText", "Word2Vec"]})
