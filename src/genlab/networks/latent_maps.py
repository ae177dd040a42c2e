"""Networks between a state and a latent vector: encoders (state -> features) and decoders
(latent z -> distribution parameters per state entry). VAEs, AAEs and GANs use them.

Contracts (different from the time-conditioned fields of :mod:`genlab.networks.registry`)::

    h = encoder(x)        # x: State -> (B, encoder.out_dim) features; the family adds its head
    p = decoder(z)        # z: (B, decoder.latent_dim) -> State, each part (B, n_params, *shape)

A family turns encoder features into what it needs with its own linear head (a posterior's
mean and log-std, a critic's score), so one encoder serves as a VAE encoder, an AAE encoder and a
GAN critic. A decoder's ``n_params`` values per entry are read by an observation model (a
Gaussian's mean and log-scale: 2; a GAN sample: 1); ``out_activation: tanh`` bounds every value
to (−1, 1), for generators of data in [−1, 1].

``mlp_encoder`` / ``mlp_decoder`` flatten every component (points; any small state);
``conv_encoder`` / ``conv_decoder`` handle one image component (C, H, W) of any size: two
stride-2 convolutions down, two nearest-neighbour upsamplings with convolutions up (DCGAN-like,
Radford et al. 2016, without batch norm so that a WGAN-GP critic stays per-sample).
"""

from __future__ import annotations

import math

import torch.nn.functional as F
from torch import Tensor, nn

from genlab.modalities.base import State
from genlab.utils.checks import at_least, non_negative, one_of

_ACTIVATIONS = {None: nn.Identity, "tanh": nn.Tanh, "sigmoid": nn.Sigmoid}


def _mlp(widths: list[int]) -> nn.Sequential:
    layers: list[nn.Module] = []
    for a, b in zip(widths[:-1], widths[1:]):
        layers += [nn.Linear(a, b), nn.LeakyReLU(0.2)]
    return nn.Sequential(*layers)


def _split(flat: Tensor, shapes: dict[str, tuple[int, ...]], n_params: int) -> State:
    """(B, n_params · Σ sizes) -> State with parts (B, n_params, *shape)."""
    B = flat.shape[0]
    flat = flat.reshape(B, n_params, -1)  # (B, P, D)
    parts, start = {}, 0
    for name, shape in shapes.items():
        size = math.prod(shape)
        parts[name] = flat[:, :, start : start + size].reshape(B, n_params, *shape)
        start += size
    return State(parts)


def _check_activation(out_activation: str | None) -> nn.Module:
    one_of("out_activation", out_activation, _ACTIVATIONS)
    return _ACTIVATIONS[out_activation]()


class MLPEncoder(nn.Module):
    """``MLPEncoder(shapes, hidden, depth)``: flattened state -> ``depth`` LeakyReLU layers of
    width ``hidden``; ``depth: 0`` gives the flattened state itself (a linear model's input)."""

    def __init__(self, shapes: dict[str, tuple[int, ...]], hidden: int = 256, depth: int = 3) -> None:
        super().__init__()
        at_least("hidden", hidden, 1)
        non_negative("depth", depth)
        dim = sum(math.prod(s) for s in shapes.values())
        self.body = _mlp([dim] + [hidden] * depth)
        self.out_dim = hidden if depth else dim

    def forward(self, x: State) -> Tensor:
        return self.body(x.flatten())  # (B, out_dim)


class MLPDecoder(nn.Module):
    """``MLPDecoder(shapes, latent_dim, hidden, depth, n_params, out_activation)``: z -> ``depth``
    LeakyReLU layers -> a linear map to n_params values per entry (``depth: 0``: linear in z)."""

    def __init__(self, shapes: dict[str, tuple[int, ...]], latent_dim: int = 2, hidden: int = 256,
                 depth: int = 3, n_params: int = 1, out_activation: str | None = None) -> None:
        super().__init__()
        at_least("latent_dim", latent_dim, 1)
        at_least("hidden", hidden, 1)
        non_negative("depth", depth)
        at_least("n_params", n_params, 1)
        self.shapes = {k: tuple(v) for k, v in shapes.items()}
        self.latent_dim, self.n_params = latent_dim, n_params
        dim = sum(math.prod(s) for s in self.shapes.values())
        self.body = _mlp([latent_dim] + [hidden] * depth)
        self.out = nn.Linear(hidden if depth else latent_dim, n_params * dim)
        self.act = _check_activation(out_activation)

    def forward(self, z: Tensor) -> State:
        return _split(self.act(self.out(self.body(z))), self.shapes, self.n_params)  # (B, P, *shape)


def _image_shape(shapes: dict[str, tuple[int, ...]], who: str) -> tuple[int, int, int]:
    if set(shapes) != {"x"} or len(shapes["x"]) != 3:
        raise ValueError(f"{who} needs one image component {{'x': (C, H, W)}}, got {shapes}")
    C, H, W = shapes["x"]
    return C, H, W


class ConvEncoder(nn.Module):
    """``ConvEncoder(shapes, channels, features)``: (C, H, W) -> conv 3×3 (c) -> stride-2 conv
    (2c) -> stride-2 conv (4c) -> linear to ``features``, LeakyReLU(0.2) throughout."""

    def __init__(self, shapes: dict[str, tuple[int, ...]], channels: int = 32, features: int = 256) -> None:
        super().__init__()
        C, H, W = _image_shape(shapes, "conv_encoder")
        at_least("channels", channels, 1)
        at_least("features", features, 1)
        c = channels
        self.convs = nn.Sequential(
            nn.Conv2d(C, c, 3, padding=1), nn.LeakyReLU(0.2),
            nn.Conv2d(c, 2 * c, 3, stride=2, padding=1), nn.LeakyReLU(0.2),  # (2c, ⌈H/2⌉, ⌈W/2⌉)
            nn.Conv2d(2 * c, 4 * c, 3, stride=2, padding=1), nn.LeakyReLU(0.2),  # (4c, ⌈H/4⌉, ⌈W/4⌉)
        )
        h, w = math.ceil(math.ceil(H / 2) / 2), math.ceil(math.ceil(W / 2) / 2)
        self.fc = nn.Sequential(nn.Linear(4 * c * h * w, features), nn.LeakyReLU(0.2))
        self.out_dim = features

    def forward(self, x: State) -> Tensor:
        h = self.convs(x.parts["x"])  # (B, 4c, h, w)
        return self.fc(h.flatten(1))  # (B, features)


class ConvDecoder(nn.Module):
    """``ConvDecoder(shapes, latent_dim, channels, n_params, out_activation)``: z -> linear to
    (4c, ⌈H/4⌉, ⌈W/4⌉) -> upsample + conv (2c) -> upsample to (H, W) + conv (c) -> conv to
    n_params·C channels."""

    def __init__(self, shapes: dict[str, tuple[int, ...]], latent_dim: int = 16, channels: int = 32,
                 n_params: int = 1, out_activation: str | None = None) -> None:
        super().__init__()
        self.C, self.H, self.W = _image_shape(shapes, "conv_decoder")
        at_least("latent_dim", latent_dim, 1)
        at_least("channels", channels, 1)
        at_least("n_params", n_params, 1)
        self.latent_dim, self.n_params = latent_dim, n_params
        c = channels
        self.mid = (math.ceil(self.H / 2), math.ceil(self.W / 2))
        self.low = (math.ceil(self.mid[0] / 2), math.ceil(self.mid[1] / 2))
        self.fc = nn.Sequential(nn.Linear(latent_dim, 4 * c * self.low[0] * self.low[1]), nn.LeakyReLU(0.2))
        self.conv1 = nn.Sequential(nn.Conv2d(4 * c, 2 * c, 3, padding=1), nn.LeakyReLU(0.2))
        self.conv2 = nn.Sequential(nn.Conv2d(2 * c, c, 3, padding=1), nn.LeakyReLU(0.2))
        self.out = nn.Conv2d(c, n_params * self.C, 3, padding=1)
        self.act = _check_activation(out_activation)

    def forward(self, z: Tensor) -> State:
        B = z.shape[0]
        h = self.fc(z).reshape(B, -1, *self.low)  # (B, 4c, ⌈H/4⌉, ⌈W/4⌉)
        h = self.conv1(F.interpolate(h, size=self.mid, mode="nearest"))  # (B, 2c, ⌈H/2⌉, ⌈W/2⌉)
        h = self.conv2(F.interpolate(h, size=(self.H, self.W), mode="nearest"))  # (B, c, H, W)
        out = self.act(self.out(h))  # (B, P·C, H, W)
        return State({"x": out.reshape(B, self.n_params, self.C, self.H, self.W)})
