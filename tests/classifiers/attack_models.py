"""Models the attack tests share: a small CNN on (C, 8, 8) images in [0, 1], and a two-class
linear model whose robustness has a closed form."""

from __future__ import annotations

import torch
from torch import Tensor, nn


class SmallCNN(nn.Module):
    """Conv, batch norm, ReLU, linear: logits (B, 10) of images (B, C, 8, 8) in [0, 1]."""

    input_range = (0.0, 1.0)

    def __init__(self, channels: int = 1, seed: int = 0) -> None:
        super().__init__()
        with torch.random.fork_rng():  # fixed weights, the global stream untouched
            torch.manual_seed(seed)
            self.body = nn.Sequential(nn.Conv2d(channels, 4, 3), nn.BatchNorm2d(4), nn.ReLU(), nn.Flatten(),
                                      nn.Linear(4 * 6 * 6, 10))

    def forward(self, x: Tensor) -> Tensor:
        return self.body(x)


def two_class_linear(w: Tensor, b: float) -> nn.Linear:
    """Logits (0, w·x + b): class 1 iff w·x + b > 0, in w's dtype."""
    d = w.shape[0]
    model = nn.Linear(d, 2).to(w.dtype)
    with torch.no_grad():
        model.weight.copy_(torch.stack([torch.zeros_like(w), w]))
        model.bias.copy_(torch.tensor([0.0, b], dtype=w.dtype))
    return model
