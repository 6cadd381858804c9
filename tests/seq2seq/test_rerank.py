"""Right-to-left models (``reverse_target``) and n-best reranking with them."""

from __future__ import annotations

import dataclasses
import json

import pytest
import torch
from click.testing import CliRunner

from seqlab.cli.main import seq2seq
from seqlab.cli.seq2seq import translate
from seqlab.errors import ConfigError
from seqlab.io import load_model_dir
from seqlab.seq2seq.config import Seq2SeqConfig
from seqlab.seq2seq.data import collate
from seqlab.seq2seq.dates import held_out
from seqlab.seq2seq.search import length_penalty
from seqlab.seq2seq.train import train_seq2seq
from seqlab.seq2seq.translate import MODEL_FILE, MODEL_KIND, Translator, default_model_path, save_model
from seqlab.text.subword import BOS, EOS

R2L = Seq2SeqConfig(task="dates", train_size=6000, valid_size=200, spm_type="char", vocab_size=100, max_len=60,
                    cell="gru", emb_dim=32, hidden_size=64, enc_layers=1, dec_layers=1, dropout=0.0, epochs=3,
                    batch_size=64, lr=3e-3, label_smoothing=0.0, max_len_ratio=0.0, max_len_offset=12,
                    bleu_tokenize="char", checkpoint_minutes=0.0, decay="cosine", warmup_steps=5,
                    reverse_target=True, seed=5)


@pytest.fixture(scope="module")
def r2l_model(tmp_path_factory):
    """A right-to-left dates model, trained on the CPU in a short run."""
    torch.set_num_threads(1)
    out = tmp_path_factory.mktemp("r2l") / "model"
    train_seq2seq(R2L, out, torch.device("cpu"), quiet=True)
    return out


def held(n: int = 60, seed: int = 99) -> tuple[list[str], list[str]]:
    return held_out(n, seed, R2L.seed, R2L.train_size + R2L.valid_size)


def test_collate_reverses_the_targets_only():
    src_ids, tgt_ids = [[5, 6, 7], [8, 9]], [[10, 11, 12], [13, 14]]
    forward, backward = collate(src_ids, tgt_ids, [0, 1]), collate(src_ids, tgt_ids, [0, 1], reverse_target=True)
    assert torch.equal(forward.src, backward.src) and torch.equal(forward.src_lengths, backward.src_lengths)
    assert backward.tgt_in.tolist() == [[BOS, 12, 11, 10], [BOS, 14, 13, 0]]
    assert backward.tgt_out.tolist() == [[12, 11, 10, EOS], [14, 13, EOS, 0]]
    assert forward.tgt_out.tolist() == [[10, 11, 12, EOS], [13, 14, EOS, 0]]


def test_a_right_to_left_model_learns_and_translates_forwards(r2l_model):
    """Trained on reversed targets, it generates the ISO date last character first; the translator turns its
    output around, so the text is the date itself (without that, exact match would be near 0)."""
    translator = Translator.load(r2l_model)
    assert translator.cfg.reverse_target
    src, tgt = held(300)
    out = [t.text for t in translator.translate(src, beam=3)]
    exact = sum(o == t for o, t in zip(out, tgt, strict=True)) / len(tgt)
    assert exact >= 0.9, f"exact match {exact:.3f}"
    ids = translator.target_ids("1979-05-03")
    assert translator.tgt_sp.decode(ids).strip() == "30-50-9791" and translator.target_text(ids) == "1979-05-03"


@torch.no_grad()
def test_log_probs_score_the_target_in_decoding_order(r2l_model):
    translator = Translator.load(r2l_model)
    src, tgt = held(20)
    got = translator.log_probs(src, tgt, batch_size=7)  # batches sorted by length, results in input order
    for i in range(len(src)):
        ids = translator.tgt_sp.encode(tgt[i])[::-1] + [EOS]
        want = translator.model.score(torch.tensor([translator.src_sp.encode(src[i])]),
                                      torch.tensor([len(translator.src_sp.encode(src[i]))]), torch.tensor([ids]))
        assert float(got[i]) == pytest.approx(float(want[0]), abs=1e-4)


def _nbest_texts(translator: Translator, sources: list[str], beam: int) -> list[list[str]]:
    return [[t for t, _ in r.nbest] for r in translator.translate(sources, beam=beam, nbest=beam)]


@pytest.mark.parametrize("weight", [0.0, 0.5, 1.0])
def test_reranking_orders_the_beam_by_the_combined_score(r2l_model, weight):
    """The shipped (left-to-right) dates model reranked by the right-to-left one: each line's hypotheses are the
    beam's, in the order of ((1 - w) log P + w log P_r2l) / lp, with those scores (log P = the search's score x lp);
    w = 0 keeps the search's order and scores."""
    main, r2l = Translator.load(default_model_path()), Translator.load(r2l_model)
    sources, _ = held(40, seed=7)
    sources = [s.upper() if i % 3 == 0 else s for i, s in enumerate(sources)]  # harder inputs: beams differ
    plain = main.translate(sources, beam=4, nbest=4)
    main.set_rerankers([r2l], weight)
    reranked = main.translate(sources, beam=4, nbest=3)
    changed = 0
    for source, before, after in zip(sources, plain, reranked, strict=True):
        texts, search_scores = list(dict.fromkeys(t for t, _ in before.nbest)), dict(before.nbest[::-1])
        lengths = torch.tensor([len(main.tgt_sp.encode(t)) + 1 for t in texts])  # canonical segmentations
        divisor = length_penalty(lengths, main.cfg.alpha, main.cfg.penalty)
        own = torch.tensor([search_scores[t] for t in texts]) * divisor
        want = ((1 - weight) * own + weight * r2l.log_probs([source] * len(texts), texts)) / divisor
        order = sorted(range(len(texts)), key=lambda i: -float(want[i]))[:3]
        assert [t for t, _ in after.nbest] == [texts[i] for i in order] and after.text == texts[order[0]]
        assert [s for _, s in after.nbest] == pytest.approx([float(want[i]) for i in order], abs=1e-4)
        if weight == 0.0:
            assert after.nbest == before.nbest[:3]
        changed += [t for t, _ in after.nbest] != [t for t, _ in before.nbest[:3]]  # the order moved
    assert (changed > 0) == (weight > 0)


def test_reranking_refusals(r2l_model, tmp_path):
    main, r2l = Translator.load(default_model_path()), Translator.load(r2l_model)
    with pytest.raises(ConfigError, match=r"rerank weight must be in \[0, 1\]"):
        main.set_rerankers([r2l], 1.5)
    main.set_rerankers([r2l])
    with pytest.raises(ConfigError, match="without the coverage penalty"):
        main.translate(["3 may 1979"], beta=0.2)
    _, state = load_model_dir(r2l_model, MODEL_KIND, "seq2seq", MODEL_FILE)
    state["config"]["reverse_target"] = False  # the same weights and subwords, read left to right
    save_model(tmp_path / "l2r", state)
    with pytest.raises(ConfigError, match="l2r: it decodes left to right but .* decodes right to left"):
        Translator.load_ensemble([r2l_model, tmp_path / "l2r"])


def test_configs_without_reverse_target_read_as_left_to_right():
    """Checkpoints written before reverse_target existed read as left to right."""
    cfg = dataclasses.asdict(Seq2SeqConfig())
    cfg.pop("reverse_target")
    assert Seq2SeqConfig(**cfg).reverse_target is False


def test_rerank_through_the_cli(r2l_model, tmp_path):
    source = tmp_path / "in.txt"
    source.write_text("3 may 1979\n12/25/1999\ntuesday 09/10/2001\n", encoding="utf-8")
    runner = CliRunner()
    result = runner.invoke(translate, ["--input", str(source), "--beam", "4", "--nbest", "2", "--rerank",
                                       str(r2l_model), "--rerank-weight", "0.3", "--device", "cpu"])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert [line.split("\t")[0] for line in lines] == ["1", "1", "2", "2", "3", "3"]
    assert [line.split("\t")[2] for line in lines[::2]] == ["1979-05-03", "1999-12-25", "2001-09-10"]
    result = runner.invoke(seq2seq, ["eval", "--size", "40", "--rerank", str(r2l_model), "--json", "--device", "cpu"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["exact_match"] >= 0.9
    result = runner.invoke(translate, ["--rerank", str(r2l_model), "--rerank-weight", "2"], input="3 may 1979\n")
    assert result.exit_code == 2 and "--rerank-weight" in result.output

