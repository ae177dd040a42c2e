"""The bijection contract and the composition of bijections.

A flow f = f_K ∘ … ∘ f_1 maps data x to a latent z; by the change of variables (Dinh et al. 2017,
eq. 3), log p_X(x) = log p_Z(f(x)) + Σ_k log |det ∂f_k/∂h_{k-1}|. Each layer returns its own
per-sample term, so the composition only sums them.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn


class Bijection(nn.Module):
    """An invertible map y = f(x) of a (B, ...) tensor with log |det ∂f/∂x| per sample."""

    def forward(self, x: Tensor) -> tuple[Tensor, Tensor]:
        """``(y, log_det)``: y shaped as the layer defines (usually like x), log_det (B,)."""
        raise NotImplementedError

    def inverse(self, y: Tensor) -> Tensor:
        """x = f⁻¹(y)."""
        raise NotImplementedError


class FlowSequence(Bijection):
    """f = f_K ∘ … ∘ f_1; the log-determinants add (Dinh et al. 2017, eq. 3)."""

    def __init__(self, layers: list[Bijection]) -> None:
        super().__init__()
        self.layers = nn.ModuleList(layers)

    def forward(self, x: Tensor) -> tuple[Tensor, Tensor]:
        log_det = torch.zeros(x.shape[0], dtype=x.dtype, device=x.device)  # (B,)
        for layer in self.layers:
            x, ld = layer(x)
            log_det = log_det + ld
        return x, log_det

    def inverse(self, y: Tensor) -> Tensor:
        for layer in reversed(self.layers):
            y = layer.inverse(y)
        return y
