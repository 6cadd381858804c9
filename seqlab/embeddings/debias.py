"""Hard debiasing of word vectors (Bolukbasi, Chang, Zou, Saligrama & Kalai 2016, sec. 5 and 6).

All vectors are first normalised to unit length. The gender direction g is the first principal
component (scikit-learn's PCA) of the definitional pairs' differences from their centres,
w - (a + b) / 2 for w in {a, b}; its sign is chosen so that g points from the second word of
the pairs (he) to the first (she). Then

* neutralise: every word N outside the gender-specific list loses its projection on g and is
  renormalised, w <- (w - (w . g) g) / ||w - (w . g) g||, so w . g = 0;
* equalise: for each equalise pair (a, b) (with its lower-case, Title and UPPER forms) with
  mu = (a + b) / 2 and nu = mu - (mu . g) g,
      a <- nu + sqrt(1 - ||nu||^2) s g,   b <- nu - sqrt(1 - ||nu||^2) s g,   s = sign((a - b) . g),
  so a and b are unit vectors symmetric about the plane orthogonal to g and equidistant from
  every neutralised word.

The implementation follows the authors' release (tolga-b/debiaswe, ``debias.py``), vectorised:
one matrix pass for neutralising, one for all equalise pairs.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch
from sklearn.decomposition import PCA

from seqlab.device import resolve_device
from seqlab.embeddings.keyed_vectors import KeyedVectors
from seqlab.embeddings.word_lists import GenderLists
from seqlab.errors import ConfigError, DataError

METHODS = ("hard",)


def find_word(kv: KeyedVectors, word: str) -> str | None:
    """``word`` as the vocabulary spells it: itself, else its lower-case form (for uncased vectors), else None."""
    if word in kv:
        return word
    lower = word.lower()
    return lower if lower in kv else None


def normalized(vectors: torch.Tensor) -> torch.Tensor:
    """Rows scaled to unit length (zero rows stay zero): (V, D) -> (V, D)."""
    return vectors / torch.linalg.vector_norm(vectors, dim=-1, keepdim=True).clamp_min(1e-12)


@dataclass(frozen=True)
class GenderDirection:
    """g (D,) float32 unit vector, the PCA explained-variance ratios, and the pairs it was made from."""

    direction: torch.Tensor
    explained_variance_ratio: list[float]
    pairs: list[tuple[str, str]] = field(default_factory=list)


def gender_direction(kv: KeyedVectors, pairs: list[tuple[str, str]], n_components: int = 10) -> GenderDirection:
    """PCA over the centred definitional-pair vectors of ``kv``; pairs with an unknown word are skipped."""
    found = [(find_word(kv, a), find_word(kv, b)) for a, b in pairs]
    used = [(a, b) for a, b in found if a is not None and b is not None and a != b]
    if len(used) < 1:
        raise DataError(f"none of the definitional pairs ({', '.join('-'.join(p) for p in pairs[:4])}, ...) "
                        f"is in the vocabulary of {kv.source or 'the vectors'}")
    unit = normalized(kv.vectors.double())
    a = unit[[kv.index(x) for x, _ in used]]
    b = unit[[kv.index(y) for _, y in used]]
    centre = (a + b) / 2
    matrix = torch.cat([a - centre, b - centre]).numpy()
    pca = PCA(n_components=min(n_components, matrix.shape[0], matrix.shape[1])).fit(matrix)
    g = torch.as_tensor(pca.components_[0], dtype=torch.float64)
    if float(((a - b) @ g).sum()) < 0:  # point from he to she
        g = -g
    g = g / g.norm()
    return GenderDirection(g.float(), [float(r) for r in pca.explained_variance_ratio_], used)


def neutralize(unit: torch.Tensor, direction: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Remove the projection on ``direction`` (D,) from the rows of ``unit`` (V, D) where ``mask`` (V,)
    is true and renormalise them; other rows are returned as they are."""
    projection = unit @ direction  # (V,)
    removed = normalized(unit - projection.unsqueeze(1) * direction)
    return torch.where(mask.unsqueeze(1), removed, unit)


def equalize(unit: torch.Tensor, direction: torch.Tensor, pairs: torch.Tensor) -> torch.Tensor:
    """Equalise the rows ``pairs`` (P, 2) of ``unit`` (V, D) about ``direction`` (see the module doc).

    A word should appear in one pair only (the pairs are equalised at once).
    """
    out = unit.clone()
    if pairs.numel() == 0:
        return out
    a, b = unit[pairs[:, 0]], unit[pairs[:, 1]]
    mu = (a + b) / 2
    nu = mu - (mu @ direction).unsqueeze(1) * direction
    z = torch.sqrt((1 - (nu * nu).sum(1)).clamp_min(0))
    sign = torch.where((a - b) @ direction < 0, -1.0, 1.0).to(unit.dtype)
    offset = (z * sign).unsqueeze(1) * direction
    out[pairs[:, 0]] = nu + offset
    out[pairs[:, 1]] = nu - offset
    return out


def equalize_candidates(kv: KeyedVectors, pairs: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """The pairs to equalise: lower-case, Title and UPPER forms of each pair whose two words are
    both in ``kv`` (as debiaswe does), each word used once (its first pair)."""
    seen: set[str] = set()
    chosen = []
    for a, b in pairs:
        for x, y in ((a.lower(), b.lower()), (a.title(), b.title()), (a.upper(), b.upper())):
            if x in kv and y in kv and x != y and x not in seen and y not in seen:
                seen.update((x, y))
                chosen.append((x, y))
    return chosen


@dataclass
class DebiasResult:
    """What :func:`hard_debias` did."""

    direction: GenderDirection
    neutralized: int
    equalized: list[tuple[str, str]]


def hard_debias(kv: KeyedVectors, lists: GenderLists, device: str | torch.device = "cpu",
                n_components: int = 10) -> tuple[KeyedVectors, DebiasResult]:
    """Neutralise and equalise ``kv`` (Bolukbasi et al. 2016); returns unit-length vectors, same words and
    counts, and a :class:`DebiasResult`. Gender-specific words match as listed or in lower case."""
    dev = resolve_device(device)
    direction = gender_direction(kv, lists.definitional, n_components)
    g = direction.direction.to(dev)
    specific = set(lists.gender_specific) | {w.lower() for w in lists.gender_specific}
    mask = torch.from_numpy(np.fromiter((w not in specific for w in kv.words), dtype=bool, count=len(kv)))
    unit = normalized(kv.vectors.to(dev))
    out = neutralize(unit, g, mask.to(dev))
    chosen = equalize_candidates(kv, lists.equalize)
    index = torch.tensor([[kv.index(a), kv.index(b)] for a, b in chosen], dtype=torch.long, device=dev)
    out = normalized(equalize(out, g, index.reshape(-1, 2)))
    debiased = KeyedVectors(kv.words, out.cpu(), kv.counts)
    debiased.source = kv.source
    return debiased, DebiasResult(direction, int(mask.sum()), chosen)


def debias_vectors(kv: KeyedVectors, lists: GenderLists, method: str = "hard", device: str | torch.device = "cpu",
                   n_components: int = 10) -> tuple[KeyedVectors, DebiasResult]:
    """Debias ``kv`` with ``method`` (one of METHODS; ``hard``: :func:`hard_debias`)."""
    if method not in METHODS:
        raise ConfigError(f"debias method must be one of {', '.join(METHODS)}, got {method!r}")
    return hard_debias(kv, lists, device, n_components)
