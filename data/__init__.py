"""Small artefacts seqlab made: default vectors and models (see README.md here)."""
