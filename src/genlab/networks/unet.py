"""A small time-conditioned U-Net for (C, H, W) images such as 8×8 digits or 28×28 MNIST.

After Ho et al. (2020), App. B (a PixelCNN++-style U-Net), reduced: residual blocks with
GroupNorm and an additive time embedding, ``len(channel_mults) - 1`` stride-2 downsamplings
(8 → 4 → 2, 28 → 14 → 7), nearest-neighbour upsampling to the skip's size, no attention.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from genlab.modalities.base import State
from genlab.networks.embedding import build_time_embedding
from genlab.utils.checks import ImpossibleValue, at_least, in_unit_interval, non_negative


def _norm(channels: int, groups: int) -> nn.GroupNorm:
    g = groups
    while channels % g:
        g -= 1
    return nn.GroupNorm(g, channels)


class _ResBlock(nn.Module):
    def __init__(self, c_in: int, c_out: int, t_dim: int, groups: int, dropout: float) -> None:
        super().__init__()
        self.norm1, self.conv1 = _norm(c_in, groups), nn.Conv2d(c_in, c_out, 3, padding=1)
        self.time = nn.Linear(t_dim, c_out)
        self.norm2, self.conv2 = _norm(c_out, groups), nn.Conv2d(c_out, c_out, 3, padding=1)
        self.drop = nn.Dropout(dropout)
        self.skip = nn.Conv2d(c_in, c_out, 1) if c_in != c_out else nn.Identity()

    def forward(self, x: Tensor, e_t: Tensor) -> Tensor:
        h = self.conv1(F.silu(self.norm1(x)))  # (B, c_out, H, W)
        h = h + self.time(e_t)[:, :, None, None]
        h = self.conv2(self.drop(F.silu(self.norm2(h))))
        return self.skip(x) + h


class UNet(nn.Module):
    """``UNet(shapes, base_channels, channel_mults, time_embedding, time_dim, aux_dim, groups,
    dropout)``; ``shapes`` must be ``{"x": (C, H, W)}``."""

    def __init__(self, shapes: dict[str, tuple[int, ...]], base_channels: int = 32,
                 channel_mults: list[int] | tuple[int, ...] = (1, 2, 2), time_embedding: str = "sinusoidal",
                 time_dim: int = 64, aux_dim: int = 0, groups: int = 8, dropout: float = 0.0) -> None:
        super().__init__()
        if set(shapes) != {"x"} or len(shapes["x"]) != 3:
            raise ValueError(f"UNet needs one image component {{'x': (C, H, W)}}, got {shapes}")
        at_least("base_channels", base_channels, 1)
        if not channel_mults or not all(isinstance(m, int) and not isinstance(m, bool) and m >= 1
                                        for m in channel_mults):
            raise ImpossibleValue("channel_mults", "must be a non-empty list of integers ≥ 1", channel_mults)
        non_negative("aux_dim", aux_dim)
        at_least("groups", groups, 1)
        in_unit_interval("dropout", dropout, closed_high=False)
        channels = shapes["x"][0]
        t_hidden = 4 * base_channels
        self.embed = build_time_embedding(time_embedding, time_dim)
        self.time_mlp = nn.Sequential(nn.Linear(time_dim, t_hidden), nn.SiLU(), nn.Linear(t_hidden, t_hidden))
        widths = [base_channels * m for m in channel_mults]
        self.conv_in = nn.Conv2d(channels, widths[0], 3, padding=1)
        self.down = nn.ModuleList()
        self.downsample = nn.ModuleList()
        c = widths[0]
        for i, w in enumerate(widths):
            self.down.append(_ResBlock(c, w, t_hidden, groups, dropout))
            c = w
            if i < len(widths) - 1:
                self.downsample.append(nn.Conv2d(c, c, 3, stride=2, padding=1))
        self.mid = _ResBlock(c, c, t_hidden, groups, dropout)
        self.up = nn.ModuleList()
        self.upsample = nn.ModuleList()
        for i, w in reversed(list(enumerate(widths))):
            self.up.append(_ResBlock(c + w, w, t_hidden, groups, dropout))
            c = w
            if i > 0:
                self.upsample.append(nn.Conv2d(c, c, 3, padding=1))
        self.out = nn.Sequential(_norm(c, groups), nn.SiLU(), nn.Conv2d(c, channels, 3, padding=1))
        self.aux = nn.Linear(widths[-1], aux_dim) if aux_dim else None

    def forward(self, state: State, t: Tensor) -> State:
        x = state.parts["x"]  # (B, C, H, W)
        e_t = self.time_mlp(self.embed(t))  # (B, 4·base)
        h = self.conv_in(x)
        skips = []
        for i, block in enumerate(self.down):
            h = block(h, e_t)
            skips.append(h)
            if i < len(self.downsample):
                h = self.downsample[i](h)  # (B, c, ⌈H/2⌉, ⌈W/2⌉)
        h = self.mid(h, e_t)  # (B, c_max, h, w)
        bottleneck = h
        for i, block in enumerate(self.up):
            skip = skips.pop()
            if h.shape[-2:] != skip.shape[-2:]:
                h = self.upsample[i - 1](F.interpolate(h, size=skip.shape[-2:], mode="nearest"))
            h = block(torch.cat([h, skip], dim=1), e_t)
        result = state.with_parts({"x": self.out(h)})  # (B, C, H, W)
        if self.aux is not None:
            result.parts["aux"] = self.aux(bottleneck.mean(dim=(2, 3)))  # (B, aux)
        return result
