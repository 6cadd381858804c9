"""One seq2seq training process of a gloo group (tests/launch.py spawns them): a few steps, then rank 0 saves
its weights and losses for the test to compare with one process."""

from __future__ import annotations

import torch
from launch import join_environment

from seqlab.seq2seq.train import Seq2SeqTrainer
from seqlab.text.subword import Subword


def seq2seq_worker(rank: int, world: int, port: int, cfg, texts, spm, out: str, steps: int) -> None:
    join_environment(rank, world, port)
    torch.set_num_threads(1)
    trainer = Seq2SeqTrainer(cfg, out, torch.device("cpu"), texts=texts, subwords=(Subword(spm[0]), Subword(spm[1])),
                             quiet=True)
    losses = [trainer.step(step) for step in trainer.epoch_batches()[:steps]]
    if rank == 0:
        torch.save({"model": trainer.model.state_dict(), "losses": losses}, out)
    torch.distributed.destroy_process_group()
