"""Padding lists of token ids into one batch tensor: the step every pipeline shares."""

from __future__ import annotations

from collections.abc import Sequence

import torch


def pad_ids(sequences: Sequence[Sequence[int]], device: torch.device | str = "cpu",
            pad: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """((B, L) long ids padded with ``pad``, (B,) lengths) on ``device``; L is at least 1."""
    lengths = torch.tensor([len(s) for s in sequences], dtype=torch.long)
    out = torch.full((len(sequences), max(int(lengths.max()) if len(sequences) else 0, 1)), pad, dtype=torch.long)
    for i, seq in enumerate(sequences):
        out[i, :len(seq)] = torch.as_tensor(seq, dtype=torch.long)
    return out.to(device), lengths.to(device)


def length_mask(lengths: torch.Tensor, steps: int) -> torch.Tensor:
    """(batch, time) bool, True at the real steps of each sequence."""
    return torch.arange(steps, device=lengths.device)[None, :] < lengths[:, None]
