"""Training extras of issue 28: gradient accumulation (= one step on the joined batch), token batches
(every pair once, within the budget, the greedy fill, deterministic), chrF model selection, and checkpoint
averaging (= a model whose weights were averaged by hand)."""

from __future__ import annotations

import dataclasses
import math

import pytest
import torch
from launch import spawn
from resume import assert_resumes_exactly
from sacrebleu.metrics import CHRF
from seq2seq_ddp import seq2seq_worker

from seqlab.errors import ConfigError, DataError
from seqlab.io import load_checkpoint
from seqlab.seq2seq.average import average_checkpoints, average_models
from seqlab.seq2seq.config import Seq2SeqConfig
from seqlab.seq2seq.data import ParallelCorpus
from seqlab.seq2seq.dates import generate
from seqlab.seq2seq.model import Seq2Seq
from seqlab.seq2seq.train import LAST_FILE, Seq2SeqTrainer, train_seq2seq, train_subwords
from seqlab.seq2seq.translate import Translator, model_state, save_model
from seqlab.text.subword import Subword

TINY = Seq2SeqConfig(task="dates", train_size=400, valid_size=40, spm_type="char", vocab_size=100, max_len=60,
                     cell="gru", emb_dim=16, hidden_size=24, enc_layers=1, dec_layers=1, dropout=0.0, epochs=1,
                     batch_size=16, lr=3e-3, label_smoothing=0.1, max_len_ratio=0.0, max_len_offset=12,
                     bleu_tokenize="char", checkpoint_minutes=0.0, decay="cosine", warmup_steps=3)
CPU = torch.device("cpu")


@pytest.fixture(scope="module")
def data():
    src, tgt = generate(TINY.train_size + TINY.valid_size, TINY.seed)
    n = TINY.train_size
    texts = src[:n], tgt[:n], src[n:], tgt[n:]
    return texts, train_subwords(TINY, texts[0], texts[1])


def trainer(cfg, data, out):
    texts, subwords = data
    return Seq2SeqTrainer(cfg, out, CPU, texts=texts, subwords=subwords, quiet=True)


# --- gradient accumulation ---------------------------------------------------------------------------------------

@pytest.mark.usefixtures("one_thread")
def test_accumulating_two_batches_is_one_step_on_both(tmp_path, data):
    """accumulate=2 with batches of 16: each step is the step of one 32-pair batch of the same pairs (losses,
    gradients, weights, the learning rate after the schedule's step); steps_per_epoch counts optimiser steps.
    A copy task, whose targets differ in length: the loss must be divided by the tokens of both batches."""
    (src, _, valid, _), _ = data
    copy = (src, src, valid, valid), train_subwords(TINY, src, src)
    cfg = dataclasses.replace(TINY, clip_norm=0.0)  # the raw gradients stay in .grad
    two = trainer(dataclasses.replace(cfg, accumulate=2), copy, tmp_path / "two")
    one = trainer(dataclasses.replace(cfg, batch_size=32), copy, tmp_path / "one")
    steps = two.epoch_batches()
    assert all(len(step) == 2 for step in steps[:-1]) and 1 <= len(steps[-1]) <= 2
    assert len(steps) == two.steps_per_epoch == one.steps_per_epoch == math.ceil(math.ceil(TINY.train_size / 16) / 2)
    assert sorted(i for step in steps for batch in step for i in batch) == two.train.keep
    for step in steps[:3]:
        assert two.train.batch(step[0]).num_tokens != two.train.batch(step[1]).num_tokens
        assert two.step(step) == pytest.approx(one.step([step[0] + step[1]]), rel=1e-6)
        for (name, p), q in zip(two.model.named_parameters(), one.model.parameters(), strict=True):
            torch.testing.assert_close(p.grad, q.grad, rtol=1e-5, atol=1e-8, msg=name)
    assert two.step_count == one.step_count == 3
    assert two.optimizer.param_groups[0]["lr"] == one.optimizer.param_groups[0]["lr"]
    for (name, p), q in zip(two.model.state_dict().items(), one.model.state_dict().values(), strict=True):
        torch.testing.assert_close(p, q, rtol=0, atol=1e-6, msg=name)
    with pytest.raises(ConfigError, match="accumulate must be at least 1"):
        dataclasses.replace(TINY, accumulate=0).validate()


@pytest.mark.usefixtures("one_thread")
def test_resume_mid_epoch_is_exact_with_token_batches_and_accumulation(tmp_path, data):
    cfg = dataclasses.replace(TINY, accumulate=2, batch_tokens=200, dropout=0.1)
    assert_resumes_exactly(trainer(cfg, data, tmp_path / "a"), lambda state: trainer(cfg, data, tmp_path / "b"), 3, 5)


@pytest.mark.slow  # two spawned processes: about 10 s on 2 cores
def test_ddp_accumulation_equals_one_process(tmp_path, data):
    """2 processes (gloo) with accumulate=2 (gradients all-reduced once per step, under no_sync before) take
    the steps of one process with the same global batches."""
    texts, subwords = data
    cfg = dataclasses.replace(TINY, batch_size=8, accumulate=2)
    out = str(tmp_path / "ddp.pt")
    spm = (subwords[0].model_bytes, subwords[1].model_bytes)
    spawn(seq2seq_worker, 2, cfg, texts, spm, out, 3)
    ddp = torch.load(out)
    single = trainer(dataclasses.replace(cfg, batch_size=16), data, tmp_path / "one")
    assert [single.step(step) for step in single.epoch_batches()[:3]] == pytest.approx(ddp["losses"], rel=1e-5)
    for name, p in single.model.state_dict().items():
        torch.testing.assert_close(ddp["model"][name], p, rtol=1e-4, atol=1e-5, msg=name)


# --- token batches -------------------------------------------------------------------------------------------------

def greedy(sizes: list[int], budget: int) -> list[list[int]]:
    """The reference fill: positions of ascending ``sizes`` added one by one while count x largest <= budget."""
    batches: list[list[int]] = []
    for i, size in enumerate(sizes):
        if batches and (len(batches[-1]) + 1) * size <= budget:
            batches[-1].append(i)
        else:
            batches.append([i])
    return batches


@pytest.fixture(scope="module")
def corpus(data):
    (src, tgt, _, _), (src_sp, tgt_sp) = data
    return ParallelCorpus(src, tgt, src_sp, tgt_sp, max_len=60)


def cost(corpus: ParallelCorpus, batch: list[int]) -> int:
    return len(batch) * max(max(len(corpus.src_ids[i]), len(corpus.tgt_ids[i]) + 1) for i in batch)


@pytest.mark.parametrize("budget", [5, 60, 250, 1000])
def test_token_batches_hold_every_pair_once_within_the_budget(corpus, budget):
    batches = corpus.token_batches(budget, torch.Generator().manual_seed(3))
    assert sorted(i for b in batches for i in b) == corpus.keep
    assert all(cost(corpus, b) <= budget or len(b) == 1 for b in batches)
    if budget == 5:  # every pair is larger than the budget: a batch each, or of min_pairs (DDP: one per process)
        assert all(len(b) == 1 for b in batches)
        paired = corpus.token_batches(budget, torch.Generator().manual_seed(3), pool_batches=10**6, min_pairs=2)
        assert sorted(len(b) for b in paired)[1:] == [2] * (len(paired) - 1)
        assert sorted(i for b in paired for i in b) == corpus.keep
    assert corpus.token_batches(budget, torch.Generator().manual_seed(3)) == batches
    if budget > 5:
        assert corpus.token_batches(budget, torch.Generator().manual_seed(4)) != batches


def test_token_batches_are_the_greedy_fill_of_the_sorted_pool(corpus):
    """One pool (the whole corpus): the batches are the reference greedy fill of the pairs sorted by size."""
    budget = 300
    batches = corpus.token_batches(budget, torch.Generator().manual_seed(0), pool_batches=10**6)
    order = torch.tensor(corpus.keep)[torch.randperm(len(corpus.keep), generator=torch.Generator().manual_seed(0))]
    sizes = [max(len(corpus.src_ids[i]), len(corpus.tgt_ids[i]) + 1) for i in order.tolist()]
    ranked = sorted(range(len(sizes)), key=lambda k: sizes[k])
    expected = [[order[ranked[k]].item() for k in batch] for batch in greedy([sizes[k] for k in ranked], budget)]
    assert sorted(map(sorted, batches)) == sorted(map(sorted, expected))


@pytest.mark.usefixtures("one_thread")
def test_trainer_with_batch_tokens(tmp_path, data):
    """batch_tokens: the epoch's steps cover every pair once, each batch within the budget; a run trains."""
    cfg = dataclasses.replace(TINY, batch_tokens=300)
    t = trainer(cfg, data, tmp_path / "m")
    steps = t.epoch_batches()
    assert len(steps) == t.steps_per_epoch and all(len(step) == 1 for step in steps)
    assert sorted(i for step in steps for i in step[0]) == t.train.keep
    assert all(cost(t.train, step[0]) <= 300 or len(step[0]) == 1 for step in steps)
    assert t.fit()["steps"] == len(steps)
    with pytest.raises(ConfigError, match="batch_tokens must be >= 0"):
        dataclasses.replace(TINY, batch_tokens=-1).validate()


# --- chrF selection ------------------------------------------------------------------------------------------------

SCRIPT = [{"valid_bleu": 50.0, "valid_chrf": 40.0}, {"valid_bleu": 40.0, "valid_chrf": 60.0},
          {"valid_bleu": 45.0, "valid_chrf": 50.0}, {"valid_bleu": 30.0, "valid_chrf": 30.0}]


@pytest.mark.usefixtures("one_thread")
@pytest.mark.parametrize(("metric", "best", "epochs"), [("bleu", 1, 2), ("chrf", 2, 3)])
def test_valid_metric_picks_the_model_and_counts_patience(tmp_path, data, metric, best, epochs):
    """Scripted validations where BLEU and chrF disagree: the chosen one selects the saved model, steps the
    plateau schedule and counts patience (1 epoch); the summary reports both scores of the best epoch."""
    cfg = dataclasses.replace(TINY, valid_metric=metric, epochs=4, patience=1, decay="plateau", train_size=64)
    t = trainer(cfg, data, tmp_path / "m")
    script = iter(SCRIPT)
    t.validate = lambda: {**next(script), "valid_exact": 0.0, "valid_loss": 1.0}
    summary = t.fit()
    assert summary["epochs"] == epochs and summary["valid_metric"] == metric
    assert load_checkpoint(tmp_path / "m" / "model.safetensors")["metrics"]["epoch"] == best
    chosen = SCRIPT[best - 1]
    assert (summary["best_valid_bleu"], summary["best_valid_chrf"]) == (chosen["valid_bleu"], chosen["valid_chrf"])
    assert t.plateau.best == chosen[f"valid_{metric}"]


@pytest.mark.usefixtures("one_thread")
def test_validation_reports_sacrebleu_chrf(tmp_path, data):
    t = trainer(dataclasses.replace(TINY, valid_metric="chrf"), data, tmp_path / "m")
    metrics = t.validate()
    translator = Translator(t.model, t.cfg, t.src_sp, t.tgt_sp, CPU)
    hyps = [r.text for r in translator.translate(t.valid.src_text, beam=1)]
    assert metrics["valid_chrf"] == CHRF().corpus_score(hyps, [t.valid.tgt_text]).score
    with pytest.raises(ConfigError, match="valid_metric must be bleu or chrf, got 'ter'"):
        dataclasses.replace(TINY, valid_metric="ter").validate()


# --- checkpoint averaging ------------------------------------------------------------------------------------------

def random_model(cfg: Seq2SeqConfig, subwords: tuple[Subword, Subword], seed: int, out) -> Seq2Seq:
    torch.manual_seed(seed)
    model = Seq2Seq(cfg.model_config(len(subwords[0]), len(subwords[1])))
    save_model(out, model_state(model, cfg, *subwords))
    return model


SOURCES = ["3 may 1979", "tuesday 09/10/2001", "12.25.1999"]
TARGETS = ["1979-05-03", "2001-09-10", "1999-12-25"]


def test_averaged_model_is_the_hand_averaged_model(tmp_path, data):
    """Two models saved the normal way, and a training checkpoint (last.safetensors): the averaged model file
    holds the float64 mean of their weights, and translates and scores as a Seq2Seq given those weights."""
    _, subwords = data
    models = [random_model(TINY, subwords, seed, tmp_path / f"m{seed}") for seed in (1, 2)]
    summary = average_models([tmp_path / "m1", tmp_path / "m2" / "model.safetensors"], tmp_path / "avg")
    assert summary["checkpoints"] == 2 and (tmp_path / "avg" / "config.toml").exists()
    hand = Seq2Seq(models[0].cfg)
    hand.load_state_dict({k: (v + models[1].state_dict()[k]) / 2 for k, v in models[0].state_dict().items()})
    loaded = Translator.load(tmp_path / "avg")
    for name, value in hand.state_dict().items():
        assert torch.equal(loaded.model.state_dict()[name], value), name
    by_hand = Translator(hand, TINY, *subwords, CPU)
    assert torch.equal(loaded.log_probs(SOURCES, TARGETS), by_hand.log_probs(SOURCES, TARGETS))
    assert [t.nbest for t in loaded.translate(SOURCES, beam=3, nbest=2)] == \
        [t.nbest for t in by_hand.translate(SOURCES, beam=3, nbest=2)]
    assert not torch.equal(loaded.log_probs(SOURCES, TARGETS), Translator(models[0], TINY, *subwords, CPU)
                           .log_probs(SOURCES, TARGETS))

    run = trainer(TINY, data, tmp_path / "run")
    (tmp_path / "run").mkdir()
    run.save_last()
    state = average_checkpoints([tmp_path / "m1", tmp_path / "m2", tmp_path / "run" / LAST_FILE])
    third = run.model.state_dict()
    for name, value in state["model"].items():
        mean = (models[0].state_dict()[name].double() + models[1].state_dict()[name].double()
                + third[name].double()) / 3
        assert torch.equal(value, mean.float()), name


def test_averaging_refuses_other_architectures_and_vocabularies(tmp_path, data):
    texts, subwords = data
    random_model(TINY, subwords, 1, tmp_path / "a")
    random_model(dataclasses.replace(TINY, hidden_size=16), subwords, 1, tmp_path / "wide")
    with pytest.raises(DataError, match=r"wide/model.safetensors: a different architecture .*hidden_size 16 vs 24"):
        average_checkpoints([tmp_path / "a", tmp_path / "wide"])
    cfg = dataclasses.replace(TINY, spm_type="unigram", vocab_size=120)
    other = (Subword.train(texts[0][:200], 120, "unigram"), Subword.train(texts[1][:200], 40, "unigram"))
    mine = (Subword.train(texts[0][200:], 120, "unigram"), Subword.train(texts[1][200:], 40, "unigram"))
    random_model(cfg, mine, 1, tmp_path / "mine")
    random_model(cfg, other, 2, tmp_path / "other")
    with pytest.raises(DataError, match="other/model.safetensors: its subword vocabularies differ"):
        average_checkpoints([tmp_path / "mine", tmp_path / "other"])
    with pytest.raises(ConfigError, match="at least two"):
        average_checkpoints([tmp_path / "a"])


@pytest.mark.usefixtures("one_thread")
def test_average_last_averages_the_last_epochs(tmp_path, data):
    """average_last=2 over 3 epochs keeps epoch2/epoch3 snapshots (epoch1 removed) and writes their mean to
    OUTPUT/average, a model directory."""
    cfg = dataclasses.replace(TINY, task="dates", train_size=120, epochs=3, average_last=2)
    summary = train_seq2seq(cfg, tmp_path / "m", CPU, quiet=True)
    out = tmp_path / "m"
    assert sorted(p.name for p in out.glob("epoch*")) == ["epoch2.safetensors", "epoch3.safetensors"]
    assert summary["average"] == str(out / "average" / "model.safetensors")
    snapshots = [load_checkpoint(out / f"epoch{k}.safetensors")["model"] for k in (2, 3)]
    averaged = Translator.load(out / "average").model.state_dict()
    for name, value in averaged.items():
        assert torch.equal(value, (snapshots[0][name] + snapshots[1][name]) / 2), name
    with pytest.raises(ConfigError, match="average_last must be 0"):
        dataclasses.replace(TINY, average_last=1).validate()
