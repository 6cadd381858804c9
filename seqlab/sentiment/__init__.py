"""Sentence classification: averaged embeddings (NBoW / DAN) and many-to-one RNNs, trained on SST.

    from seqlab.sentiment import Classifier, default_model_path
    Classifier.load(default_model_path(), device="auto").predict(["not good at all"])[0].label   # 'negative'

Names load on first use.
"""

from seqlab.lazy import lazy_exports

__all__, __getattr__, __dir__ = lazy_exports(__name__, {
    "config": ["SentimentConfig"],
    "model": ["Architecture", "ModelConfig", "SentimentModel", "focal_loss"],
    "predict": ["Classifier", "Evaluation", "Prediction", "default_model_path"],
    "train": ["train_sentiment"],
})
