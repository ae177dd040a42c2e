"""Broadcasting helpers that keep processes free of tensor-rank assumptions."""

from __future__ import annotations

from torch import Tensor


def expand_like(t: Tensor, x: Tensor) -> Tensor:
    """Reshape a per-sample tensor ``t`` of shape (B,) to (B, 1, ..., 1) with ``x.ndim`` dims.

    A process written with ``expand_like(alpha_t, x) * x`` works on points (B, D), images
    (B, C, H, W) and graph components (B, N, N, C) alike.
    """
    if t.ndim == 0:
        t = t.expand(x.shape[0])
    return t.reshape(t.shape[0], *([1] * (x.ndim - 1)))
