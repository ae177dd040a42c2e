"""Networks of the few-shot (meta-learning) benchmarks: ``outputs = network(x)``.

They honour the classifier-network contract of :mod:`genlab.networks.classifiers` (constructor
``(shapes, ...)``, ``network(x)`` maps a batch of inputs (B, ...) to (B, outputs)) and split into
two named parts, ``network.features`` (x -> (B, F)) and ``network.head`` (a linear map (B, F) ->
(B, outputs)), so a meta-learner can adapt the head alone (ANIL, Raghu et al. 2020) and compute
the features once per task.

* ``few_shot_mlp``: Finn et al. (2017, "Model-agnostic meta-learning", sec. 5.1)'s sinusoid
  regressor, 1 -> 40 -> 40 -> 1 with ReLU (``hidden`` sets the widths, ``outputs`` the output size:
  1 for a regression, N for N-way logits).
* ``conv4``: their Omniglot and MiniImagenet classifier (sec. 5.2, after Vinyals et al. 2016):
  four blocks of a 3×3 convolution with ``channels`` filters, batch normalisation, ReLU and 2×2
  max-pooling, then a linear head to ``classes`` logits. On 28×28 Omniglot images the four pools
  leave 1×1×64 features; larger images leave larger maps, which are flattened.

Batch normalisation here is :class:`TaskBatchNorm`: it always normalises with the statistics of
the batch it is given (the support or the query set of one task) and keeps no running
statistics, as Finn et al. do at meta-training and meta-test time. Its default form is right for
second-order meta-gradients under ``vmap``; ``fused_norm: true`` is faster where they are not
needed (see the class).
"""

from __future__ import annotations

import math
from typing import Sequence

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from genlab.networks.classifiers import _image_shape, _input_shape
from genlab.networks.registry import NETWORKS
from genlab.utils.checks import ImpossibleValue, at_least, positive


class TaskBatchNorm(nn.Module):
    """y = γ (x − μ_B) / sqrt(σ²_B + ε) + β per channel (Ioffe & Szegedy 2015, Alg. 1), μ_B and σ²_B
    (biased) over every axis but the channel axis 1 of the batch given; no running statistics:
    ``nn.BatchNorm2d(c, track_running_stats=False)`` in training mode.

    By default it is written with plain tensor operations, y = a x + (β − a μ_B) with
    a = γ / sqrt(σ²_B + ε): under ``torch.func.vmap`` over tasks the batching rule of PyTorch's
    batch-norm backward gives wrong second-order gradients (its first-order gradients are right),
    these operations do not. ``fused=True`` calls PyTorch's kernel, much faster on a
    CPU, for learners that never differentiate a gradient through the normalisation (first-order
    MAML, Reptile, ANIL, whose inner loop adapts only the head after it) or that loop over tasks.
    """

    def __init__(self, channels: int, eps: float = 1e-5, fused: bool = False) -> None:
        super().__init__()
        self.eps, self.fused = eps, fused
        self.weight = nn.Parameter(torch.ones(channels))  # γ (C,)
        self.bias = nn.Parameter(torch.zeros(channels))  # β (C,)

    def forward(self, x: Tensor) -> Tensor:
        if self.fused:
            return F.batch_norm(x, None, None, self.weight, self.bias, training=True, eps=self.eps)
        shape = (1, -1) + (1,) * (x.ndim - 2)
        var, mean = torch.var_mean(x, [0, *range(2, x.ndim)], unbiased=False, keepdim=True)  # (1, C, 1, ...)
        a = torch.rsqrt(var + self.eps) * self.weight.view(shape)  # (1, C, 1, ...)
        return x * a + (self.bias.view(shape) - mean * a)


@NETWORKS.register("few_shot_mlp")
class FewShotMLP(nn.Module):
    """``FewShotMLP(shapes, outputs, hidden)``: flattened input -> ReLU layers of the widths in
    ``hidden`` (``features``) -> a linear ``head`` to ``outputs``."""

    def __init__(self, shapes: dict[str, tuple[int, ...]], outputs: int = 1,
                 hidden: Sequence[int] = (40, 40)) -> None:
        super().__init__()
        at_least("outputs", outputs, 1)
        if len(hidden) < 1:
            raise ImpossibleValue("hidden", "must list at least one layer width", list(hidden))
        for width in hidden:
            at_least("hidden", width, 1)
        width = math.prod(_input_shape(shapes, "few_shot_mlp"))
        layers: list[nn.Module] = [nn.Flatten()]
        for h in hidden:
            layers += [nn.Linear(width, h), nn.ReLU()]
            width = h
        self.features = nn.Sequential(*layers)
        self.head = nn.Linear(width, outputs)

    def forward(self, x: Tensor) -> Tensor:
        return self.head(self.features(x))  # (B, ...) -> (B, outputs)


@NETWORKS.register("conv4")
class Conv4(nn.Module):
    """``Conv4(shapes, classes, channels, blocks, eps, fused_norm)``: ``blocks`` × [3×3 conv,
    :class:`TaskBatchNorm` (``fused_norm``: PyTorch's kernel), ReLU, 2×2 max-pool] (``features``,
    flattened) -> a linear ``head`` to ``classes`` logits."""

    def __init__(self, shapes: dict[str, tuple[int, ...]], classes: int = 5, channels: int = 64,
                 blocks: int = 4, eps: float = 1e-5, fused_norm: bool = False) -> None:
        super().__init__()
        at_least("classes", classes, 2)
        at_least("channels", channels, 1)
        at_least("blocks", blocks, 1)
        positive("eps", eps)
        c, h, w = _image_shape(shapes, "conv4")
        if min(h, w) < 2**blocks:
            raise ValueError(f"conv4 halves the image {blocks} times; {h}×{w} images are too small "
                             f"(at least {2**blocks}×{2**blocks})")
        layers: list[nn.Module] = []
        for i in range(blocks):
            layers += [nn.Conv2d(c if i == 0 else channels, channels, 3, padding=1),  # (B, channels, H, W)
                       TaskBatchNorm(channels, eps, fused_norm), nn.ReLU(), nn.MaxPool2d(2)]  # (B, channels, H/2, W/2)
            h, w = h // 2, w // 2
        layers.append(nn.Flatten())  # (B, channels h w)
        self.features = nn.Sequential(*layers)
        self.head = nn.Linear(channels * h * w, classes)

    def forward(self, x: Tensor) -> Tensor:
        return self.head(self.features(x))  # (B, C, H, W) -> (B, classes)
