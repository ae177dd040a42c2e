"""Discrete-time samplers on a DDPM schedule: ancestral (Ho et al. 2020) and DDIM (Song, Meng &
Ermon 2021), both on an optionally respaced step lattice (Nichol & Dhariwal 2021, §4)."""

from __future__ import annotations

import torch
from torch import Tensor

from genlab.modalities.base import Modality, State
from genlab.generative.processes.ddpm import DDPMProcess
from genlab.registry import Registry
from genlab.generative.samplers.base import CountedFn, ModelFn, SamplerOutput
from genlab.utils.broadcast import expand_like
from genlab.utils.checks import at_least, at_most, non_negative, one_of

#: reverse-step variance σ_i² of the ancestral sampler (Ho et al. 2020, §3.2):
#: name -> fn(ᾱ_t, ᾱ_prev) -> (B,)
ANCESTRAL_VARIANCES: Registry[Tensor] = Registry("ancestral variance")


@ANCESTRAL_VARIANCES.register("beta")
def beta_variance(alpha_bar_t: Tensor, alpha_bar_prev: Tensor) -> Tensor:
    """σ² = β (optimal for x_0 ~ N(0, I))."""
    return 1 - alpha_bar_t / alpha_bar_prev


@ANCESTRAL_VARIANCES.register("beta_tilde")
def posterior_variance(alpha_bar_t: Tensor, alpha_bar_prev: Tensor) -> Tensor:
    """σ² = β̃ = (1 - ᾱ_prev)/(1 - ᾱ_t) β (optimal for a deterministic x_0; eq. 7)."""
    return (1 - alpha_bar_prev) / (1 - alpha_bar_t) * (1 - alpha_bar_t / alpha_bar_prev)


def check_steps(process: DDPMProcess, steps: int | None) -> None:
    """``steps`` (None: all N) must pick distinct lattice points, so 1 ≤ steps ≤ N."""
    if steps is not None:
        at_least("steps", steps, 1)
        at_most("steps", steps, process.n_steps, bound="the process's n_steps")


def ddpm_ancestral(eps_fn: ModelFn, process: DDPMProcess, x_1: State, modality: Modality,
                   steps: int | None = None, variance: str = "beta",
                   generator: torch.Generator | None = None) -> SamplerOutput:
    """Ho et al. (2020), Algorithm 2:
    x_{i-1} = (x_i - β_i/sqrt(1 - ᾱ_i) ε_θ(x_i, i)) / sqrt(α_i) + σ_i z, no noise at the last step.
    With ``steps < N`` the step uses α = ᾱ_t/ᾱ_prev between lattice points t > t_prev."""
    check_steps(process, steps)
    one_of("variance", variance, ANCESTRAL_VARIANCES.names())
    eps_fn = CountedFn(eps_fn)
    sigma2_fn = ANCESTRAL_VARIANCES.get(variance)
    times = process.times(steps).to(x_1.device)  # (S+1,) from 1 down to 0
    B = x_1.batch_size
    x = x_1
    for t, t_prev in zip(times[:-1], times[1:]):
        t_b, t_prev_b = t.expand(B), t_prev.expand(B)  # (B,)
        ab_t, ab_prev = process.alpha_bar(t_b), process.alpha_bar(t_prev_b)  # (B,)
        alpha = ab_t / ab_prev  # (B,)
        eps = eps_fn(x, t_b)
        mean = x.map(lambda v, e: (v - expand_like((1 - alpha) / (1 - ab_t).sqrt(), e) * e)
                     / expand_like(alpha.sqrt(), v), eps)
        if t_prev > 0:
            sigma = sigma2_fn(ab_t, ab_prev).sqrt()  # (B,)
            x = mean.map(lambda m, z: m + expand_like(sigma, z) * z, modality.noise(mean, generator))
        else:
            x = mean
        x = modality.project(x)
    return SamplerOutput(x=x, nfe=eps_fn.nfe)


def ddim(eps_fn: ModelFn, process: DDPMProcess, x_1: State, modality: Modality,
         steps: int | None = None, eta: float = 0.0,
         generator: torch.Generator | None = None) -> SamplerOutput:
    """Song, Meng & Ermon (2021), eq. 12:
    x_prev = sqrt(ᾱ_prev) x̂_0 + sqrt(1 - ᾱ_prev - σ²) ε_θ + σ z,
    x̂_0 = (x_t - sqrt(1 - ᾱ_t) ε_θ)/sqrt(ᾱ_t), σ = η sqrt((1-ᾱ_prev)/(1-ᾱ_t)) sqrt(1 - ᾱ_t/ᾱ_prev)
    (eq. 16); η = 0 is the deterministic DDIM."""
    check_steps(process, steps)
    non_negative("eta", eta)
    eps_fn = CountedFn(eps_fn)
    times = process.times(steps).to(x_1.device)  # (S+1,)
    B = x_1.batch_size
    x = x_1
    for t, t_prev in zip(times[:-1], times[1:]):
        t_b, t_prev_b = t.expand(B), t_prev.expand(B)
        ab_t, ab_prev = process.alpha_bar(t_b), process.alpha_bar(t_prev_b)  # (B,)
        sigma = eta * ((1 - ab_prev) / (1 - ab_t) * (1 - ab_t / ab_prev)).clamp_min(0).sqrt()  # (B,)
        eps = eps_fn(x, t_b)
        x0_hat = x.map(lambda v, e: (v - expand_like((1 - ab_t).sqrt(), v) * e) / expand_like(ab_t.sqrt(), v), eps)
        direction = (1 - ab_prev - sigma**2).clamp_min(0).sqrt()  # (B,)
        x = x0_hat.map(lambda x0, e: expand_like(ab_prev.sqrt(), x0) * x0 + expand_like(direction, e) * e, eps)
        if eta > 0 and t_prev > 0:
            x = x.map(lambda v, z: v + expand_like(sigma, z) * z, modality.noise(x, generator))
        x = modality.project(x)
    return SamplerOutput(x=x, nfe=eps_fn.nfe)
