"""A classifier: a network from the modality's input view to class logits, trained by an objective.

``Classifier(modality, network, objective)`` is a :class:`~genlab.trainable.Trainable`, trained,
saved and loaded like every family: ``loss, metrics = classifier(batch)`` on a
:class:`~genlab.modalities.base.LabelledBatch`. Its inputs are ``modality.to_inputs(state)`` —
pixels in [0, 1] for images — and :attr:`input_range` is the box attacks keep them in.
``classifier.logits(x)`` is what attacks differentiate.
"""

from __future__ import annotations

from typing import Any, Mapping

import torch
from torch import Tensor, nn

from genlab.classifiers.objectives import OBJECTIVES
from genlab.errors import ConfigError
from genlab.modalities.base import LabelledBatch, Modality
from genlab.trainable import Trainable


class Classifier(Trainable):
    """``Classifier(modality, network, objective)``; ``objective`` is a name (``standard``) or a
    mapping with its keys (``{name: pgd, eps: 0.3, alpha: 0.01, steps: 40}``)."""

    def __init__(self, modality: Modality, network: nn.Module, objective: str | Mapping[str, Any] = "standard") -> None:
        super().__init__(modality)
        self.network = network
        section = {"name": objective} if isinstance(objective, str) else dict(objective)
        self.objective = OBJECTIVES.build(section)
        self.input_range = modality.input_range

    def inputs(self, batch: LabelledBatch) -> tuple[Tensor, Tensor]:
        """(x in the input view (B, ...), labels (B,)) of a labelled batch, on the model's device."""
        if not isinstance(batch, LabelledBatch):
            raise ConfigError("a classifier needs labelled data (e.g. digits with labels: true)", key="data")
        device = next(self.network.parameters()).device
        state = self.modality.encode(batch.inputs.to(device))
        return self.modality.to_inputs(state), batch.labels.to(device).long()

    def logits(self, x: Tensor) -> Tensor:
        """Class scores (B, K) of inputs in :attr:`input_range`."""
        return self.network(x)

    @torch.no_grad()
    def predict(self, x: Tensor) -> Tensor:
        """Most likely class per input, (B,)."""
        return self.logits(x).argmax(1)

    def forward(self, batch: LabelledBatch) -> tuple[Tensor, dict[str, float]]:
        x, y = self.inputs(batch)
        return self.objective(self, x, y)
