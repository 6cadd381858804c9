"""seqlab.training.WeightAverage: the moving-average arithmetic, the swap in and out, its state."""

from __future__ import annotations

import pytest
import torch

from seqlab.training import WeightAverage


def test_average_follows_the_formula_and_swaps_back_exactly():
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.Linear(4, 2))
    model[1].bias.requires_grad_(False)  # frozen parameters are not averaged
    average = WeightAverage(model, decay=0.9)
    params = [p for p in model.parameters() if p.requires_grad]
    expected = [p.detach().clone() for p in params]
    for t in range(1, 31):
        with torch.no_grad():
            for p in params:
                p.add_(torch.randn_like(p))
        average.update()
        d = min(0.9, (1 + t) / (10 + t))  # TF's num_updates warm-up, then the decay itself
        expected = [d * e + (1 - d) * p.detach() for e, p in zip(expected, params, strict=True)]
    own = [p.detach().clone() for p in model.parameters()]
    with average.applied():
        for p, e in zip(params, expected, strict=True):
            torch.testing.assert_close(p.detach(), e)
        assert torch.equal(model[1].bias, own[3])
        out = model(torch.ones(1, 3))
    torch.testing.assert_close(out, torch.nn.functional.linear(
        torch.nn.functional.linear(torch.ones(1, 3), expected[0], expected[1]), expected[2], own[3]))
    for p, q in zip(model.parameters(), own, strict=True):
        assert torch.equal(p, q)  # the trained weights are back, bit for bit


def test_state_round_trip_and_bad_decay():
    model = torch.nn.Linear(2, 2)
    a = WeightAverage(model, 0.99)
    with torch.no_grad():
        model.weight.mul_(3)
    a.update()
    b = WeightAverage(torch.nn.Linear(2, 2), 0.99)
    b.load_state_dict(a.state_dict())
    assert b.updates == 1 and all(torch.equal(x, y) for x, y in zip(a.shadow, b.shadow, strict=True))
    with pytest.raises(ValueError, match="different model"):
        WeightAverage(torch.nn.Sequential(model, torch.nn.Linear(2, 1)), 0.99).load_state_dict(a.state_dict())
    for decay in (0.0, 1.0):
        with pytest.raises(ValueError, match="decay"):
            WeightAverage(model, decay)
