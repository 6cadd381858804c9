"""Gram matrices and style/content losses by hand, the VGG-16 extractor's layers, and a style
transfer run that lowers its loss."""

from __future__ import annotations

import pytest
import torch

from seqlab.errors import DataError
from seqlab.vision.architectures.vgg import VGG
from seqlab.vision.style import (
    RandomMultiScaleCNN,
    StyleConfig,
    VGGFeatures,
    content_loss,
    gram_matrix,
    style_layer_loss,
    style_loss,
    style_transfer,
)


def test_gram_matrix_by_hand():
    f = torch.tensor([[[[1.0, 2.0], [0.0, 1.0]], [[0.0, 1.0], [3.0, 0.0]]]])  # (1, 2 filters, 2, 2)
    # rows (1, 2, 0, 1) and (0, 1, 3, 0): G = [[6, 2], [2, 10]]
    torch.testing.assert_close(gram_matrix(f), torch.tensor([[[6.0, 2.0], [2.0, 10.0]]]))
    x = torch.randn(2, 3, 4, 5, dtype=torch.float64)
    flat = x.reshape(2, 3, 20)
    torch.testing.assert_close(gram_matrix(x), torch.einsum("bim,bjm->bij", flat, flat))


def test_style_and_content_losses_by_hand():
    f = torch.tensor([[[[1.0, 2.0], [0.0, 1.0]], [[0.0, 1.0], [3.0, 0.0]]]])
    target = torch.zeros(1, 2, 2)
    target[0, 0, 0] = 2.0  # G - A = [[4, 2], [2, 10]]: sum of squares 124; N = 2, M = 4
    assert style_layer_loss(f, target).item() == pytest.approx(124 / (4 * 4 * 16))
    assert content_loss(f, torch.zeros_like(f)).item() == pytest.approx(0.5 * (1 + 4 + 1 + 1 + 9))
    feats = {"a": f, "b": 2 * f}
    grams = {"a": gram_matrix(f), "b": torch.zeros(1, 2, 2)}
    expected = 0.25 * 0.0 + 0.75 * style_layer_loss(2 * f, grams["b"])
    torch.testing.assert_close(style_loss(feats, grams, {"a": 0.25, "b": 0.75}), expected)


def test_vgg_features_load_a_torchvision_state_dict(tmp_path):
    torch.manual_seed(0)
    vgg = VGG("D", num_classes=10, hidden=8)
    path = tmp_path / "vgg16.pth"
    torch.save(vgg.state_dict(), path)
    extractor = VGGFeatures(path)
    x = torch.rand(1, 3, 32, 32)
    out = extractor(x)
    assert set(extractor.style_weights) == {"conv1_1", "conv2_1", "conv3_1", "conv4_1", "conv5_1"}
    assert out["conv4_2"].shape == (1, 512, 4, 4) and out["conv1_1"].shape == (1, 64, 32, 32)
    normalised = (x - extractor.mean) / extractor.std
    torch.testing.assert_close(out["conv1_1"], vgg.features[0](normalised))
    (tmp_path / "bad.pth").write_bytes(b"not a state dict")
    with pytest.raises(DataError, match="bad.pth"):
        VGGFeatures(tmp_path / "bad.pth")
    with pytest.raises(DataError, match="no such VGG-16 weights file"):
        VGGFeatures(tmp_path / "missing.pth")


@pytest.mark.usefixtures("one_thread")
@pytest.mark.parametrize("optimizer", ["lbfgs", "adam"])
def test_style_transfer_lowers_its_loss(optimizer):
    gen = torch.Generator().manual_seed(0)
    content = torch.rand(1, 3, 24, 24, generator=gen)
    stripes = (torch.arange(24) // 3 % 2).float()
    style = torch.stack([stripes[None, :].expand(24, 24), 0.2 * torch.ones(24, 24), stripes[:, None].expand(24, 24)])
    extractor = RandomMultiScaleCNN(kernel_sizes=(3, 5), filters=8)
    result = style_transfer(content, style[None], extractor, StyleConfig(steps=20, optimizer=optimizer, beta=1e6))
    assert result.losses[-1] < 0.5 * result.losses[0]
    assert result.image.shape == content.shape and 0 <= result.image.min() and result.image.max() <= 1
    # the style statistics moved towards the style image's
    before = style_layer_loss(extractor(content)["scale5"], gram_matrix(extractor(style[None])["scale5"]))
    after = style_layer_loss(extractor(result.image)["scale5"], gram_matrix(extractor(style[None])["scale5"]))
    assert after < before
