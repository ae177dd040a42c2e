"""SimCLR's contrastive loss, NT-Xent (normalised temperature-scaled cross-entropy).

Chen, Kornblith, Norouzi & Hinton (2020), "A simple framework for contrastive learning of visual
representations", eq. (1) and Algorithm 1: for a batch of N examples, each seen in two augmented
views, the 2N projections z_k are compared by cosine similarity sim(u, v) = uᵀv / (‖u‖ ‖v‖), and
the loss of the positive pair (i, j) is

    ℓ(i, j) = −log  exp(sim(z_i, z_j)/τ) / Σ_{k ≠ i} exp(sim(z_i, z_k)/τ),

averaged over all 2N ordered positive pairs (both (i, j) and (j, i)). The denominator holds the
positive and the 2(N − 1) negatives; the anchor itself is left out.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

from genlab.utils import checks


def nt_xent(z_1: Tensor, z_2: Tensor, temperature: float = 1.0) -> Tensor:
    """NT-Xent of the projections of two views, row k of ``z_1`` and of ``z_2`` being the same
    example: (N, D), (N, D) -> a scalar, the mean of ℓ over the 2N anchors."""
    if z_1.shape != z_2.shape or z_1.ndim != 2:
        raise ValueError(f"expected two (N, D) views of the same shape, got {tuple(z_1.shape)} and {tuple(z_2.shape)}")
    checks.positive("temperature", temperature)
    n = z_1.shape[0]
    if n < 2:
        raise ValueError("NT-Xent needs at least two examples (a positive and a negative)")
    z = F.normalize(torch.cat([z_1, z_2]), dim=1)  # (2N, D) unit rows
    logits = z @ z.T / temperature  # (2N, 2N) sim(z_k, z_l)/τ
    self_pairs = torch.eye(2 * n, dtype=torch.bool, device=z.device)  # (2N, 2N)
    logits = logits.masked_fill(self_pairs, float("-inf"))  # k = l leaves the denominator
    positive = torch.cat([torch.arange(n, 2 * n), torch.arange(0, n)]).to(z.device)  # (2N,) the other view
    return F.cross_entropy(logits, positive)
