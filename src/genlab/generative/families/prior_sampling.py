"""What the continuous-time families share around their sampling loops and regression losses:
the prior draw x_1 ~ N(0, std² I) with the modality's symmetry and padding, the loop
"draw x_1, integrate back to t = 0, decode", and the per-dimension squared error."""

from __future__ import annotations

from typing import Callable

import torch
from torch import Tensor, nn

from genlab.generative.families.base import SampleResult, module_device, pick
from genlab.modalities.base import Modality, State


def per_dim_sq_error(pred: State, target: State, modality: Modality) -> Tensor:
    """Σ over all components of ‖pred - target‖², divided by the free dimensions, (B,).

    Papers sum over dimensions; dividing by D keeps loss scales (and learning rates)
    comparable between points, images and graphs. Padded entries must be zero in both.
    """
    sq = ((pred.flatten() - target.flatten()) ** 2).sum(1)  # (B,)
    return sq / modality.dims(pred).to(sq)


def draw_prior(modality: Modality, n: int, std: float, device: torch.device,
               generator: torch.Generator | None) -> State:
    """x_1 ~ N(0, std² I) with the modality's symmetry and padding."""
    template = modality.prior_template(n, device=device, generator=generator)
    return modality.noise(template, generator).map(lambda v: std * v)


def sample_from_prior(family: nn.Module, samplers: dict[str, Callable], name: str, n: int,
                      steps: int | None, generator: torch.Generator | None) -> SampleResult:
    """The sampling loop every prior-to-data family shares: draw x_1 from the modality's prior,
    run the named sampler (which integrates back to t = 0) and decode.

    ``samplers[name](x_1, steps, generator) -> SamplerOutput``.
    """
    run = pick(samplers, name, "sampler")
    x_1 = draw_prior(family.modality, n, family.process.prior_std, module_device(family), generator)
    out = run(x_1, steps, generator)
    return SampleResult(samples=family.modality.decode(out.x), nfe=out.nfe, extras={"sampler": name})
