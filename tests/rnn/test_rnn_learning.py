"""A real learning run per cell: a many-to-one model learns the parity of variable-length bit strings.

Parity needs the whole sequence (flipping any one bit flips the answer), so a model that ignores
steps or mishandles lengths stays at chance, 50%."""

import pytest
import torch
from torch import nn

from seqlab.rnn import CELL_NAMES, RNN

MAX_LENGTH = 8


def _batch(gen: torch.Generator, n: int):
    lengths = torch.randint(2, MAX_LENGTH + 1, (n,), generator=gen)
    bits = torch.randint(0, 2, (n, MAX_LENGTH), generator=gen)
    bits = bits * (torch.arange(MAX_LENGTH)[None, :] < lengths[:, None])  # padding is 0 and never counts
    return bits, lengths, bits.sum(1) % 2


class ParityModel(nn.Module):
    def __init__(self, cell: str) -> None:
        super().__init__()
        self.embed = nn.Embedding(2, 8)
        self.rnn = RNN(cell, 8, 24, batch_first=True)
        self.out = nn.Linear(24, 2)

    def forward(self, bits, lengths):
        _, state = self.rnn(self.embed(bits), lengths=lengths)
        h_n = state[0] if isinstance(state, tuple) else state
        return self.out(h_n[-1])


@pytest.mark.parametrize("cell", CELL_NAMES)
def test_learns_parity(cell):
    torch.manual_seed(0)
    gen = torch.Generator().manual_seed(0)
    model = ParityModel(cell)
    optimizer = torch.optim.Adam(model.parameters(), lr=0.02)
    for _ in range(250):
        bits, lengths, target = _batch(gen, 64)
        loss = nn.functional.cross_entropy(model(bits, lengths), target)
        optimizer.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 5.0)
        optimizer.step()
    bits, lengths, target = _batch(torch.Generator().manual_seed(99), 2000)
    with torch.no_grad():
        accuracy = (model(bits, lengths).argmax(1) == target).float().mean().item()
    assert accuracy > 0.95, f"{cell}: parity accuracy {accuracy:.3f} (chance is 0.5)"
