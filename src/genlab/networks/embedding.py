"""Time embeddings: t ∈ [0, 1] (B,) -> features (B, dim).

* ``sinusoidal``: the Transformer position encoding used by DDPM (Ho et al. 2020, App. B;
  Vaswani et al. 2017, §3.5) applied to ``scale · t`` (scale 1000 puts t = i/N on DDPM's integer
  step lattice).
* ``fourier``: random Gaussian Fourier features [sin 2πWt, cos 2πWt], W ~ N(0, scale²) fixed at
  construction (Tancik et al. 2020; used for continuous t by Song et al. 2021).
"""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn

from genlab.registry import Registry
from genlab.utils.checks import at_least, even, one_of

#: name -> class(dim) producing (B, dim) features from t (B,)
TIME_EMBEDDINGS: Registry[nn.Module] = Registry("time embedding")


def build_time_embedding(time_embedding: str, time_dim: int) -> nn.Module:
    """The embedding a network's ``time_embedding`` key names, with ``time_dim`` (even, ≥ 2) features."""
    one_of("time_embedding", time_embedding, TIME_EMBEDDINGS.names())
    _check_dim("time_dim", time_dim)
    return TIME_EMBEDDINGS.get(time_embedding)(time_dim)


def _check_dim(name: str, dim: int) -> None:
    at_least(name, dim, 2)
    even(name, dim)


@TIME_EMBEDDINGS.register("sinusoidal")
class SinusoidalEmbedding(nn.Module):
    def __init__(self, dim: int, scale: float = 1000.0) -> None:
        super().__init__()
        _check_dim("dim", dim)
        half = dim // 2
        freqs = torch.exp(-math.log(10000.0) * torch.arange(half, dtype=torch.float32) / half)  # (dim/2,)
        self.register_buffer("freqs", freqs, persistent=False)
        self.scale = scale

    def forward(self, t: Tensor) -> Tensor:
        angles = self.scale * t.float()[:, None] * self.freqs[None]  # (B, dim/2)
        return torch.cat([angles.sin(), angles.cos()], dim=1)  # (B, dim)


@TIME_EMBEDDINGS.register("fourier")
class FourierEmbedding(nn.Module):
    def __init__(self, dim: int, scale: float = 16.0) -> None:
        super().__init__()
        _check_dim("dim", dim)
        w = torch.randn(dim // 2, generator=torch.Generator().manual_seed(0)) * scale  # (dim/2,)
        self.register_buffer("w", w)  # saved: the features must survive a checkpoint round trip

    def forward(self, t: Tensor) -> Tensor:
        angles = 2 * math.pi * t.float()[:, None] * self.w[None]  # (B, dim/2)
        return torch.cat([angles.sin(), angles.cos()], dim=1)  # (B, dim)
