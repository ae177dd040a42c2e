"""The family contract: ``loss, metrics = family(batch)`` and ``family.sample(n)``.

The trainer (:mod:`genlab.training`) knows nothing else about a family. A family is an
``nn.Module`` holding its network(s); the process and the modality are plain objects (no weights).

Adversarial families set ``n_optimizers = 2`` and implement two methods that the trainer drives:

``optimizer_parameters() -> list`` of length ``n_optimizers``: entry i is what
``torch.optim.AdamW`` takes for optimizer i (parameters, or param-group dicts).

``adversarial_losses(batch, step) -> Iterator[AdversarialLoss]``, a generator: each yielded
:class:`AdversarialLoss` names the optimizer to step and the loss it minimises; the trainer
steps that optimizer before asking for the next phase, so a later phase sees the parameters an
earlier one just updated. ``step`` is the training iteration (0, 1, 2, ...).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

import torch
from torch import Tensor, nn

from genlab.errors import ConfigError
from genlab.modalities.base import Modality


@dataclass
class SampleResult:
    """What a sampler returns: samples in data space plus its cost."""

    samples: Any  # modality.decode(...) output: (n, D) points, (n, C, H, W) images, graph batch
    nfe: int  # number of network evaluations
    extras: dict[str, Any] = field(default_factory=dict)


@dataclass
class AdversarialLoss:
    """One phase of an adversarial iteration: minimise ``loss`` with optimizer ``optimizer``."""

    optimizer: int
    loss: Tensor
    metrics: dict[str, float] = field(default_factory=dict)


class Family(nn.Module):
    """Base class; subclasses are registered in :data:`genlab.generative.families.registry.FAMILIES`."""

    n_optimizers: int = 1

    def __init__(self, modality: Modality) -> None:
        super().__init__()
        self.modality = modality

    def forward(self, batch: Any) -> tuple[Tensor, dict[str, float]]:
        """One training loss on a data batch; ``metrics`` are plain floats for logging."""
        raise NotImplementedError

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
