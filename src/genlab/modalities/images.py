"""Images: one component ``"x"`` of shape (B, C, H, W) with values in [-1, 1], no mask.

``data_scale`` is dx/dy between the model's [-1, 1] units and one quantisation level of the
stored integers (``2 / (levels - 1)``): the likelihood uses it to report bits/dim in data units
(:mod:`genlab.generative.samplers.likelihood`).
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor

from genlab.modalities.base import Modality, State, unlabelled
from genlab.modalities.points import _randn_like


class ImagesModality(Modality):
    """A sample is a (C, H, W) image in [-1, 1]; ``levels`` is the number of stored grey levels."""

    components = ("x",)

    def __init__(self, channels: int = 1, height: int = 8, width: int = 8, levels: int = 256) -> None:
        self.channels, self.height, self.width, self.levels = channels, height, width, levels
        self.data_scale = 2.0 / (levels - 1)

    def config(self) -> dict[str, Any]:
        """Constructor arguments as plain JSON (``MODALITIES.build({"name": "images", **config})``)."""
        return {"channels": self.channels, "height": self.height, "width": self.width, "levels": self.levels}

    def shapes(self) -> dict[str, tuple[int, ...]]:
        return {"x": (self.channels, self.height, self.width)}

    #: classifier inputs are pixels in [0, 1] (the convention of the attack literature)
    input_range = (0.0, 1.0)

    def encode(self, batch: Tensor) -> State:
        return State({"x": unlabelled(batch).float()})  # (B, C, H, W) in [-1, 1]

    def to_inputs(self, state: State) -> Tensor:
        """Pixels in [0, 1], (B, C, H, W): x/2 + 1/2 of the state's [-1, 1]."""
        return 0.5 * state.parts["x"] + 0.5

    def decode(self, state: State) -> Tensor:
        return state.parts["x"].clamp(-1, 1)  # (B, C, H, W)

    def noise(self, like: State, generator: torch.Generator | None = None) -> State:
        return like.map(lambda v: _randn_like(v, generator))

    def prior_template(self, n: int, device: torch.device | str = "cpu",
                       generator: torch.Generator | None = None) -> State:
        return State({"x": torch.zeros(n, self.channels, self.height, self.width, device=device)})

    def dims(self, state: State) -> Tensor:
        d = self.channels * self.height * self.width
        return torch.full((state.batch_size,), d, device=state.device, dtype=torch.long)
