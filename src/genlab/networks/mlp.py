"""A time-conditioned residual MLP for any state: all components are flattened, concatenated,
mapped, and split back (points; also works, slowly, for small images and graphs)."""

from __future__ import annotations

import math

from torch import Tensor, nn

from genlab.modalities.base import State
from genlab.networks.embedding import build_time_embedding
from genlab.utils.checks import at_least, non_negative


class _Block(nn.Module):
    """h + W₂ SiLU(W₁ SiLU(LN(h)) + U e_t): a pre-norm residual block with additive time input."""

    def __init__(self, hidden: int) -> None:
        super().__init__()
        self.norm = nn.LayerNorm(hidden)
        self.fc1 = nn.Linear(hidden, hidden)
        self.time = nn.Linear(hidden, hidden)
        self.fc2 = nn.Linear(hidden, hidden)
        self.act = nn.SiLU()

    def forward(self, h: Tensor, e_t: Tensor) -> Tensor:
        u = self.fc1(self.act(self.norm(h))) + self.time(e_t)  # (B, H)
        return h + self.fc2(self.act(u))


class TimeMLP(nn.Module):
    """``TimeMLP(shapes, hidden, depth, time_embedding, time_dim, aux_dim)``; see the registry."""

    def __init__(self, shapes: dict[str, tuple[int, ...]], hidden: int = 256, depth: int = 3,
                 time_embedding: str = "sinusoidal", time_dim: int = 64, aux_dim: int = 0) -> None:
        super().__init__()
        at_least("hidden", hidden, 1)
        at_least("depth", depth, 1)  # with no block, the output would not depend on t
        non_negative("aux_dim", aux_dim)
        self.shapes = {k: tuple(v) for k, v in shapes.items()}
        self.in_dim = sum(math.prod(s) for s in self.shapes.values())
        self.aux_dim = aux_dim
        self.embed = build_time_embedding(time_embedding, time_dim)
        self.time_mlp = nn.Sequential(nn.Linear(time_dim, hidden), nn.SiLU(), nn.Linear(hidden, hidden))
        self.inp = nn.Linear(self.in_dim, hidden)
        self.blocks = nn.ModuleList(_Block(hidden) for _ in range(depth))
        self.out = nn.Sequential(nn.LayerNorm(hidden), nn.SiLU(), nn.Linear(hidden, self.in_dim + aux_dim))

    def forward(self, state: State, t: Tensor) -> State:
        x = state.flatten()  # (B, D)
        e_t = self.time_mlp(self.embed(t))  # (B, H)
        h = self.inp(x)  # (B, H)
        for block in self.blocks:
            h = block(h, e_t)
        out = self.out(h)  # (B, D + aux)
        result = state.unflatten(out[:, : self.in_dim])
        if self.aux_dim:
            result.parts["aux"] = out[:, self.in_dim :]  # (B, aux)
        return result
