"""DDPM forward process with linear (Ho et al. 2020) or cosine (Nichol & Dhariwal 2021) schedules.

Ho et al. (2020), eq. 4: ``q(x_i | x_0) = N(sqrt(ᾱ_i) x_0, (1 - ᾱ_i) I)`` with
``ᾱ_i = ∏_{k<=i} (1 - β_k)``; the network regresses ε (eq. 14). Steps i = 1..N sit at
``t = i / N`` (:mod:`genlab.generative.processes.time`); ``ᾱ(t = 0) = 1`` is the data.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor

from genlab.generative.processes.base import GaussianPath, PathSample
from genlab.registry import Registry
from genlab.utils.broadcast import expand_like
from genlab.utils.checks import at_least, at_most, less_than, non_negative, one_of

#: name -> function (n_steps, beta_min, beta_max, cosine_s) -> betas (N,) float64
BETA_SCHEDULES: Registry = Registry("beta schedule")


@BETA_SCHEDULES.register("linear")
def linear_betas(n_steps: int, beta_min: float, beta_max: float, cosine_s: float) -> Tensor:
    """Ho et al. (2020), §4: β_i linear from β_1 = beta_min to β_N = beta_max."""
    return torch.linspace(beta_min, beta_max, n_steps, dtype=torch.float64)


@BETA_SCHEDULES.register("cosine")
def cosine_betas(n_steps: int, beta_min: float, beta_max: float, cosine_s: float) -> Tensor:
    """Nichol & Dhariwal (2021), eq. 17: ᾱ(i) = f(i)/f(0), f(i) = cos²((i/N + s)/(1 + s) · π/2),
    β_i = 1 - ᾱ_i/ᾱ_{i-1} clipped to 0.999."""
    i = torch.arange(n_steps + 1, dtype=torch.float64)  # (N+1,)
    f = torch.cos((i / n_steps + cosine_s) / (1 + cosine_s) * math.pi / 2) ** 2
    alpha_bar = f / f[0]
    return (1 - alpha_bar[1:] / alpha_bar[:-1]).clamp(max=0.999)


class DDPMProcess(GaussianPath):
    """Discrete-time variance-preserving process; all quantities are looked up at i = round(tN)."""

    prior_std = 1.0

    def __init__(self, schedule: str = "linear", n_steps: int = 1000, beta_min: float = 1e-4,
                 beta_max: float = 0.02, cosine_s: float = 0.008) -> None:
        one_of("schedule", schedule, BETA_SCHEDULES.names())
        at_least("n_steps", n_steps, 1)
        non_negative("beta_min", beta_min)
        at_most("beta_min", beta_min, beta_max, bound="beta_max")
        less_than("beta_max", beta_max, 1.0)  # β = 1 would erase the data in one step (ᾱ = 0)
        non_negative("cosine_s", cosine_s)
        self.schedule = schedule
        self.n_steps = n_steps
        betas = BETA_SCHEDULES.get(schedule)(n_steps, beta_min, beta_max, cosine_s)  # (N,)
        alpha_bar = torch.cumprod(1 - betas, dim=0)  # (N,)
        # index 0 is the data (ᾱ_0 = 1), index i = 1..N the noisy steps
        self._alpha_bar = torch.cat([torch.ones(1, dtype=torch.float64), alpha_bar])  # (N+1,)

    def index(self, t: Tensor) -> Tensor:
        """Step index i = round(t N) ∈ {0..N}, (B,) long."""
        return torch.round(t.double() * self.n_steps).long().clamp(0, self.n_steps)

    def times(self, steps: int | None = None) -> Tensor:
        """Sampling grid t_N = 1 > ... > t_0 = 0 on the step lattice, (steps+1,).

        ``steps < N`` gives an evenly respaced subsequence (Nichol & Dhariwal 2021, §4).
        """
        steps = self.n_steps if steps is None else steps
        i = torch.round(torch.linspace(self.n_steps, 0, steps + 1, dtype=torch.float64)).long()
        return (i.double() / self.n_steps).float()

    def sample_times(self, n: int, device: torch.device | str = "cpu",
                     generator: torch.Generator | None = None) -> Tensor:
        """Training times t = i/N with i ~ U{1..N} (Ho et al. Algorithm 1), (n,)."""
        dev = device if generator is None else generator.device
        i = torch.randint(1, self.n_steps + 1, (n,), generator=generator, device=dev).to(device)
        return i.float() / self.n_steps

    def alpha_bar(self, t: Tensor) -> Tensor:
        """ᾱ(t), (B,); ᾱ(0) = 1."""
        return self._alpha_bar.to(t.device)[self.index(t).to(t.device)].float()

    def marginal_coeffs(self, t: Tensor) -> tuple[Tensor, Tensor]:
        alpha_bar = self.alpha_bar(t)  # (B,)
        return alpha_bar.sqrt(), (1 - alpha_bar).sqrt()

    def path(self, x_0: Tensor, eps: Tensor, t: Tensor) -> PathSample:
        """x_t = sqrt(ᾱ) x_0 + sqrt(1-ᾱ) ε (Ho et al. eq. 4); the regression target is ε (eq. 14)."""
        return PathSample(x_t=self.perturb(x_0, eps, t), target=eps)

    def score_from_eps(self, eps: Tensor, t: Tensor) -> Tensor:
        """∇ log q(x_t) ≈ -ε / sqrt(1 - ᾱ(t))."""
        return self.conditional_score(eps, t)

    def eps_from_score(self, score: Tensor, t: Tensor) -> Tensor:
        """ε = -sqrt(1 - ᾱ(t)) ∇ log q(x_t)."""
        _, s = self.marginal_coeffs(t)
        return -expand_like(s, score) * score
