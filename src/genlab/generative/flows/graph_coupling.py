"""Graph coupling layers of GraphNVP (Madhawa et al. 2019, "GraphNVP: an invertible flow model for
generating molecular graphs", §3.2–3.3).

A graph is a node tensor X (B, N, K') and an adjacency tensor A (B, N, N, C). GraphNVP transforms
them with two kinds of affine coupling layer, each updating *one node's slice* and keeping the
rest (the "one-node-versus-rest" masks of §3.3):

* **adjacency coupling** on A alone (eq. 4): row i, A[i, :, :], is updated from the masked rest,

      A' = m ⊙ A + (1 − m) ⊙ (A ⊙ exp(s(m ⊙ A)) + t(m ⊙ A)),    m = 1 except on row i;

  this is :class:`~genlab.generative.flows.coupling.AffineCoupling` with :func:`adjacency_row_mask`;
* **node coupling** on X *conditioned on the adjacency* (eq. 3): node i's features X[i, :] are
  updated from the other nodes and the graph's edges,

      X' = m ⊙ X + (1 − m) ⊙ (X ⊙ exp(s(m ⊙ X, A)) + t(m ⊙ X, A)),   m = 1 except on node i,

  with s, t an R-GCN (:class:`ConditionalAffineCoupling` with :func:`node_row_mask`).

Both Jacobians are triangular: log |det| = Σ over the updated entries of s (eq. 5). The condition A
of a node coupling is not transformed by it, so the inverse needs the same A, which is why
GraphNVP generates the adjacency first and the nodes second (§3.4).
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from genlab.generative.flows.base import Bijection


def node_row_mask(n: int, channels: int, i: int) -> Tensor:
    """(N, K') mask keeping every node but node i (the one updated)."""
    mask = torch.ones(n, channels)
    mask[i % n] = 0.0
    return mask


def adjacency_row_mask(n: int, channels: int, i: int) -> Tensor:
    """(N, N, C) mask keeping every row of the adjacency but row i (the slice A[i, :, :] updated)."""
    mask = torch.ones(n, n, channels)
    mask[i % n] = 0.0
    return mask


class ConditionalAffineCoupling(Bijection):
    """``ConditionalAffineCoupling(mask, conditioner)``: an affine coupling of x whose conditioner
    also reads a condition c that the layer does not change::

        y, log_det = layer(x, c);   x = layer.inverse(y, c)

    ``conditioner(x_kept, c) -> (s_raw, t)``, each shaped like x; s = scale · tanh(s_raw) with a
    learned per-entry scale (as :class:`~genlab.generative.flows.coupling.AffineCoupling`).
    """

    def __init__(self, mask: Tensor, conditioner: nn.Module) -> None:
        super().__init__()
        self.register_buffer("mask", mask.float())  # (*shape)
        self.conditioner = conditioner
        self.scale = nn.Parameter(torch.ones_like(self.mask))  # (*shape)

    def _s_t(self, x_kept: Tensor, cond: Tensor) -> tuple[Tensor, Tensor]:
        s_raw, t = self.conditioner(x_kept, cond)  # each (B, *shape)
        free = 1 - self.mask
        return free * self.scale * torch.tanh(s_raw), free * t

    def forward(self, x: Tensor, cond: Tensor) -> tuple[Tensor, Tensor]:  # type: ignore[override]
        s, t = self._s_t(x * self.mask, cond)  # (B, *shape)
        y = x * torch.exp(s) + t  # kept entries: s = t = 0
        return y, s.reshape(x.shape[0], -1).sum(1)  # (B, *shape), (B,)

    def inverse(self, y: Tensor, cond: Tensor) -> Tensor:  # type: ignore[override]
        s, t = self._s_t(y * self.mask, cond)
        return (y - t) * torch.exp(-s)
