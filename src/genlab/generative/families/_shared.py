"""Small state-level helpers shared by the continuous-time families (losses, prior draws)."""

from __future__ import annotations

from typing import Callable

import torch
from torch import Tensor, nn

from genlab.errors import ConfigError
from genlab.modalities.base import Modality, State


def module_device(module: nn.Module) -> torch.device:
    """The device of a module's first parameter (CPU for a parameter-free module)."""
    for p in module.parameters():
        return p.device
    return torch.device("cpu")


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
                      steps: int | None, generator: torch.Generator | None):
    """The sampling loop every prior-to-data family shares: draw x_1 from the modality's prior,
    run the named sampler (which integrates back to t = 0) and decode.

    ``samplers[name](x_1, steps, generator) -> SamplerOutput``; returns a ``SampleResult``.
    """
    from genlab.generative.families.base import SampleResult

    run = pick(samplers, name, "sampler")
    x_1 = draw_prior(family.modality, n, family.process.prior_std, module_device(family), generator)
    out = run(x_1, steps, generator)
    return SampleResult(samples=family.modality.decode(out.x), nfe=out.nfe, extras={"sampler": name})


def pick(table: dict[str, Callable], name: str, what: str) -> Callable:
    """``table[name]`` or a ConfigError listing the choices."""
    try:
        return table[name]
    except KeyError:
        raise ConfigError(f"unknown {what} '{name}'; known: {', '.join(sorted(table))}",
                          key=f"family.{what}") from None
