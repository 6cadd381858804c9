"""The distribution of ancestral sampling: temperature, top-k and nucleus (top-p) truncation, and the draw.

Ancestral sampling draws each output token from the model's next-token distribution instead of taking its
argmax (a translation's samples, e.g. for back-translation: Edunov et al. 2018, sec. 3). The distribution is
reshaped first, in this order (as Hugging Face's ``generate``; fairseq's ``Sampling`` applies one truncation):

    temperature  p_T(y) = p(y)^(1/T) / sum_y' p(y')^(1/T)    (T < 1 sharpens, T > 1 flattens; T -> 0 is greedy)
    top-k        keep the k most probable tokens (Fan et al. 2018)
    top-p        keep the smallest set of most probable tokens whose mass is >= p, so always the most probable
                 one (nucleus sampling: Holtzman et al. 2020, sec. 3.1; fairseq's ``_sample_topp``)

and renormalised. A token the search rules forbid (log-probability -inf) is never drawn. The draws come from the
``torch.Generator`` passed in, which lives on the tensors' device: the same seed gives the same draws on the
same kind of device, but a CUDA generator's stream differs from a CPU generator's, so the same seed samples
differently on a GPU.
"""

from __future__ import annotations

import torch

NEG_INF = float("-inf")


def sampling_logits(logp: torch.Tensor, temperature: float = 1.0, top_k: int = 0, top_p: float = 1.0) -> torch.Tensor:
    """Next-token log-probabilities (N, V), -inf where forbidden, with at least one finite entry a row -> the
    logits (N, V) of the sampling distribution: divided by ``temperature``, -inf outside the ``top_k`` most
    probable tokens (0: all) and outside the nucleus of mass ``top_p`` (1: all)."""
    # the best token at 0 before dividing: a tiny temperature sends the others to -inf, never to NaN
    logits = (logp - logp.amax(-1, keepdim=True)) / temperature
    if 0 < top_k < logits.shape[-1]:
        keep = torch.zeros_like(logits, dtype=torch.bool).scatter_(-1, logits.topk(top_k, -1).indices, True)
        logits = logits.masked_fill(~keep, NEG_INF)
    if top_p < 1.0:
        probs, order = torch.softmax(logits, -1).sort(-1, descending=True)
        before = probs.cumsum(-1) - probs  # the mass of the more probable tokens; 0 for the most probable
        drop = torch.zeros_like(logits, dtype=torch.bool).scatter_(-1, order, before >= top_p)
        logits = logits.masked_fill(drop, NEG_INF)
    return logits


def draw(logits: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
    """One token id (N,) per row of ``logits`` (N, V), drawn from softmax(logits) with ``generator``."""
    return torch.multinomial(torch.softmax(logits, -1), 1, generator=generator).squeeze(1)
