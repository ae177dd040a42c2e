"""What every sampler returns, and the NFE counter every sampler wraps its model in."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from torch import Tensor

from genlab.modalities.base import State

#: a model function: (x_t, t (B,)) -> ε, score or velocity, shaped like x_t
ModelFn = Callable[[State, Tensor], State]


@dataclass
class SamplerOutput:
    x: State  # the final state x_0 (continuous space; the family decodes it)
    nfe: int  # number of model (network) evaluations


class CountedFn:
    """Wraps a model function and counts its calls: ``nfe`` is what a sampler reports."""

    def __init__(self, fn: ModelFn) -> None:
        self.fn = fn
        self.nfe = 0

    def __call__(self, x: State, t: Tensor) -> State:
        self.nfe += 1
        return self.fn(x, t)
