"""TOML presets, one per pipeline (installed as seqlab.configs)."""
