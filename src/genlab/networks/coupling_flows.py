"""RealNVP flow networks (Dinh et al. 2017): stacks of ActNorm and affine coupling layers.

These networks are bijections of a state, not time-conditioned fields::

    z, log_det = flow(x)          # z: State shaped like x, log_det: (B,) = log |det ∂z/∂x|
    x = flow.inverse(z)

``coupling_mlp`` (any state, flattened to (B, D); points): each block is ActNorm, then a coupling
with the alternating half mask (parities 0, 1, 0, ...), then, with ``permute``, a fixed random
permutation of the D coordinates so that every coordinate pair interacts when D > 2.

``coupling_conv`` (one image component (C, H, W), H and W even): ``n_couplings`` checkerboard
couplings at full resolution, a 2×2 squeeze, ``n_couplings`` channel-mask couplings on
(4C, H/2, W/2), ``n_couplings`` checkerboard couplings there, and the inverse squeeze, so z has
the shape of x. This is Dinh et al.'s first scale without the multi-scale factoring-out (for
8×8 digits one scale is enough); each coupling is preceded by ActNorm.

Conditioners end in a zero-initialised layer, so every coupling starts as the identity.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn

from genlab.generative.flows import (ActNorm, AffineCoupling, Bijection, FlowSequence, Permutation, Squeeze,
                          Unsqueeze,                          alternating_mask, channel_mask, checkerboard_mask)
from genlab.modalities.base import State
from genlab.utils.checks import at_least, non_negative


class MLPConditioner(nn.Module):
    """(B, D) masked input -> (s_raw, t), each (B, D): a ReLU MLP with a zero-initialised output."""

    def __init__(self, dim: int, hidden: int, depth: int) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        width = dim
        for _ in range(depth):
            layers += [nn.Linear(width, hidden), nn.ReLU()]
            width = hidden
        self.body = nn.Sequential(*layers)
        self.out = nn.Linear(width, 2 * dim)
        nn.init.zeros_(self.out.weight)
        nn.init.zeros_(self.out.bias)

    def forward(self, x_kept: Tensor) -> tuple[Tensor, Tensor]:
        s_raw, t = self.out(self.body(x_kept)).chunk(2, dim=1)  # (B, D), (B, D)
        return s_raw, t


class _ConvResBlock(nn.Module):
    def __init__(self, channels: int) -> None:
        super().__init__()
        self.net = nn.Sequential(nn.ReLU(), nn.Conv2d(channels, channels, 3, padding=1), nn.ReLU(),
                                 nn.Conv2d(channels, channels, 3, padding=1))

    def forward(self, h: Tensor) -> Tensor:
        return h + self.net(h)


class ConvConditioner(nn.Module):
    """(B, C, H, W) masked input -> (s_raw, t), each (B, C, H, W). The mask itself is an extra
    input, so the network knows which entries it may read (Dinh et al. 2017, §4.1: a ResNet)."""

    def __init__(self, mask: Tensor, hidden: int, depth: int) -> None:
        super().__init__()
        channels = mask.shape[0]
        self.register_buffer("mask", mask.float())  # (C, H, W)
        self.inp = nn.Conv2d(2 * channels, hidden, 3, padding=1)
        self.blocks = nn.Sequential(*(_ConvResBlock(hidden) for _ in range(depth)))
        self.out = nn.Sequential(nn.ReLU(), nn.Conv2d(hidden, 2 * channels, 3, padding=1))
        nn.init.zeros_(self.out[1].weight)
        nn.init.zeros_(self.out[1].bias)

    def forward(self, x_kept: Tensor) -> tuple[Tensor, Tensor]:
        mask = self.mask.expand_as(x_kept)  # (B, C, H, W)
        h = self.blocks(self.inp(torch.cat([x_kept, mask], dim=1)))  # (B, hidden, H, W)
        s_raw, t = self.out(h).chunk(2, dim=1)  # (B, C, H, W) each
        return s_raw, t


def _check_sizes(n_couplings: int, hidden: int, depth: int) -> None:
    """``depth: 0`` is allowed: the conditioner is then linear (MLP) or one convolution in and out."""
    at_least("n_couplings", n_couplings, 1)
    at_least("hidden", hidden, 1)
    non_negative("depth", depth)


class StateFlow(nn.Module):
    """A :class:`~genlab.generative.flows.base.Bijection` on one tensor view of a state."""

    bijection: Bijection

    def to_tensor(self, state: State) -> Tensor:
        raise NotImplementedError

    def to_state(self, tensor: Tensor, like: State) -> State:
        raise NotImplementedError

    def forward(self, x: State) -> tuple[State, Tensor]:
        z, log_det = self.bijection(self.to_tensor(x))
        return self.to_state(z, x), log_det  # State like x, (B,)

    def inverse(self, z: State) -> State:
        return self.to_state(self.bijection.inverse(self.to_tensor(z)), z)


class CouplingMLPFlow(StateFlow):
    """``CouplingMLPFlow(shapes, n_couplings, hidden, depth, permute, actnorm)``."""

    def __init__(self, shapes: dict[str, tuple[int, ...]], n_couplings: int = 8, hidden: int = 128,
                 depth: int = 2, permute: bool = False, actnorm: bool = True) -> None:
        super().__init__()
        _check_sizes(n_couplings, hidden, depth)
        dim = sum(math.prod(s) for s in shapes.values())
        if dim < 2:
            raise ValueError(f"a coupling flow needs at least 2 dimensions, got {dim}")
        layers: list[Bijection] = []
        for k in range(n_couplings):
            if actnorm:
                layers.append(ActNorm(dim))
            layers.append(AffineCoupling(alternating_mask(dim, k), MLPConditioner(dim, hidden, depth)))
            if permute:
                layers.append(Permutation.random(dim, seed=k))
        self.bijection = FlowSequence(layers)

    def to_tensor(self, state: State) -> Tensor:
        return state.flatten()  # (B, D)

    def to_state(self, tensor: Tensor, like: State) -> State:
        return like.unflatten(tensor)


class CouplingConvFlow(StateFlow):
    """``CouplingConvFlow(shapes, n_couplings, hidden, depth, actnorm)``; shapes ``{"x": (C, H, W)}``."""

    def __init__(self, shapes: dict[str, tuple[int, ...]], n_couplings: int = 3, hidden: int = 64,
                 depth: int = 2, actnorm: bool = True) -> None:
        super().__init__()
        if set(shapes) != {"x"} or len(shapes["x"]) != 3 or shapes["x"][1] % 2 or shapes["x"][2] % 2:
            raise ValueError(f"coupling_conv needs one image component {{'x': (C, H, W)}} with even H, W; got {shapes}")
        _check_sizes(n_couplings, hidden, depth)
        C, H, W = shapes["x"]
        stages = [
            (lambda p: checkerboard_mask(C, H, W, p), C),
            (lambda p: channel_mask(4 * C, H // 2, W // 2, p), 4 * C),
            (lambda p: checkerboard_mask(4 * C, H // 2, W // 2, p), 4 * C),
        ]
        layers: list[Bijection] = []
        for i, (make_mask, channels) in enumerate(stages):
            if i == 1:
                layers.append(Squeeze())
            for k in range(n_couplings):
                if actnorm:
                    layers.append(ActNorm(channels))
                mask = make_mask(k)
                layers.append(AffineCoupling(mask, ConvConditioner(mask, hidden, depth)))
        layers.append(Unsqueeze())
        self.bijection = FlowSequence(layers)

    def to_tensor(self, state: State) -> Tensor:
        return state.parts["x"]  # (B, C, H, W)

    def to_state(self, tensor: Tensor, like: State) -> State:
        return like.with_parts({"x": tensor})
