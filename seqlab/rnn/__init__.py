"""Recurrent networks: the cells (cells.py), the stacked, bidirectional, ragged layer (layer.py) and
fused GPU kernels for the cells torch has none for (kernels/).

    from seqlab.rnn import RNN
    rnn = RNN("peephole", input_size=32, hidden_size=64, num_layers=2, bidirectional=True)
    output, (h_n, c_n) = rnn(x, lengths=lengths)
"""

from seqlab.rnn.cells import (
    CELL_NAMES,
    CIFGCell,
    ElmanCell,
    GRUCell,
    LSTMCell,
    MinimalGRUCell,
    PeepholeLSTMCell,
    RecurrentCell,
)
from seqlab.rnn.layer import RNN

__all__ = ["CELL_NAMES", "CIFGCell", "ElmanCell", "GRUCell", "LSTMCell", "MinimalGRUCell", "PeepholeLSTMCell",
           "RNN", "RecurrentCell"]
