"""The one time convention of genlab: ``t ∈ [0, 1]``, ``t = 0`` is data, ``t = 1`` is the prior.

Every process, sampler, network and family in genlab uses this convention; papers that index
time differently are mapped onto it here, once:

=================  ==========================================================================
process            paper quantity -> t
=================  ==========================================================================
DDPM               discrete step i = 1..N (Ho et al. 2020) -> t = i / N; i = 0 (data) -> t = 0
NCSN               level i = 1..L with σ_1 > ... > σ_L (Song & Ermon 2019) ->
                   t_i = (L - i + 1) / L, so σ_1 = σ_max sits at t = 1 and σ_L = σ_min at 1/L
VP / subVP / VE    already t ∈ [0, 1] with t = 0 data (Song et al. 2021); sampling stops at
                   ``t_eps`` > 0
flow matching      x_t = (1 - t) x_0 + t x_1 with x_0 data and x_1 prior noise; Lipman et al.
                   (2023) write the reverse (t = 1 data), so their t is our 1 - t
PFGM               augmented coordinate z ∈ [z_min, z_max] (Xu et al. 2022) ->
                   t = log(z / z_min) / log(z_max / z_min), i.e. z(t) = z_min (z_max/z_min)^t
=================  ==========================================================================

Samplers therefore always run ``for t in steps:`` over a *decreasing* grid from 1 towards 0.
"""

from __future__ import annotations

import torch
from torch import Tensor

from genlab.utils.checks import at_least, in_unit_interval, positive

#: time of the data distribution
T_DATA: float = 0.0
#: time of the prior distribution
T_PRIOR: float = 1.0


def reverse_grid(steps: int, t_end: float = T_DATA, t_start: float = T_PRIOR,
                 device: torch.device | str = "cpu", power: float = 1.0) -> Tensor:
    """``steps + 1`` times from ``t_start`` (prior) down to ``t_end``, (steps+1,):
    t_k = t_end + (t_start - t_end)(1 - k/steps)^power. ``power = 1`` spaces them equally;
    ``power > 1`` crowds them towards the data (the sample-time distortion of DeFoG, Qin et al.
    2025: their "polydec" is power 2)."""
    at_least("steps", steps, 1)
    positive("power", power)
    if power == 1.0:
        return torch.linspace(t_start, t_end, steps + 1, device=device, dtype=torch.float64).float()
    u = torch.linspace(0.0, 1.0, steps + 1, device=device, dtype=torch.float64)  # (S+1,)
    return (t_end + (t_start - t_end) * (1.0 - u) ** power).float()


def uniform_times(n: int, t_eps: float = 0.0, device: torch.device | str = "cpu",
                  generator: torch.Generator | None = None) -> Tensor:
    """Training times t ~ U(t_eps, 1), (n,)."""
    in_unit_interval("t_eps", t_eps, closed_high=False)
    u = torch.rand(n, generator=generator,
                   device=device if generator is None else generator.device).to(device)  # (n,)
    return t_eps + (T_PRIOR - t_eps) * u
