"""Shapes of every architecture at its standard input, the ResNet shortcut options, the builder."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from seqlab.errors import ConfigError
from seqlab.vision.architectures import (
    MODELS,
    AlexNet,
    GoogLeNet,
    InceptionBlock,
    LeNet5,
    build_model,
    resnet18,
    resnet34,
    resnet50,
    vgg,
)
from seqlab.vision.architectures.resnet import BasicBlock, Bottleneck, PadShortcut
from seqlab.vision.architectures.vgg import CONFIGS

pytestmark = pytest.mark.usefixtures("one_thread")


def n_params(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def test_lenet5_has_the_papers_shape_and_size():
    model = LeNet5()
    assert model(torch.randn(2, 1, 32, 32)).shape == (2, 10)
    # C1 156 + C3 2416 (full connection table) + C5 48120 + F6 10164 + output 850
    assert n_params(model) == 156 + 2416 + 48120 + 10164 + 850
    assert [m.out_channels for m in model.features if isinstance(m, nn.Conv2d)] == [6, 16]


@torch.no_grad()
def test_alexnet_at_227():
    model = AlexNet(num_classes=1000).eval()
    assert model(torch.randn(1, 3, 227, 227)).shape == (1, 1000)
    assert model.features[:1](torch.randn(1, 3, 227, 227)).shape == (1, 96, 55, 55)  # the paper's first layer
    assert 60e6 < n_params(model) < 63e6  # "60 million parameters"


@torch.no_grad()
def test_vgg16_at_224_has_138m_parameters_and_family_depths():
    assert n_params(vgg(16, num_classes=1000)) == 138_357_544  # torchvision's vgg16 and the paper's "138 M"
    narrow = vgg(16, num_classes=1000, width=0.125).eval()  # the same layers with 1/8 of the channels
    assert narrow(torch.randn(1, 3, 224, 224)).shape == (1, 1000)
    assert narrow.features(torch.randn(1, 3, 224, 224)).shape == (1, 64, 7, 7)
    for depth, config in ((11, "A"), (13, "B"), (16, "D"), (19, "E")):
        convs = sum(1 for c in CONFIGS[config] if c != "M")
        assert convs + 3 == depth
        small = vgg(depth, num_classes=5, width=0.125, pool_size=1).eval()
        assert small(torch.randn(1, 3, 32, 32)).shape == (1, 5)


@torch.no_grad()
def test_inception_block_concatenates_its_branches():
    block = InceptionBlock(192, 64, 96, 128, 16, 32, 32).eval()
    assert block(torch.randn(1, 192, 28, 28)).shape == (1, 256, 28, 28)  # table 1, inception (3a)
    googlenet = GoogLeNet(num_classes=1000).eval()
    assert googlenet(torch.randn(1, 3, 224, 224)).shape == (1, 1000)
    assert googlenet.fc.in_features == 1024  # inception (5b)
    assert 6.5e6 < n_params(googlenet) < 7.1e6  # 6.8M without the auxiliary classifiers


@torch.no_grad()
def test_resnets_at_224_match_torchvisions_parameter_counts():
    for builder, count in ((resnet18, 11_689_512), (resnet34, 21_797_672), (resnet50, 25_557_032)):
        model = builder(num_classes=1000).eval()
        assert n_params(model) == count
    assert resnet18().eval()(torch.randn(1, 3, 224, 224)).shape == (1, 1000)


def test_shortcut_options():
    x = torch.randn(2, 8, 6, 6)
    a, b, c = (BasicBlock(8, 16, 2, s) for s in "ABC")
    same_a, same_b, same_c = (BasicBlock(8, 8, 1, s) for s in "ABC")
    for block in (a, b, c):
        assert block(x).shape == (2, 16, 3, 3)
    assert isinstance(a.shortcut, PadShortcut) and n_params(a.shortcut) == 0
    assert isinstance(b.shortcut, nn.Sequential) and n_params(b.shortcut) == 8 * 16 + 2 * 16
    assert isinstance(same_a.shortcut, nn.Identity) and isinstance(same_b.shortcut, nn.Identity)
    assert isinstance(same_c.shortcut, nn.Sequential)  # C: projection even where the shape stays
    # A: the strided input in the first channels, zeros in the added ones
    out = a.shortcut(x)
    torch.testing.assert_close(out[:, :8], x[:, :, ::2, ::2])
    assert out[:, 8:].abs().sum() == 0
    with pytest.raises(ConfigError, match="shortcut A cannot reduce"):
        BasicBlock(16, 8, 1, "A")
    bottleneck = Bottleneck(16, 8, 2, "A")
    assert bottleneck(torch.randn(1, 16, 8, 8)).shape == (1, 32, 4, 4)
    counts = [n_params(resnet18(num_classes=10, width=8, shortcut=s, stem="small")) for s in "ABC"]
    assert counts[0] < counts[1] < counts[2]


def test_identity_block_output_is_relu_of_residual_plus_input():
    block = BasicBlock(4, 4, 1, "B").eval()
    x = torch.randn(2, 4, 5, 5)
    with torch.no_grad():
        residual = block.bn2(block.conv2(torch.relu(block.bn1(block.conv1(x)))))
        torch.testing.assert_close(block(x), torch.relu(residual + x))


@pytest.mark.parametrize("name", MODELS)
def test_builder_makes_every_model_for_small_digits(name):
    size = 72 if name == "alexnet" else 32 if name in ("lenet5", "vgg11", "vgg13", "vgg16", "vgg19") else 16
    model = build_model(name, 10, in_channels=1, image_size=size, width=0.125, small_input=True).eval()
    with torch.no_grad():
        assert model(torch.randn(2, 1, size, size)).shape == (2, 10)


def test_builder_rejects_unknown_names():
    with pytest.raises(ConfigError, match="unknown model 'vgg12'"):
        build_model("vgg12", 10)
