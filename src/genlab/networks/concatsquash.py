"""The ConcatSquash MLP of FFJORD (Grathwohl et al. 2019, App. B.1): an ODE function v(x, t)
that is smooth in both x and t.

Each layer gates a linear map of h by a sigmoid of t and adds a bias linear in t,

    ConcatSquash(h, t) = (W h + b) ⊙ σ(w_g t + b_g) + w_b t,

with softplus or tanh between layers. Unlike the sinusoidal embedding of diffusion networks
(frequencies up to 1000 per unit time, :mod:`genlab.networks.embedding`), t enters through slow
functions, so adaptive solvers — and the backward adjoint solve in particular — take few steps.
Registered as ``concatsquash``; the network contract is :mod:`genlab.networks.registry`'s.
"""

from __future__ import annotations

import math

from torch import Tensor, nn

from genlab.modalities.base import State
from genlab.utils.checks import at_least, one_of

_ACTIVATIONS = {"softplus": nn.Softplus, "tanh": nn.Tanh}


class ConcatSquashLinear(nn.Module):
    """(W h + b) ⊙ σ(w_g t + b_g) + w_b t for h (B, in), t (B,) -> (B, out)."""

    def __init__(self, dim_in: int, dim_out: int) -> None:
        super().__init__()
        self.linear = nn.Linear(dim_in, dim_out)
        self.gate = nn.Linear(1, dim_out)
        self.bias = nn.Linear(1, dim_out, bias=False)

    def forward(self, h: Tensor, t: Tensor) -> Tensor:
        t = t.reshape(-1, 1).to(h)  # (B, 1)
        return self.linear(h) * self.gate(t).sigmoid() + self.bias(t)  # (B, out)


class ConcatSquashMLP(nn.Module):
    """``ConcatSquashMLP(shapes, hidden, depth, activation)``: ``depth`` hidden layers."""

    def __init__(self, shapes: dict[str, tuple[int, ...]], hidden: int = 64, depth: int = 3,
                 activation: str = "softplus") -> None:
        super().__init__()
        at_least("hidden", hidden, 1)
        at_least("depth", depth, 0)  # depth 0: one ConcatSquash layer, a field linear in x
        one_of("activation", activation, _ACTIVATIONS)
        dim = sum(math.prod(s) for s in shapes.values())
        widths = [dim] + [hidden] * depth + [dim]
        self.layers = nn.ModuleList(ConcatSquashLinear(a, b) for a, b in zip(widths[:-1], widths[1:]))
        self.act = _ACTIVATIONS[activation]()

    def forward(self, state: State, t: Tensor) -> State:
        h = state.flatten()  # (B, D)
        for i, layer in enumerate(self.layers):
            h = layer(h, t)
            if i < len(self.layers) - 1:
                h = self.act(h)
        return state.unflatten(h)  # (B, D) back to the state's components
