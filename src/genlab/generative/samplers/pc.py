"""Predictor–corrector sampling for SDEs (Song et al. 2021, §4.2, Algorithms 2–5).

Predictors (one reverse-time step t -> t - dt) and correctors (score-based MCMC at fixed t) are
registries, so reverse-diffusion + Langevin (PC), Euler–Maruyama alone and Langevin alone are
settings of one loop::

    for t in steps:
        for _ in range(n_corrector_steps): x, x_mean = corrector(x, t)
        x, x_mean = predictor(x, t, dt)

Predictor signature ``(x, t, dt, score_fn, sde, modality, generator) -> (x, x_mean)``; corrector
signature ``(x, t, score_fn, modality, snr, generator) -> (x, x_mean)``. ``x_mean`` is the update
without its noise term, returned at the end when ``denoise`` is set.
"""

from __future__ import annotations

import math
from typing import Callable

import torch
from torch import Tensor

from genlab.modalities.base import Modality, State
from genlab.generative.processes.sde import SDE
from genlab.generative.processes.time import reverse_grid
from genlab.registry import Registry
from genlab.generative.samplers.base import CountedFn, ModelFn, SamplerOutput
from genlab.utils.broadcast import expand_like
from genlab.utils.checks import at_least, in_unit_interval, non_negative, one_of

PREDICTORS: Registry[Callable[..., tuple[State, State]]] = Registry("predictor")
CORRECTORS: Registry[Callable[..., tuple[State, State]]] = Registry("corrector")


@PREDICTORS.register("euler_maruyama")
def euler_maruyama(x: State, t: Tensor, dt: float, score_fn: ModelFn, sde: SDE, modality: Modality,
                   generator: torch.Generator | None) -> tuple[State, State]:
    """x_mean = x - [f - g² s] dt;  x = x_mean + g sqrt(dt) z (Euler–Maruyama on eq. 6)."""
    score = score_fn(x, t)
    x_mean = x.map(lambda v, s: v - sde.reverse_drift(v, t, s) * dt, score)
    g = sde.diffusion(t) * math.sqrt(dt)  # (B,)
    x_new = x_mean.map(lambda m, z: m + expand_like(g, z) * z, modality.noise(x, generator))
    return modality.project(x_new), modality.project(x_mean)


@PREDICTORS.register("reverse_diffusion")
def reverse_diffusion(x: State, t: Tensor, dt: float, score_fn: ModelFn, sde: SDE, modality: Modality,
                      generator: torch.Generator | None) -> tuple[State, State]:
    """Song et al. (2021), App. E (reverse diffusion): x_mean = x - f_i + G_i² s;  x = x_mean + G_i z, with (f_i, G_i)
    the SDE's own discretization (:meth:`SDE.discretize`)."""
    score = score_fn(x, t)
    z = modality.noise(x, generator)
    mean_parts, new_parts = {}, {}
    for k, v in x.parts.items():
        f_i, G_i = sde.discretize(v, t, dt)  # f_i like v, G_i (B,)
        G = expand_like(G_i, v)
        mean_parts[k] = v - f_i + G**2 * score.parts[k]
        new_parts[k] = mean_parts[k] + G * z.parts[k]
    return modality.project(x.with_parts(new_parts)), modality.project(x.with_parts(mean_parts))


@PREDICTORS.register("none")
def no_predictor(x: State, t: Tensor, dt: float, score_fn: ModelFn, sde: SDE, modality: Modality,
                 generator: torch.Generator | None) -> tuple[State, State]:
    return x, x


@CORRECTORS.register("langevin")
def langevin(x: State, t: Tensor, score_fn: ModelFn, modality: Modality, snr: float,
             generator: torch.Generator | None) -> tuple[State, State]:
    """Song et al. (2021), Algorithm 5 with α = 1: ε = 2 (r ‖z‖/‖s‖)², x_mean = x + ε s,
    x = x_mean + sqrt(2ε) z. As in the authors' code the norms are batch means of per-sample
    norms: a per-sample ratio explodes where the score vanishes (mode centres in low dimension)."""
    score = score_fn(x, t)
    z = modality.noise(x, generator)
    ratio = z.flatten().norm(dim=1).mean() / score.flatten().norm(dim=1).mean().clamp_min(1e-12)
    eps = (2 * (snr * ratio) ** 2).expand(x.batch_size)  # (B,)
    x_mean = x.map(lambda v, s: v + expand_like(eps, s) * s, score)
    x_new = x_mean.map(lambda m, n: m + expand_like((2 * eps).sqrt(), n) * n, z)
    return modality.project(x_new), modality.project(x_mean)


@CORRECTORS.register("none")
def no_corrector(x: State, t: Tensor, score_fn: ModelFn, modality: Modality, snr: float,
                 generator: torch.Generator | None) -> tuple[State, State]:
    return x, x


def check_pc_settings(predictor: str, corrector: str, steps: int, snr: float, n_corrector_steps: int,
                      t_eps: float) -> None:
    """Refuse settings no SDE makes meaningful (a family can call this when it is built)."""
    one_of("predictor", predictor, PREDICTORS.names())
    one_of("corrector", corrector, CORRECTORS.names())
    at_least("steps", steps, 1)
    non_negative("snr", snr)
    non_negative("n_corrector_steps", n_corrector_steps)
    in_unit_interval("t_eps", t_eps, closed_high=False)


def pc_sample(score_fn: ModelFn, sde: SDE, x_1: State, modality: Modality, predictor: str = "reverse_diffusion",
              corrector: str = "langevin", steps: int = 500, snr: float = 0.16, n_corrector_steps: int = 1,
              t_eps: float = 1e-3, denoise: bool = True,
              generator: torch.Generator | None = None) -> SamplerOutput:
    """Song et al. (2021), Algorithm 1 (generic PC) on ``steps`` equal steps from t = 1 to ``t_eps``."""
    check_pc_settings(predictor, corrector, steps, snr, n_corrector_steps, t_eps)
    score_fn = CountedFn(score_fn)
    predict, correct = PREDICTORS.get(predictor), CORRECTORS.get(corrector)
    times = reverse_grid(steps, t_end=t_eps, device=x_1.device)  # (S+1,)
    dt = (1.0 - t_eps) / steps
    B = x_1.batch_size
    x = x_mean = x_1
    for t in times[:-1]:
        t_b = t.expand(B)  # (B,)
        for _ in range(n_corrector_steps):
            x, x_mean = correct(x, t_b, score_fn, modality, snr, generator)
        x, x_mean = predict(x, t_b, dt, score_fn, sde, modality, generator)
    return SamplerOutput(x=x_mean if denoise else x, nfe=score_fn.nfe)
