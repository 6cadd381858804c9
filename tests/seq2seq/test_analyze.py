"""Error analysis scores a pair with the objective the beam search maximised."""

from __future__ import annotations

import pytest
import torch

from seqlab.seq2seq.analyze import error_analysis, sequence_scores
from seqlab.seq2seq.dates import held_out
from seqlab.seq2seq.translate import Translator, default_model_path
from seqlab.text.padding import pad_ids


@pytest.mark.usefixtures("one_thread")
@pytest.mark.parametrize("beta", [0.0, 0.5])
def test_sequence_scores_equal_the_search_scores(beta):
    """For each output of beam search (shipped dates model), sequence_scores of the output text equals the
    score the search gave it: log P / length penalty, plus the coverage penalty with beta > 0. (Only outputs
    whose text encodes back to the searched ids can match; nearly all do.)"""
    translator = Translator.load(default_model_path(), torch.device("cpu"))
    cfg = translator.cfg
    sources, _ = held_out(60, 7, cfg.seed, cfg.train_size + cfg.valid_size)
    src, lengths = pad_ids([translator.src_sp.encode(s) for s in sources])
    found = translator.search(src, lengths, 4, cfg.alpha, cfg.penalty, 1, beta)
    texts = [translator.tgt_sp.decode(ids) for ids in found.best()]
    scores = sequence_scores(translator, sources, texts, cfg.alpha, cfg.penalty, beta=beta)
    canonical = [i for i, ids in enumerate(found.best()) if translator.tgt_sp.encode(texts[i]) == ids]
    assert len(canonical) >= 55
    for i in canonical:
        assert float(scores[i]) == pytest.approx(float(found.scores[i, 0]), abs=1e-3)


@pytest.mark.usefixtures("one_thread")
def test_error_analysis_splits_the_wrong_sentences():
    """A strong coverage penalty makes the dates model cover weekday names it should skip: many outputs go
    wrong, and every wrong sentence is classified by comparing the two penalised scores."""
    translator = Translator.load(default_model_path(), torch.device("cpu"))
    cfg = translator.cfg
    sources, references = held_out(40, 7, cfg.seed, cfg.train_size + cfg.valid_size)
    clean = error_analysis(translator, sources, references, beam=4)
    report = error_analysis(translator, sources, references, beam=4, beta=3.0)
    assert clean["beta"] == 0.0 and report["beta"] == 3.0 and report["wrong"] > clean["wrong"]
    assert report["search_errors"] + report["model_errors"] == report["wrong"] == len(report["examples"])
    for ex in report["examples"]:
        assert ex["error"] == ("search" if ex["reference_score"] > ex["output_score"] else "model")
