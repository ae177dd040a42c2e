"""Annealed Langevin dynamics (Song & Ermon 2019, Algorithm 1)."""

from __future__ import annotations

import math

import torch
from torch import Tensor

from genlab.modalities.base import Modality, State
from genlab.generative.samplers.base import CountedFn, ModelFn, SamplerOutput
from genlab.utils.checks import at_least, positive


def annealed_langevin(score_fn: ModelFn, sigmas: Tensor, times: Tensor, x_init: State, modality: Modality,
                      n_steps_each: int = 100, step_lr: float = 2e-5, denoise: bool = True,
                      generator: torch.Generator | None = None) -> SamplerOutput:
    """For each level i (σ_1 > ... > σ_L at times t_i): α_i = ε σ_i²/σ_L², then ``n_steps_each``
    times x ← x + (α_i/2) s_θ(x, σ_i) + sqrt(α_i) z.

    ``denoise`` adds the final step x ← x + σ_L² s_θ(x, σ_L) (Tweedie's formula; Song & Ermon
    2020, §4.3 / Jolicoeur-Martineau et al. 2021), costing one more evaluation.
    """
    at_least("n_steps_each", n_steps_each, 1)
    positive("step_lr", step_lr)
    score_fn = CountedFn(score_fn)
    B = x_init.batch_size
    sigma_L = float(sigmas[-1])
    x = x_init
    for sigma_i, t_i in zip(sigmas.tolist(), times.tolist()):
        t = torch.full((B,), t_i, device=x.device)  # (B,)
        alpha_i = step_lr * sigma_i**2 / sigma_L**2
        for _ in range(n_steps_each):
            score = score_fn(x, t)
            z = modality.noise(x, generator)
            x = x.map(lambda v, s, n: v + 0.5 * alpha_i * s + math.sqrt(alpha_i) * n, score, z)
            x = modality.project(x)
    if denoise:
        t = torch.full((B,), float(times[-1]), device=x.device)
        x = modality.project(x.map(lambda v, s: v + sigma_L**2 * s, score_fn(x, t)))
    return SamplerOutput(x=x, nfe=score_fn.nfe)
