"""Data parallelism under ``torchrun``: N processes, each with its share of every global batch.

Distributed data parallelism (Li et al. 2020, "PyTorch Distributed: Experiences on Accelerating Data
Parallel Training", VLDB): the N processes hold the same model; each takes its shard of the global batch
(``batch_size * N`` examples, the same batches on every process), and torch's DistributedDataParallel
sums the gradients across the processes and divides by N. With each process's loss written as

    L_r = N * (sum over its examples of l_i) / n,        n the examples (or weights) of the global batch,

the averaged gradient is that of (1/n) sum_i l_i over the whole batch: N processes take exactly the step
one process takes with the whole batch (:meth:`DataParallel.for_backward` turns a mean over a process's
own examples into its ``L_r``; :meth:`DataParallel.mean` gives the global batch's mean of a reported loss).
``torchrun`` describes the group in the environment (WORLD_SIZE, RANK, LOCAL_RANK, MASTER_ADDR,
MASTER_PORT); :meth:`DataParallel.join` joins it, gloo on CPUs and NCCL on GPUs, one GPU per LOCAL_RANK.
Only rank 0 writes files, logs and draws progress bars.

What is not a sum over examples cannot be split so. Batch normalisation's statistics: on GPUs the model's
BatchNorm layers become torch's SyncBatchNorm (statistics of the global batch: the one-process step
again); on CPUs, where SyncBatchNorm does not run, each process normalises over its own share and keeps its
own running statistics (rank 0's are saved), which the run says. Random draws that differ by example
(dropout masks, a denoising autoencoder's corruption) come from a stream of each process's own
(:meth:`DataParallel.fork_random`): the same distribution as one process, not the same numbers. Draws a
trainer makes for the whole global batch (shuffling, image shifts, a GAN's latent vectors), from a
generator in the same state on every process, are the one process's numbers exactly.

A pipeline that cannot train this way calls :func:`refuse_multiprocess` and stops with a one-line error.
"""

from __future__ import annotations

import dataclasses
import inspect
import os
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

import torch
import torch.distributed as dist

from seqlab.errors import ConfigError

Batch = TypeVar("Batch", bound=Sequence)


def launched_world() -> int:
    """The number of processes a launcher such as ``torchrun`` started (``WORLD_SIZE``; 1 without one)."""
    return int(os.environ.get("WORLD_SIZE", "1") or 1)


def launched_rank() -> int:
    """This process's rank among them (``RANK``; 0 without a launcher): only rank 0 prints and writes."""
    return int(os.environ.get("RANK", "0") or 0)


def refuse_multiprocess(what: str, why: str) -> None:
    """Raise ConfigError when started as one of several processes (``WORLD_SIZE`` > 1, as under ``torchrun
    --nproc-per-node N``): ``what`` trains in one process, for the reason ``why``."""
    world = launched_world()
    if world > 1:
        raise ConfigError(f"{what} trains in one process ({why}), but it was started as one of {world} "
                          "(WORLD_SIZE); run it without torchrun")


def all_sum(value: torch.Tensor, world: int) -> torch.Tensor:
    """``value`` summed over the ``world`` processes, in place (unchanged in one process)."""
    if world > 1:
        dist.all_reduce(value)
    return value


class _Method(torch.nn.Module):
    """A module whose forward is another module's method (DDP synchronises only what forward computes)."""

    def __init__(self, module: torch.nn.Module, name: str) -> None:
        super().__init__()
        self.module, self.name = module, name

    def forward(self, *args: Any, **kwargs: Any) -> Any:
        return getattr(self.module, self.name)(*args, **kwargs)


_BATCH_NORMS = (torch.nn.BatchNorm1d, torch.nn.BatchNorm2d, torch.nn.BatchNorm3d)


def _silent(message: str) -> None:
    pass


@dataclasses.dataclass
class DataParallel:
    """This process's place in a data-parallel run (rank 0 of 1 without a launcher) and the few operations a
    trainer needs: :meth:`wrap` the model, take its :meth:`shard` of a global batch, scale its loss
    (:meth:`for_backward`), :meth:`mean` reported values over the global batch, :meth:`broadcast` rank 0's
    decisions, and :meth:`close` the group at the end. Every method is a no-op in one process."""

    rank: int = 0
    world: int = 1
    device: torch.device = dataclasses.field(default_factory=lambda: torch.device("cpu"))
    log: Callable[[str], None] = _silent  # rank 0's log; silent on the others
    owns_group: bool = False  # joined by :meth:`join` (which then destroys it in :meth:`close`)

    @classmethod
    def join(cls, device: torch.device, log: Callable[[str], None] | None = None) -> DataParallel:
        """Join the process group the launcher describes in the environment (none: a single process) on
        ``device``; on CUDA each process takes the GPU of its LOCAL_RANK."""
        world = launched_world()
        if world <= 1:
            return cls(0, 1, device, log or _silent)
        if device.type == "cuda":
            device = torch.device("cuda", int(os.environ.get("LOCAL_RANK", "0") or 0))
            torch.cuda.set_device(device)
        owns = not dist.is_initialized()
        if owns:
            dist.init_process_group(backend="nccl" if device.type == "cuda" else "gloo")
        rank = dist.get_rank()
        return cls(rank, dist.get_world_size(), device, log if log is not None and rank == 0 else _silent, owns)

    @property
    def main(self) -> bool:
        """Whether this process writes, logs and prints (rank 0)."""
        return self.rank == 0

    def wrap(self, module: torch.nn.Module, method: str | None = None) -> Callable[..., Any]:
        """What a training step calls instead of ``module`` (or of its ``method``, e.g. ``"loss"``): under
        several processes a DistributedDataParallel of it, which starts from rank 0's weights and averages
        the gradients of what it computes; ``module`` itself (or its bound method) in one process. On CUDA
        the module's BatchNorm layers become SyncBatchNorm first (in place: the parameters, and so the
        optimiser's references, stay the same)."""
        if self.world == 1:
            return getattr(module, method) if method else module
        norms = any(isinstance(m, _BATCH_NORMS) for m in module.modules())
        if norms and self.device.type == "cuda":
            torch.nn.SyncBatchNorm.convert_sync_batchnorm(module)  # replaces the children in place
        elif norms:
            self.log(f"batch normalisation on {self.world} CPU processes: each normalises over its own "
                     f"1/{self.world} of the batch (SyncBatchNorm needs GPUs)")
        target = _Method(module, method) if method else module
        ddp = torch.nn.parallel.DistributedDataParallel
        # buffers (running statistics, fixed embedding rows) are broadcast once here, not at every forward
        # (torch 2.13 renamed the switch)
        once = ({"forward_sync_buffers": False} if "forward_sync_buffers" in inspect.signature(ddp).parameters
                else {"broadcast_buffers": False})
        return ddp(target, device_ids=[self.device.index] if self.device.type == "cuda" else None, **once)

    def bounds(self, size: int) -> tuple[int, int]:
        """[start, stop) of this process's share of ``size`` items: contiguous, sizes differing by at most
        one, none empty when ``size`` >= world."""
        return self.rank * size // self.world, (self.rank + 1) * size // self.world

    def shard(self, batch: Batch) -> Batch:
        """This process's part of a global batch (a list or a tensor, cut along its first dimension)."""
        if self.world == 1:
            return batch
        start, stop = self.bounds(len(batch))
        return batch[start:stop]

    def usable(self, batch: Sequence, per_process: int = 1) -> bool:
        """Whether ``batch`` gives every process at least ``per_process`` examples (a smaller last batch is
        skipped, on every process alike)."""
        return len(batch) >= per_process * self.world

    def all_sum(self, value: torch.Tensor) -> torch.Tensor:
        """``value`` summed over the processes, in place."""
        return all_sum(value, self.world)

    def scale(self, local: float | torch.Tensor, total: float | torch.Tensor) -> float | torch.Tensor:
        """``world * local / total``: what turns a mean over this process's ``local`` examples (or weights)
        of the global batch's ``total`` into the loss whose DDP-averaged gradient is the global batch's
        mean's (see the module); 1 in one process."""
        return 1.0 if self.world == 1 else self.world * local / total

    def for_backward(self, loss: torch.Tensor, local: float | torch.Tensor,
                     total: float | torch.Tensor) -> torch.Tensor:
        """The loss to call ``backward`` on: ``loss`` (a mean over this process's ``local`` of ``total``)
        times :meth:`scale`; ``loss`` itself in one process."""
        return loss if self.world == 1 else loss * self.scale(local, total)

    def mean(self, values: dict[str, torch.Tensor], local: float | torch.Tensor,
             total: float | torch.Tensor) -> dict[str, torch.Tensor]:
        """The global batch's means of ``values`` (0-d tensors, each a mean over this process's ``local`` of
        ``total`` examples or weights), the same on every process: one all-reduce for all of them."""
        if self.world == 1 or not values:
            return values
        stacked = torch.stack([v.detach().to(self.device, torch.float64) for v in values.values()])
        sums = self.all_sum(stacked * torch.as_tensor(local, dtype=torch.float64, device=self.device))
        means = sums / torch.as_tensor(total, dtype=torch.float64, device=self.device)
        return {k: m.to(v.dtype) for (k, v), m in zip(values.items(), means, strict=True)}

    def broadcast(self, value: Any) -> Any:
        """Rank 0's ``value`` (any picklable object), on every process: what rank 0 alone computed
        (validation), so that every process takes the same decisions (best model, early stopping)."""
        if self.world == 1:
            return value
        box = [value]
        dist.broadcast_object_list(box, src=0)
        return box[0]

    def fork_random(self, *generators: torch.Generator | None) -> None:
        """Give each process but rank 0 its own stream of ``generators`` (None: torch's global generators,
        which draw dropout masks), reseeded from their next draw and the rank; rank 0's streams, and so a
        one-process run, are untouched."""
        if self.rank == 0:
            return
        for generator in generators:
            device = generator.device if generator is not None else "cpu"
            draw = int(torch.randint(0, 2**62, (), generator=generator, device=device))
            seed = (draw * 1_000_003 + self.rank) % 2**63
            if generator is None:
                torch.manual_seed(seed)  # and every CUDA device's
            else:
                generator.manual_seed(seed)

    def close(self) -> None:
        """Leave the process group this object joined (so that torchrun's processes end cleanly)."""
        if self.owns_group and dist.is_initialized():
            dist.destroy_process_group()
        self.owns_group = False
