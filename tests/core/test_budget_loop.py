"""The budget loop (seqlab.training.BudgetLoop) that word2vec, GloVe, the biLM pretraining and DQN run on:
checkpoints at block boundaries when the clock is due (never once the budget is spent), the hook after
each, the finiteness checks and their messages, the progress bar over the scaled budget, the value the
blocks return; and the one name of a training checkpoint, old names included."""

from __future__ import annotations

import math

import pytest
import torch
from interrupt import interrupt_after

import seqlab.training as training
from seqlab.errors import DataError, DivergedError
from seqlab.io import load_checkpoint, save_checkpoint, with_legacy
from seqlab.training import (
    Block,
    BudgetLoop,
    discard_checkpoint,
    interrupted_message,
    last_checkpoint,
    load_training_state,
)


def blocks(total: int, size: int, weights: torch.Tensor | None = None, bad_at: int | None = None):
    """A toy trainer: blocks of ``size`` units adding 1 to ``weights``; the loss (or, with ``weights``,
    the weights) becomes NaN at the block ending at ``bad_at``."""
    done = 0
    while done < total:
        done = min(total, done + size)
        loss = math.nan if done == bad_at and weights is None else 1.0 / done
        if weights is not None:
            weights += math.nan if done == bad_at else 1.0
        yield Block(done, f"after {done} units", {"loss": loss}, {"loss": loss})
    return f"{done} done"


def toy_state(loop: BudgetLoop, weights: torch.Tensor):
    return lambda: {"kind": "toy", "done": loop.done, "weights": weights.clone()}


def test_checkpoints_fall_at_block_boundaries_when_due_and_not_at_the_end(tmp_path):
    ckpt, weights = tmp_path / "toy.safetensors", torch.zeros(3)
    loop = BudgetLoop(100, "toy", "unit", checkpoint=ckpt, every=30, quiet=True)
    seen = []

    def after_checkpoint(_):
        state = load_checkpoint(ckpt)
        seen.append((state["done"], state["weights"][0].item()))

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(BudgetLoop, "after_checkpoint", after_checkpoint)
        assert loop.run(blocks(100, 10, weights), toy_state(loop, weights), [weights], [weights]) == "100 done"
    assert seen == [(30, 3.0), (60, 6.0), (90, 9.0)]  # every 30 units; none at 100, the end of the budget
    assert sorted(p.name for p in tmp_path.iterdir()) == ["toy.safetensors"]  # written atomically


def test_without_a_checkpoint_path_nothing_is_written(tmp_path):
    weights = torch.zeros(1)
    loop = BudgetLoop(50, "toy", "unit", every=1, quiet=True)
    with interrupt_after(0) as written:  # the hook is called after checkpoints only: never here
        assert loop.run(blocks(50, 10, weights), toy_state(loop, weights), [weights]) == "50 done"
    assert written == [] and list(tmp_path.iterdir()) == []


def test_the_hook_interrupts_right_after_the_checkpoint_past_the_mark(tmp_path):
    ckpt, weights = tmp_path / "toy.safetensors", torch.zeros(1)
    loop = BudgetLoop(100, "toy", "unit", checkpoint=ckpt, every=1, quiet=True)
    with interrupt_after(45) as written, pytest.raises(KeyboardInterrupt):
        loop.run(blocks(100, 10, weights), toy_state(loop, weights), [weights])
    assert written == [10, 20, 30, 40, 50] and load_checkpoint(ckpt)["done"] == 50
    assert BudgetLoop.after_checkpoint is not None and BudgetLoop(1, "t", "u").after_checkpoint() is None
    assert interrupted_message(ckpt) == f"interrupted; the last checkpoint is {ckpt}: continue with --resume"
    assert interrupted_message(tmp_path / "none") == "interrupted"


def test_a_non_finite_loss_stops_the_run_before_the_next_checkpoint(tmp_path):
    ckpt, weights = tmp_path / "toy.safetensors", torch.zeros(1)
    loop = BudgetLoop(100, "toy", "unit", checkpoint=ckpt, every=30, quiet=True, lr_flag="--eta, now 1")
    with pytest.raises(DivergedError) as caught:
        loop.run(blocks(100, 10, bad_at=70), toy_state(loop, weights), [weights])
    assert str(caught.value) == (f"training diverged: the loss became NaN or infinite after 70 units; nothing after "
                                 f"that was saved (the last finite checkpoint is {ckpt}); train again with a lower "
                                 "learning rate (--eta, now 1)")
    assert load_checkpoint(ckpt)["done"] == 60


def test_non_finite_weights_are_never_saved_nor_returned(tmp_path):
    ckpt, weights = tmp_path / "toy.safetensors", torch.zeros(2)
    loop = BudgetLoop(100, "toy", "unit", checkpoint=ckpt, every=30, quiet=True)
    with pytest.raises(DivergedError, match=r"the weights became NaN or infinite after 30 units; .*no checkpoint "
                                            r"was written\); .*\(--set lr=\.\.\.\)$"):
        loop.run(blocks(100, 10, weights, bad_at=20), toy_state(loop, weights), [weights])
    assert not ckpt.exists()  # the first checkpoint due, at 30, would have held NaN
    weights = torch.zeros(2)
    loop = BudgetLoop(100, "toy", "unit", quiet=True)
    with pytest.raises(DivergedError, match="the weights became NaN or infinite by the end of training"):
        loop.run(blocks(100, 10, weights, bad_at=100), final=[weights])


def test_a_block_can_have_tensors_checked_with_its_losses():
    def evaluation():
        yield Block(5)  # no losses: nothing to check
        yield Block(10, "by step 10", {"loss": torch.tensor(math.inf)}, tensors=[torch.tensor([math.nan])])

    with pytest.raises(DivergedError, match=r"the loss and weights became NaN or infinite by step 10; .*no checkpoint"):
        BudgetLoop(20, "dqn", "step", quiet=True).run(evaluation())


def test_the_progress_bar_counts_the_scaled_budget(monkeypatch):
    bars = []

    class Bar:
        def __init__(self, total, desc, unit, quiet, initial):
            self.total, self.n, self.postfix, self.closed = total, initial, None, False
            bars.append(self)

        def update(self, n):
            self.n += n

        def set_postfix(self, values, refresh):
            self.postfix = values

        def close(self):
            self.closed = True

    monkeypatch.setattr(training, "progress_bar", Bar)
    loop = BudgetLoop(100, "word2vec", "word", done=20, scale=1.5)
    loop.run(blocks(100, 10))
    bar = bars[0]
    assert (bar.total, bar.n, bar.closed) == (150, 150, True)
    assert bar.postfix == {"loss": "0.01"}
    BudgetLoop(100, "word2vec", "word", scale=1.5, quiet=True).run(blocks(100, 10))
    assert bars[1].postfix is None  # quiet: no values computed for a hidden bar


def test_one_name_for_training_checkpoints_and_the_old_names_are_found(tmp_path):
    assert last_checkpoint(tmp_path / "v.txt") == tmp_path / "v.txt.last.safetensors"
    assert last_checkpoint(tmp_path / "vectors") == tmp_path / "vectors.last.safetensors"
    assert last_checkpoint(tmp_path / "run", directory=True) == tmp_path / "run" / "last.safetensors"
    new, old = tmp_path / "v.txt.last.safetensors", tmp_path / "v.txt.ckpt"
    assert with_legacy(new) == new
    save_checkpoint({"kind": "seqlab.word2vec"}, old)
    assert with_legacy(new) == old  # a checkpoint of the previous release
    save_checkpoint({"kind": "seqlab.word2vec"}, new)
    assert with_legacy(new) == new  # the new name wins
    (tmp_path / "run").mkdir()
    save_checkpoint({"kind": "k"}, tmp_path / "run" / "last.pt")
    assert with_legacy(last_checkpoint(tmp_path / "run", directory=True)) == tmp_path / "run" / "last.pt"
    discard_checkpoint(new)
    assert not new.exists() and not old.exists()
    discard_checkpoint(tmp_path / "run" / "last.safetensors")
    assert list((tmp_path / "run").iterdir()) == []
    save_checkpoint({"kind": "k"}, tmp_path / "mine.pt")  # beside a checkpoint the user named: not ours to remove
    save_checkpoint({"kind": "k"}, tmp_path / "mine.safetensors")
    discard_checkpoint(tmp_path / "mine.safetensors")
    assert (tmp_path / "mine.pt").exists() and not (tmp_path / "mine.safetensors").exists()


def test_resuming_needs_a_checkpoint_of_the_same_kind_and_corpus(tmp_path):
    path = tmp_path / "v.txt.last.safetensors"
    with pytest.raises(DataError, match=rf"^{path}: no checkpoint to resume from$"):
        load_training_state(path, "seqlab.word2vec", "word2vec")
    save_checkpoint({"kind": "seqlab.word2vec", "corpus": "/data/a.txt"}, tmp_path / "v.txt.ckpt")
    with pytest.raises(DataError, match=r"v.txt.ckpt: not a GloVe training checkpoint"):
        load_training_state(path, "seqlab.glove", "GloVe")
    with pytest.raises(DataError, match=r"v.txt.ckpt: this checkpoint was made on /data/a.txt, not on /data/b.txt"):
        load_training_state(path, "seqlab.word2vec", "word2vec", "/data/b.txt")
    assert load_training_state(path, "seqlab.word2vec", "word2vec", "/data/a.txt")["corpus"] == "/data/a.txt"
