"""The logit preprocessing of Dinh et al. (2017, §4.1) for bounded (image) data.

Dequantised data x̃ ∈ [low, low + width) is squeezed into (α, 1 − α) and mapped to ℝ:

    p = α + (1 − 2α) (x̃ − low) / width,        y = logit(p) = log p − log(1 − p),

with log |dy/dx̃| = Σ_j [log(1 − 2α) − log width − log p_j − log(1 − p_j)] per sample. A flow on y
then gives log p(x̃) = log p_flow(y) + that Jacobian, i.e. a density of the dequantised data in
model units; :mod:`genlab.generative.samplers.likelihood` explains the final conversion to bits/dim.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor

from genlab.generative.flows.base import Bijection


class LogitTransform(Bijection):
    """``LogitTransform(alpha, low, width)``: [low, low + width) -> ℝ, elementwise."""

    def __init__(self, alpha: float = 0.05, low: float = -1.0, width: float = 2.0) -> None:
        super().__init__()
        if not 0.0 <= alpha < 0.5:
            raise ValueError(f"alpha must be in [0, 0.5), got {alpha}")
        self.alpha, self.low, self.width = alpha, low, width

    def forward(self, x: Tensor) -> tuple[Tensor, Tensor]:
        p = self.alpha + (1 - 2 * self.alpha) * (x - self.low) / self.width  # (B, ...) in (α, 1 − α)
        y = torch.log(p) - torch.log1p(-p)
        per_entry = math.log(1 - 2 * self.alpha) - math.log(self.width) - torch.log(p) - torch.log1p(-p)
        return y, per_entry.reshape(x.shape[0], -1).sum(1)  # (B, ...), (B,)

    def inverse(self, y: Tensor) -> Tensor:
        p = torch.sigmoid(y)
        return self.low + self.width * (p - self.alpha) / (1 - 2 * self.alpha)
