"""Written-out BatchNorm/InstanceNorm against torch.nn in train and eval mode, outputs and gradients."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from seqlab.errors import ConfigError
from seqlab.vision.norm import BatchNorm1d, BatchNorm2d, InstanceNorm1d, InstanceNorm2d

CASES = [(BatchNorm2d, nn.BatchNorm2d, (6, 4, 5, 3)), (BatchNorm1d, nn.BatchNorm1d, (7, 4)),
         (BatchNorm1d, nn.BatchNorm1d, (5, 4, 9))]


def _pair(ours_cls, ref_cls, channels, **kwargs):
    torch.manual_seed(0)
    ours, ref = ours_cls(channels, **kwargs).double(), ref_cls(channels, **kwargs).double()
    if getattr(ours, "affine", False):
        with torch.no_grad():
            for m in (ours, ref):
                m.weight.copy_(torch.linspace(0.5, 2.0, channels))
                m.bias.copy_(torch.linspace(-1.0, 1.0, channels))
    return ours, ref


def _check_step(ours, ref, shape, seed):
    x = (torch.randn(shape, generator=torch.Generator().manual_seed(seed), dtype=torch.float64) * 3 + 1)
    x1, x2 = x.clone().requires_grad_(True), x.clone().requires_grad_(True)
    upstream = torch.randn(shape, generator=torch.Generator().manual_seed(seed + 100), dtype=torch.float64)
    y1, y2 = ours(x1), ref(x2)
    torch.testing.assert_close(y1, y2)
    (y1 * upstream).sum().backward()
    (y2 * upstream).sum().backward()
    torch.testing.assert_close(x1.grad, x2.grad)
    if ours.affine:
        torch.testing.assert_close(ours.weight.grad, ref.weight.grad)
        torch.testing.assert_close(ours.bias.grad, ref.bias.grad)


@pytest.mark.parametrize("ours_cls, ref_cls, shape", CASES)
@pytest.mark.parametrize("momentum", [0.1, None])
def test_batchnorm_matches_torch_in_train_then_eval(ours_cls, ref_cls, shape, momentum):
    ours, ref = _pair(ours_cls, ref_cls, shape[1], momentum=momentum)
    for step in range(3):  # running statistics accumulate over several batches
        _check_step(ours, ref, shape, step)
    torch.testing.assert_close(ours.running_mean, ref.running_mean)
    torch.testing.assert_close(ours.running_var, ref.running_var)
    assert int(ours.num_batches_tracked) == int(ref.num_batches_tracked) == 3
    ours.eval(), ref.eval()
    _check_step(ours, ref, shape, 7)  # eval: running statistics, gradients through them
    assert ours.state_dict().keys() == ref.state_dict().keys()


def test_batchnorm_without_running_stats_and_without_affine():
    ours, ref = _pair(BatchNorm2d, nn.BatchNorm2d, 3, affine=False, track_running_stats=False)
    ours.eval(), ref.eval()
    _check_step(ours, ref, (4, 3, 2, 2), 0)  # eval uses batch statistics when none are tracked


def test_batchnorm_state_dict_loads_from_torch():
    ref = nn.BatchNorm2d(3)
    ref(torch.randn(4, 3, 2, 2) * 2 + 1)
    ours = BatchNorm2d(3)
    ours.load_state_dict(ref.state_dict())
    ours.eval(), ref.eval()
    x = torch.randn(2, 3, 2, 2)
    torch.testing.assert_close(ours(x), ref(x))


@pytest.mark.parametrize("ours_cls, ref_cls, shape", [(InstanceNorm2d, nn.InstanceNorm2d, (3, 4, 5, 6)),
                                                      (InstanceNorm2d, nn.InstanceNorm2d, (4, 5, 6)),
                                                      (InstanceNorm1d, nn.InstanceNorm1d, (3, 4, 7))])
@pytest.mark.parametrize("affine", [False, True])
def test_instancenorm_matches_torch_in_train_and_eval(ours_cls, ref_cls, shape, affine):
    channels = shape[-3] if ours_cls is InstanceNorm2d else shape[-2]
    ours, ref = _pair(ours_cls, ref_cls, channels, affine=affine)
    _check_step(ours, ref, shape, 0)
    ours.eval(), ref.eval()
    _check_step(ours, ref, shape, 1)


def test_gradcheck_batchnorm():
    bn = BatchNorm2d(2).double()
    x = torch.randn(3, 2, 2, 2, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda t: bn(t), (x,))


def test_wrong_shapes_are_reported():
    with pytest.raises(ConfigError, match="4 channels"):
        BatchNorm2d(4)(torch.randn(2, 3, 5, 5))
    with pytest.raises(ConfigError, match="more than 1 value"):
        BatchNorm1d(4)(torch.randn(1, 4))
