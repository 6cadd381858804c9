"""Sentence classification: averaged embeddings (NBoW / DAN) and many-to-one RNNs, trained on SST.

    from seqlab.sentiment import Classifier, default_model_path
    Classifier.load(default_model_path()).predict(["not good at all"])[0].label   # 'negative'
"""

from seqlab.sentiment.config import SentimentConfig
from seqlab.sentiment.model import ModelConfig, SentimentModel, focal_loss
from seqlab.sentiment.predict import Classifier, Evaluation, Prediction, default_model_path
from seqlab.sentiment.train import train_sentiment

__all__ = ["Classifier", "Evaluation", "ModelConfig", "Prediction", "SentimentConfig", "SentimentModel",
           "default_model_path", "focal_loss", "train_sentiment"]
