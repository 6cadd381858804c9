"""Encoder-decoder translation with attention: data, model, search, training, analysis, the dates task."""
