"""Gloo process groups in tests: N spawned processes on a free local port, as torchrun would start them."""

from __future__ import annotations

import os
import socket
from collections.abc import Callable

import torch.multiprocessing as mp


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def join_environment(rank: int, world: int, port: int) -> None:
    """The variables torchrun sets for process ``rank`` of ``world``."""
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port), WORLD_SIZE=str(world), RANK=str(rank),
                      LOCAL_RANK=str(rank))


def spawn(worker: Callable, world: int, *args) -> None:
    """Run ``worker(rank, world, port, *args)`` in ``world`` processes; tries again (three times in all) when
    another process took the free port between the probe and the rendezvous."""
    for attempt in range(3):
        try:
            mp.spawn(worker, args=(world, free_port(), *args), nprocs=world, join=True)
            return
        except mp.ProcessRaisedException as exc:
            if attempt == 2 or "address already in use" not in str(exc).lower():
                raise
