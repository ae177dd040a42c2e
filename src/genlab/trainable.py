"""What the trainer trains: ``loss, metrics = model(batch)``, and the registry of trainable models.

A generative family (:mod:`genlab.generative.families`) and a classifier method
(:mod:`genlab.classifiers`) are both a :class:`Trainable`: an ``nn.Module`` whose forward pass on a
data batch returns a scalar loss and a dict of plain floats. The trainer (:mod:`genlab.training`)
knows nothing else about them.

Models with two optimizers (GANs, adversarial autoencoders) set ``n_optimizers = 2`` and
implement two methods that the trainer drives:

``optimizer_parameters() -> list`` of length ``n_optimizers``: entry i is what
``torch.optim.AdamW`` takes for optimizer i (parameters, or param-group dicts).

``adversarial_losses(batch, step) -> Iterator[AdversarialLoss]``, a generator: each yielded
:class:`AdversarialLoss` names the optimizer to step (or a tuple of them, all stepped on the one
loss) and the loss it minimises; the trainer steps it before asking for the next phase, so a later
phase sees the parameters an earlier one just updated. ``step`` is the training iteration (0, 1, 2, ...).

:data:`FAMILIES` maps a config's ``family.name`` to a constructor; the generative families and
the classifier methods register themselves in their own registry modules (its providers).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from torch import Tensor, nn

from genlab.modalities.base import Modality
from genlab.registry import Registry


@dataclass
class AdversarialLoss:
    """One phase of an adversarial iteration: minimise ``loss`` with optimizer ``optimizer``, or
    with every optimizer of a tuple of indices (one loss stepped by several optimizers)."""

    optimizer: int | tuple[int, ...]
    loss: Tensor
    metrics: dict[str, float] = field(default_factory=dict)

    def indices(self) -> tuple[int, ...]:
        """The optimizers this phase steps."""
        return self.optimizer if isinstance(self.optimizer, tuple) else (self.optimizer,)


class Trainable(nn.Module):
    """Base class of everything :data:`FAMILIES` builds."""

    n_optimizers: int = 1

    def __init__(self, modality: Modality) -> None:
        super().__init__()
        self.modality = modality

    def forward(self, batch: Any) -> tuple[Tensor, dict[str, float]]:
        """One training loss on a data batch; ``metrics`` are plain floats for logging."""
        raise NotImplementedError


FAMILIES: Registry[Trainable] = Registry("family", providers=(
    "genlab.generative.families.registry",
    "genlab.classifiers.registry",
    "genlab.classifiers.continual.registry",
    "genlab.classifiers.meta.registry",
    "genlab.classifiers.transfer.registry",
    "genlab.classifiers.adaptation.registry",
))
