"""Affine coupling layers (Dinh et al. 2017, "Density estimation using Real NVP", §3.2–3.4).

With a binary mask b (1: kept, 0: transformed) and a conditioner that sees only the kept part,

    y = b ⊙ x + (1 − b) ⊙ (x ⊙ exp(s(b ⊙ x)) + t(b ⊙ x))                  (eq. 9)

the Jacobian is triangular and log |det ∂y/∂x| = Σ_j (1 − b_j) s_j(b ⊙ x)  (eq. 6). The inverse
needs no inversion of s or t: x = b ⊙ y + (1 − b) ⊙ (y − t(b ⊙ y)) ⊙ exp(−s(b ⊙ y)) (eq. 8).

The conditioner is any module ``(b ⊙ x) -> (s_raw, t)`` with outputs shaped like x: an MLP for
points, a CNN for images, a graph network for molecular graphs (GraphNVP couples node features
on the adjacency). s = scale · tanh(s_raw) bounds the log-scale, with a learned per-entry
``scale`` as in the reference implementation of Dinh et al.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from genlab.generative.flows.base import Bijection


class AffineCoupling(Bijection):
    """``AffineCoupling(mask, conditioner)``: mask has the per-sample shape of x (1 kept, 0 changed)."""

    def __init__(self, mask: Tensor, conditioner: nn.Module) -> None:
        super().__init__()
        self.register_buffer("mask", mask.float())  # (*shape)
        self.conditioner = conditioner
        self.scale = nn.Parameter(torch.ones_like(self.mask))  # (*shape)

    def _s_t(self, x_kept: Tensor) -> tuple[Tensor, Tensor]:
        s_raw, t = self.conditioner(x_kept)  # each (B, *shape)
        free = 1 - self.mask
        return free * self.scale * torch.tanh(s_raw), free * t

    def forward(self, x: Tensor) -> tuple[Tensor, Tensor]:
        s, t = self._s_t(x * self.mask)  # (B, *shape)
        y = x * torch.exp(s) + t  # kept entries: s = t = 0, so y = x there
        return y, s.reshape(x.shape[0], -1).sum(1)  # (B, *shape), (B,)

    def inverse(self, y: Tensor) -> Tensor:
        s, t = self._s_t(y * self.mask)
        return (y - t) * torch.exp(-s)


def alternating_mask(dim: int, parity: int) -> Tensor:
    """(dim,) mask keeping the first half of the coordinates (parity 0) or the second (parity 1)."""
    mask = (torch.arange(dim) < dim // 2).float()  # (D,)
    return mask if parity % 2 == 0 else 1 - mask


def checkerboard_mask(channels: int, height: int, width: int, parity: int) -> Tensor:
    """(C, H, W) spatial checkerboard, b_ij = (i + j + parity) mod 2 == 0 (Dinh et al. 2017, Fig. 3)."""
    i = torch.arange(height)[:, None]
    j = torch.arange(width)[None, :]
    board = ((i + j + parity) % 2 == 0).float()  # (H, W)
    return board.expand(channels, height, width).clone()


def channel_mask(channels: int, height: int, width: int, parity: int) -> Tensor:
    """(C, H, W) mask keeping the first half of the channels (parity 0) or the second (parity 1)."""
    mask = (torch.arange(channels) < channels // 2).float()  # (C,)
    mask = mask if parity % 2 == 0 else 1 - mask
    return mask[:, None, None].expand(channels, height, width).clone()
