"""seqlab: classic NLP sequence models, faithful to their papers, fast on a GPU, correct on a CPU."""

__version__ = "0.1.0"
