"""Neural style transfer (Gatys, Ecker & Bethge 2016, "Image style transfer using convolutional
neural networks", section 2).

With F^l (N_l filters x M_l positions) the features of the generated image x at layer l, P^l those
of the content image and A^l the Gram matrix of the style image's features:

    L_content = 1/2 sum_ij (F^l_ij - P^l_ij)^2                       (eq. 1, one layer)
    G^l = F^l F^l^T                                                  (eq. 3, the Gram matrix)
    E_l = 1 / (4 N_l^2 M_l^2) sum_ij (G^l_ij - A^l_ij)^2             (eq. 4)
    L_style = sum_l w_l E_l                                          (eq. 5)
    L_total = alpha L_content + beta L_style                         (eq. 7)

and x, started from the content image (or noise), is optimised with L-BFGS (the paper's choice;
torch.optim.LBFGS with a strong-Wolfe line search) or Adam, unconstrained as in the paper
(clipping to [0, 1] inside the loop stalls L-BFGS) and clipped once at the end.

Features come from VGG-16 (content conv4_2; style conv1_1 ... conv5_1, w_l = 1/5; max pooling
replaced by average pooling, as the paper suggests) when a local torchvision-format weights file is
given, else from a randomly initialised single-layer multi-scale CNN (Ustyuzhaninov, Brendel, Gatys
& Bethge 2017, "What does it take to generate natural textures?": random filters of several sizes
+ ReLU already give usable texture statistics), whose smallest scale carries the content.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from seqlab.config import learning_rate_check, require
from seqlab.errors import ConfigError, DataError
from seqlab.training import diverged, progress_bar, set_postfix
from seqlab.vision.architectures.vgg import CONFIGS, VGG

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
LBFGS_CHUNK = 10


def gram_matrix(features: torch.Tensor) -> torch.Tensor:
    """(B, N, H, W) features -> (B, N, N) Gram matrices F F^T over the H*W positions (eq. 3)."""
    flat = features.flatten(2)
    return flat @ flat.transpose(1, 2)


def content_loss(features: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """1/2 sum (F - P)^2 (eq. 1)."""
    return 0.5 * ((features - target) ** 2).sum()


def style_layer_loss(features: torch.Tensor, target_gram: torch.Tensor) -> torch.Tensor:
    """E_l = sum (G - A)^2 / (4 N^2 M^2) for features (B, N, H, W) and the style Gram matrix (B, N, N) (eq. 4)."""
    n, m = features.shape[1], features.shape[2] * features.shape[3]
    return ((gram_matrix(features) - target_gram) ** 2).sum() / (4.0 * n * n * m * m)


def style_loss(features: dict[str, torch.Tensor], target_grams: dict[str, torch.Tensor],
               weights: dict[str, float]) -> torch.Tensor:
    """sum_l w_l E_l over the layers in ``weights`` (eq. 5)."""
    return sum(w * style_layer_loss(features[name], target_grams[name]) for name, w in weights.items())


class FeatureExtractor(nn.Module):
    """Maps (B, 3, H, W) images in [0, 1] to named feature maps; knows its content and style layers."""

    content_layer: str
    style_weights: dict[str, float]
    default_beta: float = 1e3

    def forward(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        raise NotImplementedError


def _vgg_layer_names(config: list) -> list[str]:
    names, block, conv = [], 1, 0
    for item in config:
        if item == "M":
            names.append(f"pool{block}")
            block, conv = block + 1, 0
        else:
            conv += 1
            names += [f"conv{block}_{conv}", f"relu{block}_{conv}"]
    return names


class VGGFeatures(FeatureExtractor):
    """VGG-16's convolutional layers from a torchvision-format state dict (``vgg16-397923af.pth``)."""

    content_layer = "conv4_2"
    style_weights = {f"conv{i}_1": 0.2 for i in range(1, 6)}
    default_beta = 1e3  # the paper's alpha / beta = 1e-3

    def __init__(self, weights_path: str | os.PathLike, average_pooling: bool = True) -> None:
        super().__init__()
        try:
            state = torch.load(weights_path, map_location="cpu", weights_only=True)
        except FileNotFoundError:
            raise DataError(f"{weights_path}: no such VGG-16 weights file") from None
        except Exception as exc:  # torch raises many kinds for a foreign file
            raise DataError(f"{weights_path}: not a readable torch state dict ({type(exc).__name__})") from None
        state = state.get("state_dict", state) if isinstance(state, dict) else state
        vgg = VGG("D")
        features = {k.removeprefix("features."): v for k, v in state.items() if k.startswith("features.")}
        try:
            vgg.features.load_state_dict(features)
        except RuntimeError as exc:
            raise DataError(f"{weights_path}: not VGG-16 weights ({str(exc).splitlines()[0]})") from None
        layers = [nn.AvgPool2d(2, 2) if isinstance(m, nn.MaxPool2d) and average_pooling else m
                  for m in vgg.features]
        for m in layers:
            if isinstance(m, nn.ReLU):
                m.inplace = False
        self.layers = nn.ModuleList(layers)
        self.names = _vgg_layer_names(CONFIGS["D"])
        self.last = max(self.names.index(n) for n in [self.content_layer, *self.style_weights])
        self.register_buffer("mean", torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1))
        self.register_buffer("std", torch.tensor(IMAGENET_STD).view(1, 3, 1, 1))
        self.requires_grad_(False)

    def forward(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        x = (x - self.mean) / self.std
        out = {}
        for name, layer in zip(self.names[:self.last + 1], self.layers, strict=False):
            x = layer(x)
            out[name] = x
        return out


class RandomMultiScaleCNN(FeatureExtractor):
    """One layer of random convolutions of several sizes (each ``filters`` maps) + ReLU, seeded.

    Its Gram matrices are small next to its (full-resolution) content features, hence the large
    default style weight (measured on the sample images at 128 pixels).
    """

    default_beta = 1e9

    def __init__(self, kernel_sizes: tuple[int, ...] = (3, 5, 7, 11, 15), filters: int = 32, seed: int = 0) -> None:
        super().__init__()
        gen = torch.Generator().manual_seed(seed)
        self.kernel_sizes = kernel_sizes
        self.convs = nn.ModuleList()
        for k in kernel_sizes:
            conv = nn.Conv2d(3, filters, k, padding=k // 2, padding_mode="reflect")
            with torch.no_grad():
                w = torch.randn(conv.weight.shape, generator=gen)
                w -= w.mean(dim=(1, 2, 3), keepdim=True)  # zero-mean filters respond to structure, not brightness
                conv.weight.copy_(w / (3 * k * k) ** 0.5)
                conv.bias.zero_()
            self.convs.append(conv)
        self.content_layer = f"scale{kernel_sizes[0]}"
        self.style_weights = {f"scale{k}": 1.0 / len(kernel_sizes) for k in kernel_sizes}
        self.register_buffer("mean", torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1))
        self.requires_grad_(False)

    def forward(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        x = x - self.mean
        return {f"scale{k}": F.relu(conv(x)) for k, conv in zip(self.kernel_sizes, self.convs, strict=True)}


def make_extractor(vgg_weights: str | os.PathLike | None = None, seed: int = 0) -> FeatureExtractor:
    """VGG-16 features when a weights file is given, else the random multi-scale CNN."""
    return VGGFeatures(vgg_weights) if vgg_weights else RandomMultiScaleCNN(seed=seed)


@dataclass(frozen=True)
class StyleConfig:
    steps: int = 100
    optimizer: str = "lbfgs"
    lr: float = 0.0  # 0: 1.0 for L-BFGS, 0.02 for Adam
    alpha: float = 1.0  # content weight
    beta: float = 0.0  # style weight; 0: the extractor's default (VGG: 1e3, the paper's alpha/beta = 1e-3)
    init: str = "content"  # or "noise"
    seed: int = 0

    def validate(self) -> None:
        if self.optimizer not in ("lbfgs", "adam"):
            raise ConfigError(f"optimizer must be lbfgs or adam, got {self.optimizer!r}")
        if self.init not in ("content", "noise"):
            raise ConfigError(f"init must be content or noise, got {self.init!r}")
        if self.steps < 1:
            raise ConfigError("steps must be at least 1")
        require(learning_rate_check(self.lr, zero_ok=True))


@dataclass
class StyleResult:
    image: torch.Tensor  # (1, 3, H, W) in [0, 1]
    losses: list[float]  # total loss before the first step, then after each step (L-BFGS: each 10 iterations)
    content_loss: float
    style_loss: float

    def summary(self) -> dict:
        return {"initial_loss": self.losses[0], "final_loss": self.losses[-1], "evaluations": len(self.losses),
                "content_loss": self.content_loss, "style_loss": self.style_loss}


def style_transfer(content: torch.Tensor, style: torch.Tensor, extractor: FeatureExtractor,
                   cfg: StyleConfig = StyleConfig(), quiet: bool = True) -> StyleResult:
    """Optimise an image (1, 3, H, W) with the content of ``content`` and the style of ``style``.

    The two images need not have the same size (Gram matrices do not depend on it).
    """
    cfg.validate()
    beta = cfg.beta or extractor.default_beta
    extractor = extractor.eval()
    with torch.no_grad():
        target = extractor(content)[extractor.content_layer]
        grams = {name: gram_matrix(f) for name, f in extractor(style).items() if name in extractor.style_weights}
    if cfg.init == "content":
        image = content.detach().clone(memory_format=torch.contiguous_format)
    else:
        image = torch.rand(content.shape, generator=torch.Generator().manual_seed(cfg.seed)).to(content.device)
    image.requires_grad_(True)

    def losses() -> tuple[torch.Tensor, torch.Tensor]:
        feats = extractor(image)
        return content_loss(feats[extractor.content_layer], target), style_loss(feats, grams, extractor.style_weights)

    lbfgs = cfg.optimizer == "lbfgs"
    if lbfgs:
        optimizer = torch.optim.LBFGS([image], lr=cfg.lr or 1.0, history_size=50, tolerance_grad=0.0,
                                      tolerance_change=0.0, line_search_fn="strong_wolfe")
    else:
        optimizer = torch.optim.Adam([image], lr=cfg.lr or 0.02)

    def closure() -> torch.Tensor:
        optimizer.zero_grad(set_to_none=True)
        c, s = losses()
        total = cfg.alpha * c + beta * s
        total.backward()
        return total

    with torch.no_grad():
        c, s = losses()
    history = [float(cfg.alpha * c + beta * s)]
    bar = progress_bar(cfg.steps, "style transfer", "step", quiet)
    done = 0
    while done < cfg.steps:
        # L-BFGS runs its iterations in chunks: one iteration per step() call stalls after the first
        chunk = min(LBFGS_CHUNK, cfg.steps - done) if lbfgs else 1
        if lbfgs:
            optimizer.param_groups[0].update(max_iter=chunk, max_eval=chunk * 5 // 4 + 1)
        optimizer.step(closure)
        with torch.no_grad():
            c, s = losses()
        history.append(float(cfg.alpha * c + beta * s))
        done += chunk
        if not math.isfinite(history[-1]):
            raise diverged(["loss"], f"after step {done}", None, "--lr")
        bar.update(chunk)
        set_postfix(bar, loss=history[-1])
    bar.close()
    return StyleResult(image.detach().clamp(0, 1), history, float(c), float(s))
