"""seqlab.Word2Vec, gensim's constructor and methods, against gensim itself; training from Python sentences,
callbacks, online vocabulary updates, trim rules and the word2vec options gensim users reach for."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch
from gensim.models import Word2Vec as GensimWord2Vec
from gensim.models.callbacks import CallbackAny2Vec
from gensim.utils import RULE_DISCARD, RULE_KEEP, simple_preprocess

from seqlab.embeddings.evaluate import gensim_test_data
from seqlab.embeddings.gensim_api import Word2Vec
from seqlab.embeddings.word2vec import Word2Vec as Trainer
from seqlab.embeddings.word2vec import Word2VecConfig, train_word2vec
from seqlab.errors import ConfigError, DataError
from seqlab.text.encode import read_sentences

LEE = [simple_preprocess(line) for line in open(gensim_test_data("lee_background.cor"), encoding="utf-8")]


@pytest.fixture(autouse=True)
def _single_thread(one_thread):
    """Every test here runs with one torch thread (see conftest.one_thread)."""


def counts_of(vocab_words, counts) -> dict[str, int]:
    return dict(zip(vocab_words, np.asarray(counts).tolist(), strict=True))


@pytest.mark.parametrize("settings", [dict(min_count=2), dict(min_count=1, max_final_vocab=300),
                                      dict(min_count=3, trim_rule="rule")])
def test_the_vocabulary_is_gensims(settings):
    settings = dict(settings)
    def rule(word, count, min_count):  # keep every "the...", drop every "s..."
        return RULE_KEEP if word.startswith("the") else RULE_DISCARD if word.startswith("s") else 0

    trim_rule = rule if settings.pop("trim_rule", None) else None  # build_vocab's: gensim ignores the constructor's
    ours = Word2Vec(vector_size=10, **settings)  # without sentences
    ours.build_vocab(LEE, trim_rule=trim_rule)
    theirs = GensimWord2Vec(vector_size=10, **settings)
    theirs.build_vocab(LEE, trim_rule=trim_rule)
    got = counts_of(ours.wv.index_to_key, ours.trainer.vocab.counts)
    expected = {w: theirs.wv.get_vecattr(w, "count") for w in theirs.wv.index_to_key}
    assert got == expected
    assert [got[w] for w in ours.wv.index_to_key] == sorted(got.values(), reverse=True)
    assert ours.corpus_count == theirs.corpus_count == 300
    assert ours.corpus_total_words == theirs.corpus_total_words


def test_the_constructor_trains_as_train_word2vec_does():
    model = Word2Vec(LEE, vector_size=16, min_count=2, sg=1, epochs=2, workers=1, seed=3)
    config = Word2VecConfig(model="sg", dim=16, min_count=2, epochs=2, seed=3)
    kv, stats = train_word2vec(LEE, config, "cpu", quiet=True)
    assert model.wv.words == kv.words and torch.equal(model.wv.vectors, kv.vectors)
    assert model.sg == 1 and model.hs == 0 and model.negative == 5 and model.vector_size == 16
    assert stats["raw_words"] == pytest.approx(2 * sum(map(len, LEE)))


def test_a_corpus_file_trains_as_the_same_sentences(tmp_path):
    path = tmp_path / "lee.txt"
    path.write_text("".join(" ".join(s) + "\n" for s in LEE), encoding="utf-8")
    from_file = Word2Vec(corpus_file=str(path), vector_size=12, min_count=2, epochs=1, workers=1)
    from_list = Word2Vec(LEE, vector_size=12, min_count=2, epochs=1, workers=1)
    from_generator = Word2Vec((s for s in LEE), vector_size=12, min_count=2, epochs=1, workers=1)
    assert from_file.wv.words == from_list.wv.words == from_generator.wv.words
    assert torch.equal(from_file.wv.vectors, from_list.wv.vectors)
    assert torch.equal(from_generator.wv.vectors, from_list.wv.vectors)  # one pass per call: a generator is enough


def test_long_sentences_are_cut_as_gensim_cuts_them():
    vocab, data = read_sentences([["a", "b"] * 7, ["c"]], 1, 0, max_sentence_length=4)
    assert np.asarray(data.starts).tolist() == [0, 4, 8, 12, 14, 15] and data.raw_words == 15


class Recorder(CallbackAny2Vec):
    """A gensim callback (its base class has every hook) recording what it saw."""

    def __init__(self) -> None:
        self.events: list[tuple] = []

    def on_train_begin(self, model):
        self.events.append(("train_begin",))

    def on_epoch_begin(self, model):
        self.events.append(("epoch_begin",))

    def on_epoch_end(self, model):
        self.events.append(("epoch_end", model.wv["government"].copy()))

    def on_train_end(self, model):
        self.events.append(("train_end",))


def test_gensim_callbacks_see_each_epoch_and_its_vectors():
    recorder = Recorder()
    model = Word2Vec(LEE, vector_size=12, min_count=2, epochs=3, workers=1, callbacks=[recorder])
    names = [e[0] for e in recorder.events]
    assert names == ["train_begin"] + ["epoch_begin", "epoch_end"] * 3 + ["train_end"]
    after = [e[1] for e in recorder.events if e[0] == "epoch_end"]
    assert not np.array_equal(after[0], after[1]) and np.array_equal(after[2], model.wv["government"])


def test_an_online_update_keeps_old_vectors_and_adds_new_words():
    model = Word2Vec(LEE, vector_size=12, min_count=2, epochs=2, workers=1)
    before = model.wv.vectors.clone()
    counts = counts_of(model.wv.words, model.trainer.vocab.counts)
    extra = [["zyzzyva", "government", "once"], ["zyzzyva", "government"], ["hapax"]]
    model.build_vocab(extra, update=True)
    assert model.wv.words[: len(before)] == list(counts) and model.wv.words[len(before):] == ["zyzzyva"]
    assert torch.equal(model.wv.vectors[: len(before)], before)  # nothing trained yet
    new_counts = counts_of(model.wv.words, model.trainer.vocab.counts)
    assert new_counts["government"] == counts["government"] + 2 and new_counts["zyzzyva"] == 2
    assert new_counts["once"] == counts.get("once", 0)  # once in the update: under min_count, not added to
    start = model.wv["zyzzyva"].copy()
    model.train(extra * 20, epochs=2)
    assert not np.array_equal(model.wv["zyzzyva"], start)

    theirs = GensimWord2Vec(LEE, vector_size=12, min_count=2, epochs=2, workers=1)
    theirs.build_vocab(extra, update=True)
    assert theirs.wv.get_vecattr("government", "count") == new_counts["government"]
    assert set(theirs.wv.index_to_key) == set(model.wv.words)


def test_an_update_needs_a_vocabulary_first():
    with pytest.raises(DataError, match="needs a vocabulary to update"):
        Word2Vec().build_vocab(LEE, update=True)
    with pytest.raises(DataError, match="no vocabulary yet"):
        Word2Vec().train(LEE)


def test_save_and_load_round_trip(tmp_path):
    model = Word2Vec(LEE, vector_size=8, min_count=3, epochs=1, workers=1, hs=1, negative=0, sg=1)
    model.save(tmp_path / "w2v.model")
    loaded = Word2Vec.load(tmp_path / "w2v.model")
    assert loaded.wv.words == model.wv.words and torch.equal(loaded.wv.vectors, model.wv.vectors)
    assert loaded.hs == 1 and loaded.sg == 1 and torch.equal(loaded.trainer.w_out, model.trainer.w_out)
    loaded.train(LEE[:50], epochs=1)  # and it trains on
    (tmp_path / "other").write_bytes(b"not a model")
    with pytest.raises(DataError):
        Word2Vec.load(tmp_path / "other")


@pytest.mark.parametrize(("kwargs", "error", "message"), [
    (dict(negative=0), ConfigError, "nothing to train"),
    (dict(max_vocab_size=1000), ConfigError, "max_final_vocab"),
    (dict(sorted_vocab=0), ConfigError, "sorted_vocab"),
    (dict(no_such_argument=1), TypeError, "no_such_argument"),
    (dict(vector_size=0), ConfigError, "dim"),
])
def test_what_seqlab_cannot_do_is_said_at_once(kwargs, error, message):
    with pytest.raises(error, match=message):
        Word2Vec(LEE, **kwargs)


def test_text_instead_of_token_lists_is_refused():
    with pytest.raises(DataError, match="got a string"):
        Word2Vec("the cat sat on the mat", min_count=1)
    with pytest.raises(DataError, match="sentence 2 is a string"):
        Word2Vec([["a", "b"], "c d"], min_count=1)
    with pytest.raises(DataError, match="tokens must be strings"):
        Word2Vec([["a", 1, "b"]], min_count=1)
    assert Word2Vec(max_final_vocab=None).trainer is None  # nothing given: nothing read yet


def test_accepted_gensim_arguments_without_effect():
    model = Word2Vec(LEE[:40], min_count=1, epochs=1, workers=1, batch_words=5000, comment="x")
    model.train(LEE[:40], total_examples=40, epochs=1, report_delay=2.0)


# ------------------------------------------------------------------------------ the options
def lee_score(model_wv, cooccurrence_score) -> float:
    vocab, data = read_sentences(LEE, 2, 0)
    from seqlab.embeddings.keyed_vectors import KeyedVectors

    vectors = np.stack([np.asarray(model_wv[w]) for w in vocab.words])
    return cooccurrence_score(KeyedVectors(vocab.words, torch.from_numpy(vectors)), data)


@pytest.mark.parametrize("options", [dict(cbow_mean=0), dict(sg=1, shrink_windows=False),
                                     dict(shrink_windows=False), dict(sg=1, ns_exponent=0.0),
                                     dict(sg=1, ns_exponent=-0.5), dict(sg=1, hs=1, negative=0), dict(sg=1, hs=1),
                                     dict(hs=1)],
                         ids=lambda o: ",".join(f"{k}={v}" for k, v in o.items()))
def test_each_option_learns_as_well_as_in_gensim(options, cooccurrence_score):
    common = dict(vector_size=32, min_count=2, epochs=15, seed=1, workers=1, **options)
    ours = lee_score(Word2Vec(LEE, **common).wv, cooccurrence_score)
    theirs = lee_score(GensimWord2Vec(LEE, **common).wv, cooccurrence_score)
    print(f"{options}: seqlab {ours:.3f}, gensim {theirs:.3f}")
    assert ours > 0.08 and ours > theirs - 0.04, (ours, theirs)


def test_cbow_sum_trains_differently_from_the_mean():
    mean = Word2Vec(LEE, vector_size=8, min_count=2, epochs=1, workers=1)
    summed = Word2Vec(LEE, vector_size=8, min_count=2, epochs=1, workers=1, cbow_mean=0)
    assert not torch.equal(mean.wv.vectors, summed.wv.vectors) and summed.cbow_mean == 0


def test_a_fixed_window_uses_every_slot_inside_the_sentence():
    vocab, data = read_sentences([list("abcdefgh"), list("xy")], 1, 0, quiet=True)
    for shrink in (True, False):
        trainer = Trainer(vocab, Word2VecConfig(window=3, min_count=1, shrink_windows=shrink, sample=0))
        ids = torch.from_numpy(np.asarray(data.ids, dtype=np.int64))
        sentence = torch.from_numpy(data.sentence.astype(np.int64))
        pos, ctx, valid = trainer._windows(ids, sentence, 0, len(ids))
        slot = pos.unsqueeze(1) + trainer.offsets  # the 2 x 3 positions around each word
        inside = (slot >= 0) & (slot < len(ids))
        full = inside & (sentence[slot.clamp(0, len(ids) - 1)] == sentence[pos].unsqueeze(1))
        if shrink:
            assert (valid <= full).all() and valid.sum() < full.sum()
        else:
            assert torch.equal(valid, full)


def test_train_word2vec_takes_sentences_and_gensim_hooks_and_rules():
    def rule(word, count, min_count):
        return RULE_DISCARD if word == "government" else 0

    plain = _Plain()
    kv, stats = train_word2vec(iter(LEE), dataclasses.replace(Word2VecConfig(), dim=8, min_count=2, epochs=2), "cpu",
                               quiet=True, callbacks=[plain], trim_rule=rule)
    assert "government" not in kv and "minister" in kv and stats["vocab_size"] == len(kv)
    assert plain.epochs == 2


class _Plain:
    """A callback that is not gensim's class and has only one hook: it gets the trainer."""

    epochs = 0

    def on_epoch_end(self, model):
        assert isinstance(model, Trainer)
        self.epochs += 1


def test_the_readmes_block_for_gensim_users_runs(tmp_path, monkeypatch):
    import re
    from pathlib import Path

    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    section = readme.split("### For gensim users", 1)[1]
    code = re.search(r"```python\n(.*?)```", section, re.S).group(1)
    monkeypatch.chdir(tmp_path)
    (tmp_path / "glove.6B.50d.txt").write_text("king 0.1 0.2 0.3\nqueen 0.2 0.1 0.3\nman 0.3 0.3 0.1\n")
    namespace = {"sentences": [s + ["king"] for s in LEE], "new_sentences": LEE[:30] + [["zyzzyva"] * 6]}
    exec(code, namespace)  # noqa: S102 (the README's own lines)
    assert "zyzzyva" in namespace["model"].wv
