"""Hard debiasing: the gender direction against an SVD of the same matrix, neutralise and equalise
by their defining properties on planted vectors, and DirectBias ~0 after debiasing real vectors."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from seqlab.embeddings.bias import direct_bias, neutral_words
from seqlab.embeddings.debias import (
    equalize,
    equalize_candidates,
    gender_direction,
    hard_debias,
    neutralize,
    normalized,
)
from seqlab.embeddings.keyed_vectors import KeyedVectors, load_default_vectors
from seqlab.embeddings.word_lists import GenderLists, definitional_pairs, load_gender_lists
from seqlab.errors import DataError

PAIRS = [("she", "he"), ("her", "his"), ("woman", "man"), ("girl", "boy"), ("mother", "father")]
EQUALIZE = [("king", "queen"), ("Actor", "Actress"), ("brother", "sister")]
SPECIFIC = ["she", "he", "her", "his", "woman", "man", "girl", "boy", "mother", "father", "king", "queen"]


@pytest.fixture
def planted() -> tuple[KeyedVectors, torch.Tensor]:
    """100 random 16-d vectors; the pair words differ mostly along a planted unit direction g."""
    gen = torch.Generator().manual_seed(0)
    g = normalized(torch.randn(16, generator=gen))
    words = [w for p in PAIRS for w in p] + ["king", "queen", "actor", "actress", "brother", "sister"]
    words += [f"neutral{i}" for i in range(100 - len(words))]
    vectors = torch.randn(len(words), 16, generator=gen)
    for k, (a, b) in enumerate(PAIRS):
        shared = vectors[words.index(a)]
        vectors[words.index(a)] = shared + (2.0 + 0.1 * k) * g + 0.05 * torch.randn(16, generator=gen)
        vectors[words.index(b)] = shared - (2.0 + 0.1 * k) * g + 0.05 * torch.randn(16, generator=gen)
    vectors[words.index("neutral0")] += 3 * g  # a biased "neutral" word
    return KeyedVectors(words, vectors), g


def test_gender_direction_is_the_top_singular_vector(planted):
    kv, g = planted
    result = gender_direction(kv, PAIRS)
    unit = normalized(kv.vectors.double())
    rows = []
    for a, b in PAIRS:
        centre = (unit[kv.index(a)] + unit[kv.index(b)]) / 2
        rows += [unit[kv.index(a)] - centre, unit[kv.index(b)] - centre]
    _, singular, vt = np.linalg.svd(torch.stack(rows).numpy())  # rows are already centred
    assert abs(float(result.direction.double() @ torch.as_tensor(vt[0]))) == pytest.approx(1.0, abs=1e-6)
    assert float(result.direction @ g) > 0.95  # the planted direction, pointing to "she"
    np.testing.assert_allclose(result.explained_variance_ratio, (singular**2 / (singular**2).sum())[:10], rtol=1e-6,
                               atol=1e-12)
    assert result.pairs == PAIRS


def test_neutralize_zeroes_every_neutral_projection(planted):
    kv, g = planted
    unit = normalized(kv.vectors)
    mask = torch.tensor([w.startswith("neutral") for w in kv.words])
    out = neutralize(unit, g, mask)
    assert float((out[mask] @ g).abs().max()) < 1e-6
    torch.testing.assert_close(out[mask].norm(dim=1), torch.ones(int(mask.sum())))
    assert torch.equal(out[~mask], unit[~mask])
    assert float(unit[kv.index("neutral0")] @ g) > 0.5  # it was biased


def test_equalize_makes_pairs_symmetric_and_equidistant(planted):
    kv, g = planted
    mask = torch.tensor([w.startswith("neutral") for w in kv.words])
    neutral = neutralize(normalized(kv.vectors), g, mask)
    chosen = equalize_candidates(kv, EQUALIZE)
    assert chosen == [("king", "queen"), ("actor", "actress"), ("brother", "sister")]
    index = torch.tensor([[kv.index(a), kv.index(b)] for a, b in chosen])
    before = neutral.clone()
    out = equalize(neutral, g, index)
    for (a, b), (i, j) in zip(chosen, index.tolist(), strict=True):
        assert float(out[i].norm()) == pytest.approx(1.0, abs=1e-6) and float(out[j].norm()) == pytest.approx(1.0)
        assert float(out[i] @ g) == pytest.approx(-float(out[j] @ g), abs=1e-6)  # symmetric about g's plane
        torch.testing.assert_close(out[i] - (out[i] @ g) * g, out[j] - (out[j] @ g) * g, atol=1e-6, rtol=0)
        torch.testing.assert_close((out[mask] - out[i]).norm(dim=1), (out[mask] - out[j]).norm(dim=1),
                                   atol=1e-6, rtol=0)  # equidistant from every neutral word
        # the member that was on the "she" side stays there
        assert np.sign(float(out[i] @ g)) == np.sign(float((before[i] - before[j]) @ g)), (a, b)
    others = torch.ones(len(kv), dtype=torch.bool)
    others[index.flatten()] = False
    assert torch.equal(out[others], neutral[others])


def test_hard_debias_on_planted_vectors(planted):
    kv, g = planted
    lists = GenderLists(definitional=PAIRS, equalize=EQUALIZE, gender_specific=SPECIFIC,
                        professions=["neutral0", "neutral1", "neutral2", "actor", "he", "unknownword"])
    debiased, result = hard_debias(kv, lists)
    assert result.neutralized == len(kv) - len(SPECIFIC)
    assert debiased.words == kv.words
    direction = result.direction.direction
    before, used = direct_bias(kv, direction, neutral_words(lists.professions, lists))
    after, _ = direct_bias(debiased, direction, neutral_words(lists.professions, lists))
    assert used == 3 and before > 0.1 and after < 1e-6  # actor (equalised) and he (specific) are not neutral
    torch.testing.assert_close(debiased.vectors.norm(dim=1), torch.ones(len(kv)))


def test_unknown_definitional_words():
    kv = KeyedVectors(["a", "b"], np.eye(2, dtype=np.float32))
    with pytest.raises(DataError, match="none of the definitional pairs"):
        gender_direction(kv, PAIRS)


def test_direct_bias_drops_to_zero_on_real_vectors(shared_data):
    kv = load_default_vectors()
    lists = load_gender_lists(shared_data / "debias")
    assert {tuple(w.lower() for w in p) for p in lists.definitional} == \
        {tuple(w.lower() for w in p) for p in definitional_pairs()}  # the release's file, another order
    assert len(lists.equalize) == 52
    assert len(lists.gender_specific) == 1441 and len(lists.professions) == 320
    debiased, result = hard_debias(kv, lists)
    g = result.direction.direction
    professions = neutral_words(lists.professions, lists)
    before, used = direct_bias(kv, g, professions)
    after, _ = direct_bias(debiased, g, professions)
    assert used > 200 and before > 0.1
    assert after < 1e-5
    assert len(result.equalized) > 20 and result.direction.explained_variance_ratio[0] > 0.2
    # gender-specific words keep their gender component
    assert float(debiased.unit_vectors()[debiased.index("she")] @ g) > 0.2
