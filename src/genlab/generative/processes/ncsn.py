"""NCSN noise ladder (Song & Ermon 2019): a geometric sequence of noise levels.

σ_1 > σ_2 > ... > σ_L with σ_i / σ_{i+1} constant (§4.2). Perturbation
``q_σ(x̃ | x) = N(x, σ² I)``; the denoising score-matching target is
``∇ log q_σ(x̃ | x) = -(x̃ - x)/σ²`` (eq. 5) with weight ``λ(σ) = σ²`` (eq. 6).
Level i sits at ``t_i = (L - i + 1)/L`` (:mod:`genlab.generative.processes.time`); between levels σ(t)
interpolates geometrically, so σ(1) = σ_max and σ(1/L) = σ_min.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor

from genlab.generative.processes.base import GaussianPath, PathSample
from genlab.utils.checks import at_least, less_than, positive


class NCSNProcess(GaussianPath):
    """Geometric σ ladder of ``n_levels`` levels between ``sigma_max`` and ``sigma_min``."""

    def __init__(self, sigma_min: float = 0.01, sigma_max: float = 1.0, n_levels: int = 10) -> None:
        positive("sigma_min", sigma_min)
        less_than("sigma_min", sigma_min, sigma_max, bound="sigma_max")
        at_least("n_levels", n_levels, 2)
        self.sigma_min, self.sigma_max, self.n_levels = sigma_min, sigma_max, n_levels
        self.prior_std = sigma_max

    @property
    def sigmas(self) -> Tensor:
        """σ_1 = σ_max > ... > σ_L = σ_min, (L,)."""
        return torch.exp(torch.linspace(math.log(self.sigma_max), math.log(self.sigma_min), self.n_levels))

    @property
    def level_times(self) -> Tensor:
        """t_i = (L - i + 1)/L for i = 1..L, (L,): 1, (L-1)/L, ..., 1/L."""
        L = self.n_levels
        return torch.arange(L, 0, -1, dtype=torch.float32) / L

    def sigma(self, t: Tensor) -> Tensor:
        """σ(t), geometric in t with σ(t_i) = σ_i, (B,)."""
        L = self.n_levels
        frac = (t * L - 1) / (L - 1)  # 0 at σ_min (t = 1/L), 1 at σ_max (t = 1)
        return self.sigma_min * (self.sigma_max / self.sigma_min) ** frac

    def sample_levels(self, n: int, device: torch.device | str = "cpu",
                      generator: torch.Generator | None = None) -> Tensor:
        """Times of uniformly drawn levels i ~ U{1..L}, (n,)."""
        dev = device if generator is None else generator.device
        i = torch.randint(1, self.n_levels + 1, (n,), generator=generator, device=dev).to(device)
        return (self.n_levels - i + 1).float() / self.n_levels

    def marginal_coeffs(self, t: Tensor) -> tuple[Tensor, Tensor]:
        return torch.ones_like(t), self.sigma(t)

    def weight(self, t: Tensor) -> Tensor:
        """λ(σ) = σ² (Song & Ermon 2019, §4.2), (B,)."""
        return self.sigma(t) ** 2

    def path(self, x_0: Tensor, z: Tensor, t: Tensor) -> PathSample:
        """x̃ = x + σ z; target ∇ log q_σ(x̃ | x) = -z/σ (eq. 5)."""
        return PathSample(x_t=self.perturb(x_0, z, t), target=self.conditional_score(z, t))
