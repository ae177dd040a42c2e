"""Linear forward SDEs of Song et al. (2021), "Score-Based Generative Modeling through SDEs".

Each SDE is ``dx = f(t) x dt + g(t) dw`` (eq. 5) with a scalar drift coefficient f(t) and
diffusion g(t); the reverse-time SDE (eq. 6) and the probability-flow ODE (eq. 13) are derived
once, in :meth:`SDE.reverse_drift`, from (f, g) and a score:

    reverse SDE:  dx = [f(t) x - g(t)² ∇ log p_t(x)] dt + g(t) dw̄
    PF ODE:       dx = [f(t) x - ½ g(t)² ∇ log p_t(x)] dt

The perturbation kernels are Gaussian, x_t = m(t) x_0 + s(t) z (App. B), which is
all a training loss needs. ``d s²/dt = 2 f s² + g²`` holds for each (tested).
"""

from __future__ import annotations

import math

import torch
from torch import Tensor

from genlab.generative.processes.base import GaussianPath, PathSample
from genlab.registry import Registry
from genlab.utils.broadcast import expand_like
from genlab.utils.checks import at_most, less_than, non_negative, positive

#: continuous-time DSM weightings λ(t) (Song et al. 2021, eq. 7): name -> fn(sde, t) -> (B,)
SDE_WEIGHTINGS: Registry = Registry("sde weighting")


@SDE_WEIGHTINGS.register("sigma2")
def variance_weighting(sde: "SDE", t: Tensor) -> Tensor:
    """λ(t) = s(t)² ∝ 1 / E‖∇ log p_0t(x_t | x_0)‖² (Song et al. 2021, §3.3)."""
    return sde.marginal_coeffs(t)[1] ** 2


@SDE_WEIGHTINGS.register("g2")
def likelihood_weighting(sde: "SDE", t: Tensor) -> Tensor:
    """λ(t) = g(t)², the likelihood weighting (Song, Durkan, Murray & Ermon 2021, Thm. 1)."""
    return sde.diffusion(t) ** 2


class SDE(GaussianPath):
    """A linear SDE dx = f(t) x dt + g(t) dw on t ∈ [0, 1]."""

    def drift_coeff(self, t: Tensor) -> Tensor:
        """f(t), (B,)."""
        raise NotImplementedError

    def diffusion(self, t: Tensor) -> Tensor:
        """g(t), (B,)."""
        raise NotImplementedError

    def drift(self, x: Tensor, t: Tensor) -> Tensor:
        """f(x, t) = f(t) x."""
        return expand_like(self.drift_coeff(t), x) * x

    def reverse_drift(self, x: Tensor, t: Tensor, score: Tensor, probability_flow: bool = False) -> Tensor:
        """Drift of the reverse SDE (eq. 6) or, with ``probability_flow``, of the PF ODE (eq. 13)."""
        g2 = expand_like(self.diffusion(t) ** 2, x)
        return self.drift(x, t) - (0.5 if probability_flow else 1.0) * g2 * score

    def discretize(self, x: Tensor, t: Tensor, dt: float) -> tuple[Tensor, Tensor]:
        """The forward step t - dt -> t as x_t = x_{t-dt} + f_i + G_i z: returns (f_i, G_i (B,)).

        The default is Euler–Maruyama (f dt, g sqrt(dt)); VP and VE override it with the DDPM and
        SMLD discretizations (Song et al. 2021, App. E, used by the reverse-diffusion predictor).
        """
        return self.drift(x, t) * dt, self.diffusion(t) * math.sqrt(dt)

    def path(self, x_0: Tensor, z: Tensor, t: Tensor) -> PathSample:
        """x_t = m x_0 + s z; target ∇ log p_0t(x_t | x_0) = -z / s."""
        return PathSample(x_t=self.perturb(x_0, z, t), target=self.conditional_score(z, t))


class _BetaSchedule:
    """β(t) = β_min + t (β_max - β_min) and its integral B(t) = ∫_0^t β; the drift -½ β(t) x
    and the N(0, I) prior that VP and subVP share."""

    prior_std = 1.0

    def __init__(self, beta_min: float = 0.1, beta_max: float = 20.0) -> None:
        non_negative("beta_min", beta_min)
        positive("beta_max", beta_max)  # β ≡ 0 would leave the data unperturbed
        at_most("beta_min", beta_min, beta_max, bound="beta_max")
        self.beta_min, self.beta_max = beta_min, beta_max

    def drift_coeff(self, t: Tensor) -> Tensor:
        return -0.5 * self.beta(t)

    def beta(self, t: Tensor) -> Tensor:
        return self.beta_min + t * (self.beta_max - self.beta_min)

    def beta_integral(self, t: Tensor) -> Tensor:
        return self.beta_min * t + 0.5 * t**2 * (self.beta_max - self.beta_min)


class VPSDE(_BetaSchedule, SDE):
    """Variance preserving: dx = -½ β(t) x dt + sqrt(β(t)) dw (eq. 11)."""

    def diffusion(self, t: Tensor) -> Tensor:
        return self.beta(t).sqrt()

    def marginal_coeffs(self, t: Tensor) -> tuple[Tensor, Tensor]:
        m = torch.exp(-0.5 * self.beta_integral(t))  # (B,)
        return m, (1 - m**2).clamp_min(0).sqrt()

    def discretize(self, x: Tensor, t: Tensor, dt: float) -> tuple[Tensor, Tensor]:
        """DDPM discretization: f_i = (sqrt(1 - β_i) - 1) x, G_i = sqrt(β_i), with
        β_i = 1 - exp(-β(t) dt) (≈ β(t) dt; stays below 1 for coarse steps)."""
        beta_i = -torch.expm1(-self.beta(t) * dt)  # (B,)
        return expand_like((1 - beta_i).sqrt() - 1, x) * x, beta_i.sqrt()


class SubVPSDE(_BetaSchedule, SDE):
    """Sub-VP: dx = -½ β x dt + sqrt(β(t)(1 - e^{-2B(t)})) dw (eq. 12)."""

    def diffusion(self, t: Tensor) -> Tensor:
        return (self.beta(t) * (1 - torch.exp(-2 * self.beta_integral(t)))).sqrt()

    def marginal_coeffs(self, t: Tensor) -> tuple[Tensor, Tensor]:
        m = torch.exp(-0.5 * self.beta_integral(t))
        return m, 1 - m**2


class VESDE(SDE):
    """Variance exploding: dx = sqrt(d σ²(t)/dt) dw, σ(t) = σ_min (σ_max/σ_min)^t (eq. 9).

    As in Song et al.'s code, the kernel is taken as N(x_0, σ(t)² I), which is exact for the SDE
    started from p_data * N(0, σ_min² I); with σ_min ≈ 0.01 the difference is negligible.
    """

    def __init__(self, sigma_min: float = 0.01, sigma_max: float = 50.0) -> None:
        positive("sigma_min", sigma_min)
        less_than("sigma_min", sigma_min, sigma_max, bound="sigma_max")
        self.sigma_min, self.sigma_max = sigma_min, sigma_max
        self.prior_std = sigma_max

    def sigma(self, t: Tensor) -> Tensor:
        return self.sigma_min * (self.sigma_max / self.sigma_min) ** t

    def drift_coeff(self, t: Tensor) -> Tensor:
        return torch.zeros_like(t)

    def diffusion(self, t: Tensor) -> Tensor:
        return self.sigma(t) * math.sqrt(2 * math.log(self.sigma_max / self.sigma_min))

    def marginal_coeffs(self, t: Tensor) -> tuple[Tensor, Tensor]:
        return torch.ones_like(t), self.sigma(t)

    def discretize(self, x: Tensor, t: Tensor, dt: float) -> tuple[Tensor, Tensor]:
        """SMLD discretization: f_i = 0, G_i = sqrt(σ(t)² - σ(t - dt)²)."""
        return torch.zeros_like(x), (self.sigma(t) ** 2 - self.sigma(t - dt) ** 2).clamp_min(0).sqrt()
