"""The mixture path of discrete flow matching (Campbell et al. 2024, "Generative flows on discrete
state-spaces"; Gat et al. 2024, "Discrete flow matching"), in genlab's time.

Each categorical variable (an atom's class, a pair's edge class) is, at time t, its clean value
with probability 1 - κ(t) and a draw from the prior π with probability κ(t):

    p_t(x | x_0) = (1 - κ(t)) δ_{x_0}(x) + κ(t) π(x),      κ(0) = 0 (data),  κ(1) = 1 (prior).

π is the marginal class distribution of the training data, the noise DiGress (Vignac et al. 2023)
found better than uniform noise and DeFoG (Qin et al. 2025) starts its flows from.

**Reverse step.** Give each variable a uniform switch U and a prior draw z, and let it be clean
while U > κ(t). Then from t down to s < t a variable that is noisy at t becomes clean with
probability λ = (κ(t) - κ(s)) / κ(t) and otherwise keeps its value, so

    p(x_s | x_t, x_0) = (1 - λ) δ_{x_t} + λ δ_{x_0}          (also when x_t = x_0 by chance),

and with the network's p̂(x_0 | x_t) in place of the unknown x_0,

    p(x_s | x_t) = (1 - λ) δ_{x_t} + λ p̂(· | x_t).

For κ(t) = t this is the Euler step of Campbell et al.'s rate R_t(x → j) = p̂(j | x_t) / t (written
in data-time 1 - t there) and exact for any step size; the last step (s = 0, λ = 1) draws every
variable from p̂.

Everything acts on probability vectors whose **last axis is the class**; t enters through
:func:`~genlab.utils.broadcast.expand_like`, so any number of leading axes works.
"""

from __future__ import annotations

import math
from typing import Callable

import torch
from torch import Tensor

from genlab.utils.broadcast import expand_like
from genlab.utils.checks import one_of

#: κ(t): the fraction of variables that are prior draws at time t; κ(0) = 0, κ(1) = 1
KAPPAS: dict[str, Callable[[Tensor], Tensor]] = {
    "linear": lambda t: t,
    "cosine": lambda t: 1.0 - torch.cos(0.5 * math.pi * t),  # slower corruption near the data
}


class DiscreteFlowProcess:
    """``DiscreteFlowProcess(schedule)``: the mixture path above with κ from :data:`KAPPAS`."""

    def __init__(self, schedule: str = "linear") -> None:
        one_of("schedule", schedule, KAPPAS)
        self.schedule = schedule
        self.kappa = KAPPAS[schedule]

    def corrupt(self, p_0: Tensor, prior: Tensor, t: Tensor) -> Tensor:
        """p_t(· | x_0) = (1 - κ(t)) p_0 + κ(t) π, with p_0 one-hot (or any distribution), (B, ..., C)."""
        k = expand_like(self.kappa(t), p_0)  # (B, 1, ..., 1)
        return (1 - k) * p_0 + k * prior

    def reverse_step(self, p_t: Tensor, p_0_hat: Tensor, t: Tensor, s: Tensor) -> Tensor:
        """p(x_s | x_t) = (1 - λ) p_t + λ p̂_0 with λ = (κ(t) - κ(s)) / κ(t); ``p_t`` is the one-hot
        of x_t, ``p_0_hat`` the network's p(x_0 | x_t); t, s (B,) with s < t."""
        k_t, k_s = self.kappa(t), self.kappa(s)  # (B,)
        lam = expand_like((k_t - k_s) / k_t.clamp(min=1e-12), p_t)  # (B, 1, ..., 1)
        return (1 - lam) * p_t + lam * p_0_hat
