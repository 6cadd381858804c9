"""Training: a real learning run on the dates task, exact resume, and DDP (gloo, 2 processes) = 1 process."""

from __future__ import annotations

import dataclasses

import pytest
import torch
from launch import spawn
from resume import assert_resumes_exactly
from seq2seq_ddp import seq2seq_worker

import seqlab.seq2seq.train as train_module
from seqlab.errors import ConfigError
from seqlab.io import load_checkpoint
from seqlab.seq2seq.config import Seq2SeqConfig
from seqlab.seq2seq.dates import generate, held_out
from seqlab.seq2seq.train import LAST_FILE, Seq2SeqTrainer, train_seq2seq, train_subwords
from seqlab.seq2seq.translate import Translator

TINY = Seq2SeqConfig(task="dates", train_size=600, valid_size=50, spm_type="char", vocab_size=100, max_len=60,
                     cell="gru", emb_dim=16, hidden_size=24, enc_layers=1, dec_layers=1, dropout=0.1, epochs=2,
                     batch_size=32, lr=3e-3, label_smoothing=0.1, max_len_ratio=0.0, max_len_offset=12,
                     bleu_tokenize="char", checkpoint_minutes=0.0, decay="cosine", warmup_steps=5)


def texts(cfg):
    src, tgt = generate(cfg.train_size + cfg.valid_size, cfg.seed)
    n = cfg.train_size
    return src[:n], tgt[:n], src[n:], tgt[n:]


@pytest.mark.usefixtures("one_thread")
def test_dates_task_learns(tmp_path):
    """A small model reaches high exact match on held-out generated dates within a short CPU run."""
    cfg = dataclasses.replace(TINY, train_size=6000, valid_size=200, emb_dim=32, hidden_size=64, dropout=0.0,
                              epochs=3, batch_size=64, label_smoothing=0.0)
    summary = train_seq2seq(cfg, tmp_path / "m", torch.device("cpu"), quiet=True)
    assert len(summary["history"]) == 3
    translator = Translator.load(tmp_path / "m")
    src, tgt = held_out(300, 99, cfg.seed, cfg.train_size + cfg.valid_size)
    out = [t.text for t in translator.translate(src, beam=3)]
    exact = sum(o == t for o, t in zip(out, tgt, strict=True)) / len(tgt)
    assert exact >= 0.9, f"exact match {exact:.3f}"


SAMPLED = {"spm_type": "unigram", "vocab_size": 200, "sampling_alpha": 0.2, "sampling_nbest": -1}


@pytest.mark.usefixtures("one_thread")
@pytest.mark.parametrize("settings", [{}, {"ema_decay": 0.9}, SAMPLED], ids=["plain", "ema", "subword-sampling"])
def test_resume_mid_epoch_is_exact(tmp_path, settings):
    """Stop after 5 steps, reload last.safetensors in a new trainer: the next losses and the final weights (and
    their moving average) are those of an uninterrupted run (dropout on, so the random state must travel too;
    with subword sampling, the epoch's sampled segmentation too)."""
    cfg = dataclasses.replace(TINY, **settings)
    ema_decay = cfg.ema_decay
    data = texts(cfg)
    subwords = train_subwords(cfg, data[0], data[1])
    device = torch.device("cpu")
    a = Seq2SeqTrainer(cfg, tmp_path / "a", device, texts=data, subwords=subwords, quiet=True)
    b = assert_resumes_exactly(
        a, lambda state: Seq2SeqTrainer(cfg, tmp_path / "b", device, texts=data, subwords=subwords, quiet=True), 5, 8)
    if ema_decay:
        assert a.average.updates == b.average.updates == 8
        assert all(torch.equal(x, y) for x, y in zip(a.average.shadow, b.average.shadow, strict=True))


@pytest.mark.usefixtures("one_thread")
def test_subword_sampling_segments_each_epoch_anew(tmp_path):
    """With sampling_alpha every epoch trains on another sampled segmentation of the same pairs (each one
    decoding to the text), validation keeps the best segmentation, and a run trains end to end."""
    cfg = dataclasses.replace(TINY, **SAMPLED)
    data = texts(cfg)
    trainer = Seq2SeqTrainer(cfg, tmp_path / "m", torch.device("cpu"), texts=data, quiet=True)
    best = list(trainer.train.src_ids)
    trainer.epoch_batches()
    first = list(trainer.train.src_ids)
    trainer.epoch = 1
    trainer.epoch_batches()
    second = list(trainer.train.src_ids)
    keep = trainer.train.keep
    assert sum(first[i] != second[i] for i in keep) > len(keep) // 4
    assert sum(first[i] != best[i] for i in keep) > len(keep) // 4
    assert all(trainer.src_sp.decode(first[i]) == trainer.src_sp.decode(best[i]) for i in keep)
    assert trainer.valid.src_ids == trainer.src_sp.encode_batch(data[2])
    trainer.epoch = 0
    summary = trainer.fit()
    assert len(summary["history"]) == cfg.epochs and (tmp_path / "m" / "model.safetensors").exists()
    for bad, message in (({"sampling_alpha": -0.1}, "sampling_alpha must be >= 0"),
                         ({"sampling_alpha": 0.1, "spm_type": "char"}, "needs spm_type unigram or bpe"),
                         ({"sampling_alpha": 1.0, "spm_type": "bpe"}, "below 1 for spm_type bpe"),
                         ({"sampling_nbest": 1}, "sampling_nbest must be -1")):
        with pytest.raises(ConfigError, match=message):
            dataclasses.replace(TINY, **bad).validate()


@pytest.mark.usefixtures("one_thread")
def test_ema_validates_and_saves_the_averaged_weights(tmp_path):
    """With ema_decay, model.safetensors holds the moving average, and the trained weights stay in last.safetensors."""
    cfg = dataclasses.replace(TINY, epochs=1, ema_decay=0.9)
    trainer = Seq2SeqTrainer(cfg, tmp_path / "m", torch.device("cpu"), quiet=True)
    trainer.fit()
    saved = load_checkpoint(tmp_path / "m" / "model.safetensors")["model"]
    trained = dict(trainer.model.named_parameters())
    shadow = dict(zip([n for n, p in trainer.model.named_parameters() if p.requires_grad], trainer.average.shadow,
                      strict=True))
    name = next(iter(shadow))
    assert torch.equal(saved[name], shadow[name]) and not torch.equal(saved[name], trained[name].detach())
    assert torch.equal(load_checkpoint(tmp_path / "m" / LAST_FILE)["model"][name], trained[name].detach())
    with pytest.raises(ConfigError, match="ema_decay must be in"):
        dataclasses.replace(TINY, ema_decay=1.0).validate()


@pytest.mark.usefixtures("one_thread")
def test_amp_cpu_trains_under_bfloat16_autocast_only_where_the_cpu_has_it(tmp_path, monkeypatch):
    """amp_cpu: the training step's logits are bfloat16 and its loss is the float32 step's up to bf16
    rounding; on a CPU without native bfloat16 the trainer says so and stays in float32."""
    cfg = dataclasses.replace(TINY, amp_cpu=True, dropout=0.0)
    data = texts(cfg)
    subwords = train_subwords(cfg, data[0], data[1])
    dtypes = []
    loss_of = train_module.token_loss
    monkeypatch.setattr(train_module, "token_loss", lambda logits, *rest: (dtypes.append(logits.dtype),
                                                                             loss_of(logits, *rest))[1])
    monkeypatch.setattr(train_module, "cpu_has_bf16", lambda: True)
    losses = {}
    for name, amp_cpu in (("bf16", True), ("fp32", False)):
        trainer = Seq2SeqTrainer(dataclasses.replace(cfg, amp_cpu=amp_cpu), tmp_path / name, torch.device("cpu"),
                                 texts=data, subwords=subwords, quiet=True)
        losses[name] = trainer.step(trainer.epoch_batches()[0])
    assert dtypes == [torch.bfloat16, torch.float32]
    assert losses["bf16"] != losses["fp32"] and losses["bf16"] == pytest.approx(losses["fp32"], abs=0.05)

    monkeypatch.setattr(train_module, "cpu_has_bf16", lambda: False)
    messages: list[str] = []
    trainer = Seq2SeqTrainer(cfg, tmp_path / "old", torch.device("cpu"), texts=data, subwords=subwords, quiet=True,
                             log=messages.append)
    assert trainer.amp is False and any("no native bfloat16" in m for m in messages)
    trainer.step(trainer.epoch_batches()[0])
    assert dtypes[-1] == torch.float32


@pytest.mark.usefixtures("one_thread")
def test_fit_resume_continues_and_keeps_history(tmp_path):
    cfg = dataclasses.replace(TINY, epochs=1)
    train_seq2seq(cfg, tmp_path / "m", torch.device("cpu"), quiet=True)
    summary = train_seq2seq(dataclasses.replace(cfg, epochs=2), tmp_path / "m", torch.device("cpu"), resume=True,
                            quiet=True)
    assert [h["epoch"] for h in summary["history"]] == [1, 2]
    assert (tmp_path / "m" / "model.safetensors").exists() and not list((tmp_path / "m").glob("*.tmp"))


def test_ddp_two_processes_equal_one_with_double_batch(tmp_path):
    cfg = dataclasses.replace(TINY, dropout=0.0, batch_size=16)
    data = texts(cfg)
    subwords = train_subwords(cfg, data[0], data[1])
    out = str(tmp_path / "ddp.pt")
    spawn(seq2seq_worker, 2, cfg, data, (subwords[0].model_bytes, subwords[1].model_bytes), out, 3)
    ddp = torch.load(out)

    single = Seq2SeqTrainer(dataclasses.replace(cfg, batch_size=32), tmp_path / "one", torch.device("cpu"),
                            texts=data, subwords=subwords, quiet=True)
    losses = [single.step(index) for index in single.epoch_batches()[:3]]
    assert losses == pytest.approx(ddp["losses"], rel=1e-5)
    for name, p in single.model.state_dict().items():
        torch.testing.assert_close(ddp["model"][name], p, rtol=1e-4, atol=1e-5, msg=name)
