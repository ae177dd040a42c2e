"""Classifier networks: ``logits = network(x)``.

Contract::

    logits = network(x)   # x: (B, ...) in the modality's classifier input view -> (B, classes)

``x`` is one tensor, ``modality.to_inputs(state)``: images as (B, C, H, W) pixels in [0, 1],
points as (B, D). The constructor is ``(shapes, classes=10, ...)``, ``shapes`` being the
modality's state shapes (one component ``"x"``, the same shape as the input view); the other
arguments are config keys.

* ``mlp_classifier``: flatten, ``depth`` ReLU layers of width ``hidden``, a linear output (any
  one-component input; ``depth: 0`` is multinomial logistic regression).
* ``small_cnn``: the small MNIST CNN of Wong & Kolter (2018) that Wong, Rice & Kolter (2020,
  "Fast is better than free", §5.1) train on MNIST: conv 16 4×4 stride 2 pad 1, ReLU, conv 32
  4×4 stride 2 pad 1, ReLU, flatten, linear 100, ReLU, linear ``classes``.
* ``madry_cnn``: the MNIST model of Madry et al. (2018, §C; their ``mnist_challenge`` code):
  conv 32 5×5 (TensorFlow "SAME" padding: 2), ReLU, max-pool 2×2, conv 64 5×5, ReLU, max-pool
  2×2, fully connected 1024, ReLU, linear ``classes`` — 3,274,634 parameters on 28×28 inputs.
  Pooling rounds odd sizes up, as "SAME" pooling does.

Sizes are checked with :mod:`genlab.utils.checks` (an impossible value names its key); an image
too small for a network's downsampling is refused with its size.
"""

from __future__ import annotations

import math
from typing import Sequence

from torch import Tensor, nn

from genlab.networks.registry import NETWORKS
from genlab.utils.checks import ImpossibleValue, at_least


def _input_shape(shapes: dict[str, tuple[int, ...]], network: str) -> tuple[int, ...]:
    if len(shapes) != 1:
        raise ValueError(f"{network} reads one input tensor; the modality has components {', '.join(shapes)}")
    return tuple(next(iter(shapes.values())))


def _image_shape(shapes: dict[str, tuple[int, ...]], network: str) -> tuple[int, int, int]:
    shape = _input_shape(shapes, network)
    if len(shape) != 3:
        raise ValueError(f"{network} reads images (C, H, W); the modality's inputs are shaped {shape}")
    return shape  # type: ignore[return-value]


def _check_sizes(classes: int, channels: Sequence[int], hidden: int) -> None:
    at_least("classes", classes, 2)
    if len(channels) != 2:
        raise ImpossibleValue("channels", "must list the two convolutions' widths", list(channels))
    for width in channels:
        at_least("channels", width, 1)
    at_least("hidden", hidden, 1)


@NETWORKS.register("mlp_classifier")
class MLPClassifier(nn.Module):
    """``MLPClassifier(shapes, classes, hidden, depth)``: flattened input -> ``depth`` ReLU layers
    of width ``hidden`` -> ``classes`` logits."""

    def __init__(self, shapes: dict[str, tuple[int, ...]], classes: int = 10, hidden: int = 256,
                 depth: int = 2) -> None:
        super().__init__()
        at_least("classes", classes, 2)
        at_least("hidden", hidden, 1)
        at_least("depth", depth, 0)
        width = math.prod(_input_shape(shapes, "mlp_classifier"))
        layers: list[nn.Module] = [nn.Flatten()]
        for _ in range(depth):
            layers += [nn.Linear(width, hidden), nn.ReLU()]
            width = hidden
        layers.append(nn.Linear(width, classes))
        self.layers = nn.Sequential(*layers)

    def forward(self, x: Tensor) -> Tensor:
        return self.layers(x)  # (B, ...) -> (B, classes)


@NETWORKS.register("small_cnn")
class SmallCNN(nn.Module):
    """``SmallCNN(shapes, classes, channels, hidden)``: two 4×4 stride-2 convolutions (each halves
    H and W), a hidden linear layer, logits. Wong et al.'s MNIST model is the default."""

    def __init__(self, shapes: dict[str, tuple[int, ...]], classes: int = 10, channels: list[int] | tuple[int, ...] = (16, 32),
                 hidden: int = 100) -> None:
        super().__init__()
        _check_sizes(classes, channels, hidden)
        c, h, w = _image_shape(shapes, "small_cnn")
        out_h, out_w = h // 4, w // 4  # (n + 2 - 4) // 2 + 1 = n // 2, twice
        if out_h < 1 or out_w < 1:
            raise ValueError(f"small_cnn halves the image twice; {h}×{w} images are too small (at least 4×4)")
        c1, c2 = channels
        self.layers = nn.Sequential(
            nn.Conv2d(c, c1, 4, stride=2, padding=1), nn.ReLU(),  # (B, c1, H/2, W/2)
            nn.Conv2d(c1, c2, 4, stride=2, padding=1), nn.ReLU(),  # (B, c2, H/4, W/4)
            nn.Flatten(),
            nn.Linear(c2 * out_h * out_w, hidden), nn.ReLU(),
            nn.Linear(hidden, classes),
        )

    def forward(self, x: Tensor) -> Tensor:
        return self.layers(x)  # (B, C, H, W) -> (B, classes)


@NETWORKS.register("madry_cnn")
class MadryCNN(nn.Module):
    """``MadryCNN(shapes, classes, channels, hidden)``: two 5×5 "same" convolutions, each followed by
    ReLU and a 2×2 max-pool, a fully connected layer of ``hidden`` units, logits."""

    def __init__(self, shapes: dict[str, tuple[int, ...]], classes: int = 10, channels: list[int] | tuple[int, ...] = (32, 64),
                 hidden: int = 1024) -> None:
        super().__init__()
        _check_sizes(classes, channels, hidden)
        c, h, w = _image_shape(shapes, "madry_cnn")
        if h < 2 or w < 2:
            raise ValueError(f"madry_cnn pools the image twice; {h}×{w} images are too small (at least 2×2)")
        out_h, out_w = math.ceil(math.ceil(h / 2) / 2), math.ceil(math.ceil(w / 2) / 2)
        c1, c2 = channels
        self.layers = nn.Sequential(
            nn.Conv2d(c, c1, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2, ceil_mode=True),  # (B, c1, H/2, W/2)
            nn.Conv2d(c1, c2, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2, ceil_mode=True),  # (B, c2, H/4, W/4)
            nn.Flatten(),
            nn.Linear(c2 * out_h * out_w, hidden), nn.ReLU(),
            nn.Linear(hidden, classes),
        )

    def forward(self, x: Tensor) -> Tensor:
        return self.layers(x)  # (B, C, H, W) -> (B, classes)
