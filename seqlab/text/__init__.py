"""Text: corpus streaming and vocabularies."""
