"""Text: corpus streaming, vocabularies and corpora encoded as word ids, subwords, padding.

    from seqlab.text import Corpus, Vocab, EncodedCorpus
    with Corpus("corpus.txt.gz", lowercase=True) as sentences:
        vocab = Vocab.build(sentences, min_count=5)
        data = EncodedCorpus.encode(sentences, vocab)

Names load on first use.
"""

from seqlab.lazy import lazy_exports

__all__, __getattr__, __dir__ = lazy_exports(__name__, {
    "corpus": ["Corpus", "corpus_name", "is_stream", "iter_sentences"],
    "vocab": ["EncodedCorpus", "Vocab"],
    "encode": ["build_vocab", "encode_corpus", "with_progress"],
    "subword": ["Subword"],
    "padding": ["length_mask", "pad_ids"],
    "phrases": ["ENGLISH_CONNECTOR_WORDS", "Phrases", "PhrasesConfig", "npmi_scorer", "original_scorer"],
})
