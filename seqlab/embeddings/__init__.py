"""Word embeddings: vectors and their queries, word2vec, evaluation."""
