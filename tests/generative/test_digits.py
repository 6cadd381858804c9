"""Learning on scikit-learn's digits: the VAE beats a density baseline and makes recognisable digits,
the GAN gets far closer to real digits than noise, the trainer resumes exactly."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from seqlab.generative.config import GenerativeConfig
from seqlab.generative.data import load_images
from seqlab.generative.evaluate import DigitClassifier, noise_like, sample_report, shuffled_pixels
from seqlab.generative.models import load_model, sample_images
from seqlab.generative.train import score, train_generative

CPU = torch.device("cpu")


@pytest.fixture(scope="module")
def digits():
    return load_images("digits", seed=1)


@pytest.fixture(scope="module")
def classifier(digits):
    return DigitClassifier.fit(digits.train, digits.train_labels)


def test_digit_classifier_and_its_reject_class(digits, classifier):
    gen = torch.Generator().manual_seed(0)
    assert classifier.accuracy(digits.test, digits.test_labels) > 0.93
    real = sample_report(digits.test, digits.test, classifier)
    assert real["confident_rate"] > 0.9
    for junk in (noise_like(300, digits.shape, gen), shuffled_pixels(digits.test.flatten(1), gen).view_as(digits.test)):
        assert sample_report(junk, digits.test, classifier)["confident_rate"] < 0.05


def test_vae_elbo_beats_independent_pixels_and_samples_are_digits(digits, classifier, tmp_path, one_thread):
    """What is compared: per test image, in nats, the Bernoulli log-likelihood of the 64 grey levels in
    [0, 1] (-binary cross-entropy, as Kingma & Welling treat MNIST). The VAE's ELBO (one posterior sample,
    a lower bound on its log-likelihood) must exceed the exact log-likelihood of the best model without
    pixel dependencies: independent Bernoullis with the training set's mean grey levels."""
    cfg = GenerativeConfig(model="vae", epochs=60, latent_size=8, hidden_size=256, seed=1)
    summary = train_generative(cfg, tmp_path / "vae", CPU, quiet=True, data=digits)
    p = digits.train.flatten(1).mean(0).clamp(1e-6, 1 - 1e-6)
    x = digits.test.flatten(1)
    baseline = -F.binary_cross_entropy(p.expand_as(x), x, reduction="none").sum(1).mean().item()
    print(f"VAE test ELBO {summary['test_elbo']:.2f} nats vs independent pixels {baseline:.2f}")
    assert summary["test_elbo"] > baseline + 1.5
    model, _, state = load_model(tmp_path / "vae")
    samples = sample_images(model, 500, tuple(state["shape"]), torch.Generator().manual_seed(0))
    report = sample_report(samples, digits.test, classifier)
    print("VAE samples", report)
    assert report["confident_rate"] >= 0.8
    assert min(report["class_counts"][:10]) >= 10  # every digit appears: no collapse onto a few classes


def test_gan_samples_are_much_closer_to_real_digits_than_noise(digits, classifier, tmp_path, one_thread):
    cfg = GenerativeConfig(model="gan", architecture="mlp", latent_size=16, hidden_size=128, lr=1e-3,
                           adam_beta1=0.5, batch_size=32, epochs=40, seed=1)
    train_generative(cfg, tmp_path / "gan", CPU, quiet=True, data=digits)
    model, _, _ = load_model(tmp_path / "gan")
    gen = torch.Generator().manual_seed(0)
    gan = sample_report(model.sample(500, gen), digits.test, classifier)
    noise = sample_report(noise_like(500, digits.shape, gen), digits.test, classifier)
    real = sample_report(digits.train[:500], digits.test, classifier)
    print("GAN", gan, "noise", noise, "real", real)
    assert gan["mmd_pixels"] < 0.3 * noise["mmd_pixels"]
    assert gan["mmd_features"] < 0.3 * noise["mmd_features"]
    assert real["mmd_pixels"] < gan["mmd_pixels"]  # the MMD can tell: real digits are closer still


def test_autoencoder_learns_and_resume_continues_exactly(digits, tmp_path, one_thread):
    cfg = GenerativeConfig(model="ae", latent_size=16, num_layers=0, noise="masking", noise_level=0.2,
                           sparsity="l1", sparsity_weight=1e-3, epochs=8, lr=1e-2, seed=2)
    full = train_generative(cfg, tmp_path / "full", CPU, quiet=True, data=digits)
    train_generative(dataclasses.replace(cfg, epochs=4), tmp_path / "resumed", CPU, quiet=True, data=digits)
    resumed = train_generative(cfg, tmp_path / "resumed", CPU, resume=True, quiet=True, data=digits)
    assert resumed["history"] == full["history"]
    a, _, _ = load_model(tmp_path / "full")
    b, _, state = load_model(tmp_path / "resumed")
    assert all(torch.equal(x, y) for x, y in zip(a.state_dict().values(), b.state_dict().values(), strict=True))
    mean_image = digits.train.flatten(1).mean(0).clamp(1e-6, 1 - 1e-6)
    x = digits.test.flatten(1)
    baseline = F.binary_cross_entropy(mean_image.expand_as(x), x, reduction="none").sum(1).mean().item()
    assert score(a, digits.test, 0)["reconstruction"] < baseline - 3  # the mean image reconstructs nothing
    assert sample_images(a, 4, (1, 8, 8), None, state["codes"]).shape == (4, 1, 8, 8)


def test_npy_and_image_folder_sources(tmp_path):
    from PIL import Image

    rng = np.random.default_rng(0)
    array = rng.integers(0, 256, size=(20, 6, 6)).astype(np.uint8)
    np.save(tmp_path / "images.npy", array)
    data = load_images(str(tmp_path / "images.npy"), seed=0)
    assert data.shape == (1, 6, 6) and len(data.train) + len(data.valid) + len(data.test) == 20
    assert float(data.train.max()) <= 1.0
    folder = tmp_path / "folder"
    folder.mkdir()
    for i in range(12):
        Image.fromarray(array[i]).save(folder / f"{i:02d}.png")
    data = load_images(str(folder), image_size=8, seed=0)
    assert data.shape == (1, 8, 8)
    all_images = torch.cat([data.train, data.valid, data.test])
    assert len(all_images) == 12 and float(all_images.min()) >= 0.0
