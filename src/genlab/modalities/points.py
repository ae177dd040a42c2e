"""Points in R^D (toy 2D distributions): one component ``"x"`` of shape (B, D), no mask."""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor

from genlab.modalities.base import Modality, State, unlabelled


class PointsModality(Modality):
    """A sample is a vector of ``dim`` real coordinates; a batch is a (B, dim) float tensor."""

    components = ("x",)

    def __init__(self, dim: int = 2) -> None:
        self.dim = dim
        #: dx/dy between data units and quantisation bins (continuous data: 1, no correction)
        self.data_scale = 1.0

    def config(self) -> dict[str, Any]:
        """Constructor arguments as plain JSON (``MODALITIES.build({"name": "points", **config})``)."""
        return {"dim": self.dim}

    def shapes(self) -> dict[str, tuple[int, ...]]:
        return {"x": (self.dim,)}

    def encode(self, batch: Tensor) -> State:
        return State({"x": unlabelled(batch).float()})  # (B, D)

    def decode(self, state: State) -> Tensor:
        return state.parts["x"]  # (B, D)

    def noise(self, like: State, generator: torch.Generator | None = None) -> State:
        return like.map(lambda v: _randn_like(v, generator))

    def prior_template(self, n: int, device: torch.device | str = "cpu",
                       generator: torch.Generator | None = None) -> State:
        return State({"x": torch.zeros(n, self.dim, device=device)})

    def dims(self, state: State) -> Tensor:
        return torch.full((state.batch_size,), self.dim, device=state.device, dtype=torch.long)


def _randn_like(v: Tensor, generator: torch.Generator | None) -> Tensor:
    """Standard normal like ``v``, drawn on the generator's device and moved to ``v``'s."""
    dev = v.device if generator is None else generator.device
    return torch.randn(v.shape, generator=generator, device=dev, dtype=v.dtype).to(v.device)
