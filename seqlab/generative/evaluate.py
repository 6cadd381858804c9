"""How close are generated images to held-out real ones?

* A digit classifier (scikit-learn's MLPClassifier, one ReLU hidden layer) trained on real images
  plus one reject class of non-digits: real training images with their pixels shuffled (the same ink,
  no shape) and uniform noise. A network trained on digits alone is confidently wrong on noise (it
  puts 90% of uniform-noise images in one class with probability >= 0.8), so without the reject class
  "confident" would say nothing. Reported: the share of samples put in a digit class with probability
  >= ``confidence``, and the class histogram (mode collapse shows).
* MMD^2 (biased, multi-scale Gaussian kernel with fixed bandwidths, so that numbers are comparable
  across models) between samples and held-out images, on pixels and on the classifier's hidden
  features; uniform noise images of the same shape give the reference a generator must beat.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from seqlab.generative.distances import mmd

PIXEL_BANDWIDTHS = (1.0, 2.0, 4.0, 8.0)  # digits in [0, 1]^64 lie about 3-6 apart
FEATURE_BANDWIDTHS = (2.0, 4.0, 8.0, 16.0)


@dataclass
class DigitClassifier:
    """A fitted sklearn MLPClassifier on flattened images in [0, 1]."""

    model: object
    reject: bool = True

    @property
    def num_digits(self) -> int:
        """The real classes (without the reject class)."""
        return len(self.model.classes_) - int(self.reject)

    @classmethod
    def fit(cls, images: torch.Tensor, labels: torch.Tensor, seed: int = 0, hidden_size: int = 64,
            reject: bool = True) -> DigitClassifier:
        """Fit on images (N, C, H, W) with labels 0..K-1; ``reject`` adds class K: N shuffled + N noise images."""
        from sklearn.neural_network import MLPClassifier
        from threadpoolctl import threadpool_limits

        x, y = images.flatten(1).cpu().float(), labels.cpu()
        if reject:
            gen = torch.Generator().manual_seed(seed)
            junk = torch.cat([shuffled_pixels(x, gen), torch.rand(x.shape, generator=gen)])
            x = torch.cat([x, junk])
            y = torch.cat([y, torch.full((len(junk),), int(y.max()) + 1)])
        clf = MLPClassifier(hidden_layer_sizes=(hidden_size,), solver="lbfgs", max_iter=500, random_state=seed,
                            alpha=1e-3)
        with threadpool_limits(1):  # a small problem: BLAS threads on busy cores make it 50x slower
            clf.fit(x.numpy(), y.numpy())
        return cls(clf, reject)

    def probabilities(self, images: torch.Tensor) -> np.ndarray:
        """(N, classes) class probabilities."""
        return self.model.predict_proba(images.flatten(1).detach().cpu().numpy())

    def accuracy(self, images: torch.Tensor, labels: torch.Tensor) -> float:
        return float(self.model.score(images.flatten(1).cpu().numpy(), labels.cpu().numpy()))

    def features(self, images: torch.Tensor) -> torch.Tensor:
        """The hidden layer's ReLU activations (N, hidden_size)."""
        x = images.flatten(1).detach().cpu().double()
        w, b = (torch.from_numpy(a).double() for a in (self.model.coefs_[0], self.model.intercepts_[0]))
        return torch.relu(x @ w + b).float()


def shuffled_pixels(x: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
    """Each row of x (N, D) with its entries in a random order of its own."""
    order = torch.rand(x.shape, generator=generator).argsort(1)
    return x.gather(1, order)


def noise_like(n: int, shape: tuple[int, ...], generator: torch.Generator | None = None) -> torch.Tensor:
    """Uniform [0, 1] pixel noise (n, *shape): the baseline every generator must beat."""
    return torch.rand(n, *shape, generator=generator)


def sample_report(samples: torch.Tensor, held_out: torch.Tensor, classifier: DigitClassifier | None = None,
                  confidence: float = 0.8) -> dict:
    """MMD^2 of ``samples`` (N, C, H, W) to ``held_out`` on pixels (and the classifier's features), and the
    share of samples the classifier puts in one digit class with probability >= ``confidence``."""
    samples, held_out = samples.detach().cpu().float(), held_out.cpu().float()
    report = {"samples": len(samples),
              "mmd_pixels": float(mmd(samples.flatten(1), held_out.flatten(1), PIXEL_BANDWIDTHS))}
    if classifier is not None:
        report["mmd_features"] = float(mmd(classifier.features(samples), classifier.features(held_out),
                                           FEATURE_BANDWIDTHS))
        probs = classifier.probabilities(samples)
        digits = probs[:, :classifier.num_digits]
        report["confident_rate"] = float((digits.max(1) >= confidence).mean())
        report["confidence"] = confidence
        report["class_counts"] = np.bincount(probs.argmax(1), minlength=probs.shape[1]).tolist()
        if classifier.reject:
            report["rejected_rate"] = float((probs.argmax(1) == classifier.num_digits).mean())
    return report


def evaluate_model(model_dir: str, count: int = 500, seed: int = 0, device: torch.device | str = "auto") -> dict:
    """``count`` samples of the model in ``model_dir`` against its data's held-out test images, and uniform noise
    as a reference: :func:`sample_report` of each (MMD on pixels and, for digit data, classifier features and the
    confidently classified share) and the classifier's test accuracy (None where the data has no labels)."""
    from seqlab.device import make_generator, resolve_device
    from seqlab.generative.models import load_model, sample_images
    from seqlab.generative.train import load_data

    target = resolve_device(device)
    model, cfg, state = load_model(model_dir, target)
    data = load_data(cfg)
    classifier = DigitClassifier.fit(data.train, data.train_labels) if int(data.train_labels.min()) >= 0 else None
    samples = sample_images(model, count, tuple(state["shape"]), make_generator(seed, target), state.get("codes"))
    noise = noise_like(count, data.shape, make_generator(seed, "cpu"))
    return {"model": sample_report(samples, data.test, classifier),
            "noise": sample_report(noise, data.test, classifier),
            "classifier_test_accuracy": classifier.accuracy(data.test, data.test_labels) if classifier else None}
