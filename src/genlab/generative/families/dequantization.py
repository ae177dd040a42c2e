"""Uniform dequantisation and bits/dim for likelihood families on quantised data (images).

Stored integers y become model units x = a·y + b (digits: a = 1/8, 17 levels in [−1, 1]; the
modality's ``data_scale`` is a). A continuous density on discrete points is unbounded, so
continuous-density models train on x̃ = x + (u − ½)·a, u ~ U[0, 1)^D (Theis et al. 2016, §3.1;
Dinh et al. 2017, §4.1), whose log-density lower-bounds the log-probability of the bins. In bits
per dimension of the stored integers (bins of width 1), p_y = p_x · a^D, hence

    bits/dim = −log p(x̃) / (D ln 2) − log2 a,

the convention of :mod:`genlab.generative.samplers.likelihood`. A discrete likelihood (the discretised
logistic of :mod:`genlab.generative.families.observation`) already gives bin probabilities: no correction.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor

from genlab.modalities.base import State


def dequantize(x: State, bin_width: float, generator: torch.Generator | None = None) -> State:
    """x̃ = x + (u − ½)·w with u ~ U[0, 1) per entry: each value spread over its own bin."""

    def spread(v: Tensor) -> Tensor:
        dev = v.device if generator is None else generator.device
        u = torch.rand(v.shape, generator=generator, device=dev, dtype=v.dtype).to(v.device)
        return v + (u - 0.5) * bin_width

    return x.map(spread)


def bits_per_dim(nll_nats: Tensor, dims: Tensor, data_scale: float = 1.0) -> Tensor:
    """−log p / (D ln 2) − log2(data_scale), (B,): bits per stored-integer dimension."""
    return nll_nats / (dims.to(nll_nats) * math.log(2)) - math.log2(data_scale)
