"""RNN tests run on one thread; without CUDA, Triton kernels run through Triton's interpreter.

``TRITON_INTERPRET`` must be set before the kernels are defined (triton.jit reads it when it
decorates them); seqlab.rnn.kernels defines them on first use, so setting it here, at collection,
before any test runs, is early enough. A value already in the environment wins.
"""

import os

import pytest
import torch

if not torch.cuda.is_available():
    os.environ.setdefault("TRITON_INTERPRET", "1")


@pytest.fixture(autouse=True)
def _single_thread(one_thread):
    yield
