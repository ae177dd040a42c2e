"""Activation normalisation (Kingma & Dhariwal 2018, "Glow", §3.1, Table 1).

y = exp(log_s) ⊙ (x + b) per channel (dimension 1), so log |det| = (spatial size) · Σ_c log_s_c.
Data-dependent initialisation: on the first training batch, b = −mean and log_s = −log std per
channel, so that the post-ActNorm activations have zero mean and unit variance; afterwards b and
log_s are ordinary parameters. The ``initialized`` buffer is saved with the weights.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from genlab.generative.flows.base import Bijection


class ActNorm(Bijection):
    """``ActNorm(channels)``: an affine map per channel of a (B, C, ...) tensor."""

    def __init__(self, channels: int, eps: float = 1e-6) -> None:
        super().__init__()
        self.bias = nn.Parameter(torch.zeros(channels))  # b, (C,)
        self.log_scale = nn.Parameter(torch.zeros(channels))  # log s, (C,)
        self.register_buffer("initialized", torch.tensor(False))
        self.eps = eps

    def _view(self, v: Tensor, x: Tensor) -> Tensor:
        return v.reshape(1, -1, *([1] * (x.ndim - 2)))  # (1, C, 1, ...)

    @torch.no_grad()
    def initialize(self, x: Tensor) -> None:
        """Set b and log s from a batch so that the outputs are standardised per channel."""
        per_channel = x.transpose(0, 1).reshape(x.shape[1], -1)  # (C, B·spatial)
        self.bias.copy_(-per_channel.mean(1))
        self.log_scale.copy_(-torch.log(per_channel.std(1) + self.eps))
        self.initialized.fill_(True)

    def forward(self, x: Tensor) -> tuple[Tensor, Tensor]:
        if self.training and not bool(self.initialized):
            self.initialize(x)
        y = (x + self._view(self.bias, x)) * torch.exp(self._view(self.log_scale, x))
        spatial = x[0, 0].numel()
        log_det = spatial * self.log_scale.sum()
        return y, log_det.expand(x.shape[0])  # (B, C, ...), (B,)

    def inverse(self, y: Tensor) -> Tensor:
        return y * torch.exp(-self._view(self.log_scale, y)) - self._view(self.bias, y)
