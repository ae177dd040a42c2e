"""Volume-preserving reshuffles: a fixed permutation of dimension 1 and the 2×2 squeeze.

Both only move entries, so log |det| = 0. Between coupling layers they let every coordinate be
transformed (Dinh et al. 2017 alternate masks; Kingma & Dhariwal 2018 permute channels). The
squeeze (Dinh et al. 2017, §3.6) turns (C, H, W) into (4C, H/2, W/2), after which channel-wise
masks split each 2×2 patch.
"""

from __future__ import annotations

import torch
from torch import Tensor

from genlab.generative.flows.base import Bijection


class Permutation(Bijection):
    """``Permutation(perm)``: y[:, i] = x[:, perm[i]] along dimension 1."""

    def __init__(self, perm: Tensor) -> None:
        super().__init__()
        self.register_buffer("perm", perm.long())  # (C,)
        self.register_buffer("inverse_perm", torch.argsort(perm).long())  # (C,)

    @classmethod
    def random(cls, channels: int, seed: int) -> "Permutation":
        """A fixed random permutation, reproducible from ``seed``."""
        return cls(torch.randperm(channels, generator=torch.Generator().manual_seed(seed)))

    def forward(self, x: Tensor) -> tuple[Tensor, Tensor]:
        return x[:, self.perm], torch.zeros(x.shape[0], dtype=x.dtype, device=x.device)

    def inverse(self, y: Tensor) -> Tensor:
        return y[:, self.inverse_perm]


class Squeeze(Bijection):
    """(B, C, H, W) -> (B, 4C, H/2, W/2): each 2×2 patch becomes four channels (H, W even)."""

    def forward(self, x: Tensor) -> tuple[Tensor, Tensor]:
        B, C, H, W = x.shape
        y = x.reshape(B, C, H // 2, 2, W // 2, 2).permute(0, 1, 3, 5, 2, 4)  # (B, C, 2, 2, H/2, W/2)
        return y.reshape(B, 4 * C, H // 2, W // 2), torch.zeros(B, dtype=x.dtype, device=x.device)

    def inverse(self, y: Tensor) -> Tensor:
        B, C4, h, w = y.shape
        x = y.reshape(B, C4 // 4, 2, 2, h, w).permute(0, 1, 4, 2, 5, 3)  # (B, C, h, 2, w, 2)
        return x.reshape(B, C4 // 4, 2 * h, 2 * w)


class Unsqueeze(Bijection):
    """(B, 4C, H/2, W/2) -> (B, C, H, W): the inverse of :class:`Squeeze`."""

    def __init__(self) -> None:
        super().__init__()
        self.squeeze = Squeeze()

    def forward(self, x: Tensor) -> tuple[Tensor, Tensor]:
        return self.squeeze.inverse(x), torch.zeros(x.shape[0], dtype=x.dtype, device=x.device)

    def inverse(self, y: Tensor) -> Tensor:
        return self.squeeze(y)[0]
