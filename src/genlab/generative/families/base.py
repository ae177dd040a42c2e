"""The generative family contract: a :class:`~genlab.trainable.Trainable` (``loss, metrics =
family(batch)``, the trainer's contract, with the two-optimizer hook for adversarial families)
that also samples: ``family.sample(n) -> SampleResult``."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

import torch
from torch import nn

from genlab.errors import ConfigError
from genlab.trainable import Trainable


@dataclass
class SampleResult:
    """What a sampler returns: samples in data space plus its cost."""

    samples: Any  # modality.decode(...) output: (n, D) points, (n, C, H, W) images, graph batch
    nfe: int  # number of network evaluations
    extras: dict[str, Any] = field(default_factory=dict)


class Family(Trainable):
    """Base class; subclasses are registered in :data:`genlab.trainable.FAMILIES`
    (:mod:`genlab.generative.families.registry`)."""

    @torch.no_grad()
    def sample(self, n: int, *, sampler: str | None = None, steps: int | None = None,
               generator: torch.Generator | None = None) -> SampleResult:
        raise NotImplementedError


def module_device(module: nn.Module) -> torch.device:
    """The device of a module's first parameter (CPU for a parameter-free module)."""
    for p in module.parameters():
        return p.device
    return torch.device("cpu")


def pick(table: dict[str, Callable], name: str, what: str) -> Callable:
    """``table[name]`` or a ConfigError naming ``family.<what>`` and listing the choices."""
    try:
        return table[name]
    except KeyError:
        raise ConfigError(f"unknown {what} '{name}'; known: {', '.join(sorted(table))}",
                          key=f"family.{what}") from None
