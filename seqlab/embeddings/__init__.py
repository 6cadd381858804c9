"""Word embeddings: vectors and their queries, their files, word2vec, GloVe, evaluation, bias and debiasing.

    from seqlab.embeddings import KeyedVectors, evaluate_analogies, gensim_test_data
    kv = KeyedVectors.load("vectors.txt")          # word2vec text/binary, GloVe text or a seqlab directory
    kv.analogy("king", "man", "woman", topn=1)     # [('queen', 0.73...)]
    evaluate_analogies(kv, gensim_test_data("questions-words.txt")).accuracy

Names load on first use, so ``import seqlab.embeddings.keyed_vectors`` (as the CLI does) loads no more.
"""

from seqlab.lazy import lazy_exports

__all__, __getattr__, __dir__ = lazy_exports(__name__, {
    "keyed_vectors": ["KeyedVectors", "cosmul_scores", "default_vectors_path", "load_default_vectors",
                      "topk_excluding"],
    "vectors_io": ["FORMATS", "Vectors", "format_of", "read_vectors", "write_vectors"],
    "word2vec": ["Word2Vec", "Word2VecConfig", "train_word2vec"],
    "fasttext_vectors": ["FastTextVectors"],
    "subwords": ["ngram_hashes", "subword_rows"],
    "word2vec_io": ["save_trained"],
    "glove": ["Glove", "GloveConfig", "count_cooccurrences", "glove_default_corpus", "train_glove"],
    "cooccurrence": ["Cooccurrence"],
    "evaluate": ["AnalogyResult", "SectionResult", "SimilarityResult", "evaluate_analogies", "evaluate_similarity",
                 "gensim_test_data"],
    "word_lists": ["GenderLists", "WeatTest", "definitional_pairs", "load_gender_lists", "weat_tests"],
    "bias": ["WeatResult", "bias_report", "debias_report", "direct_bias", "weat"],
    "debias": ["DebiasResult", "GenderDirection", "debias_vectors", "gender_direction", "hard_debias"],
    "plot": ["plot_bias", "plot_words", "project_2d"],
})
