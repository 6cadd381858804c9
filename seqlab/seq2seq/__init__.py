"""Encoder-decoder translation with attention: data, model, search, training, analysis, the dates task.

    from seqlab.seq2seq import Translator, default_model_path
    Translator.load(default_model_path(), device="auto").translate(["3 may 1979"], beam=5)[0].text  # '1979-05-03'

Settings (Seq2SeqConfig) -> train_seq2seq writes a model directory -> Translator.load reads it; the
model (Seq2Seq, Attention, Ensemble) is kept apart from decoding (greedy_search, beam_search). The
dates task (``task = "dates"``) lives in :mod:`seqlab.seq2seq.dates`. Names load on first use.
"""

from seqlab.lazy import lazy_exports

__all__, __getattr__, __dir__ = lazy_exports(__name__, {
    "config": ["DataSettings", "Seq2SeqConfig", "TrainSettings"],
    "data": ["Batch", "ParallelCorpus", "read_parallel", "read_tsv"],
    "attention": ["Attention", "masked_softmax"],
    "model": ["Architecture", "ModelConfig", "Seq2Seq"],
    "ensemble": ["Ensemble"],
    "search": ["Decoder", "Decoding", "SearchResult", "beam_search", "check_decoding", "coverage_penalty",
               "greedy_search", "length_penalty", "translate_ids"],
    "train": ["Seq2SeqTrainer", "train_seq2seq"],
    "average": ["average_checkpoints", "average_models"],
    "translate": ["Translation", "Translator", "default_model_path"],
    "analyze": ["EvalResult", "error_analysis", "evaluate", "plot_attention", "sequence_scores"],
})
