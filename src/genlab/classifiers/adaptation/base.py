"""What every domain-adaptation model shares: a feature generator G, classifiers on its features,
and a prediction for each target domain.

An :class:`AdaptationModel` is a :class:`~genlab.trainable.Trainable` built from the network roles
``features`` (G: images in the modality's classifier input view -> (B, D)) and ``classifier``
(F: (B, D) -> logits). It trains on a :class:`~genlab.data.domain_adaptation.DomainBatch` and,
on a :class:`~genlab.data.domain_adaptation.TargetBatch` (the held-out split), returns the
negative log-likelihood and accuracy of its prediction for each image's target domain: what
``train.val_every`` logs and what the adaptation evaluator scores. A subclass says how the class
probabilities of target ``k`` are formed (:meth:`target_probabilities`): one classifier, the mean
of two (MCD), or a global and a local one (DualAdapt).
"""

from __future__ import annotations

import copy
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from genlab.data.domain_adaptation import DomainBatch, TargetBatch
from genlab.errors import ConfigError
from genlab.modalities.base import Modality
from genlab.trainable import Trainable


class AdaptationModel(Trainable):
    """``AdaptationModel(modality, features, classifier)``: the shared part of every method."""

    def __init__(self, modality: Modality, features: nn.Module, classifier: nn.Module) -> None:
        super().__init__(modality)
        width, reads = getattr(features, "out_features", None), getattr(classifier, "in_features", None)
        if width is not None and reads is not None and width != reads:
            raise ConfigError(f"the classifier reads {reads} features, the feature network makes {width}",
                              key="network.classifier")
        self.input_range = modality.input_range  # each method keeps G and its classifiers itself

    def inputs(self, images: Tensor) -> Tensor:
        """Images of the data (B, C, H, W) -> the classifier input view, on the model's device."""
        return self.modality.to_inputs(self.modality.encode(images.to(self.device_of())))

    def target_probabilities(self, x: Tensor, domain: Tensor) -> Tensor:
        """Class probabilities (B, K) of inputs ``x`` in the input view, image i from target
        ``domain[i]`` (the index into the data's ``targets``)."""
        raise NotImplementedError

    @torch.no_grad()
    def predict(self, x: Tensor, domain: Tensor) -> Tensor:
        """Most likely class per input, (B,)."""
        return self.target_probabilities(x, domain).argmax(1)

    def forward(self, batch: Any) -> tuple[Tensor, dict[str, float]]:
        if isinstance(batch, TargetBatch):
            return self.heldout_loss(batch)
        if not isinstance(batch, DomainBatch):
            raise ConfigError("a domain-adaptation model trains on the domain_adaptation data set", key="data.name")
        return self.training_loss(batch)

    def heldout_loss(self, batch: TargetBatch) -> tuple[Tensor, dict[str, float]]:
        """NLL and accuracy of the target prediction on labelled target images."""
        x, y = self.inputs(batch.inputs), batch.labels.to(self.device_of()).long()
        p = self.target_probabilities(x, batch.domain.to(y.device))  # (B, K)
        loss = F.nll_loss(p.clamp_min(1e-12).log(), y)
        return loss, {"accuracy": float((p.argmax(1) == y).float().mean())}

    def training_loss(self, batch: DomainBatch) -> tuple[Tensor, dict[str, float]]:
        """The loss one optimizer minimises (single-optimizer methods)."""
        raise NotImplementedError

    def source(self, batch: DomainBatch) -> tuple[Tensor, Tensor]:
        """(source inputs (B, C, H, W) in the input view, labels (B,))."""
        x = self.inputs(batch.source.inputs)
        return x, batch.source.labels.to(x.device).long()

    def all_targets(self, batch: DomainBatch) -> Tensor:
        """Every target's images of the batch, concatenated: (K B, C, H, W) in the input view."""
        return self.inputs(torch.cat(list(batch.targets)))

    def device_of(self) -> torch.device:
        return next(self.parameters()).device


def fresh_copy(module: nn.Module) -> nn.Module:
    """A copy of ``module`` with every layer's parameters drawn anew (``reset_parameters``), so two
    classifiers built from one network section start from different weights."""
    twin = copy.deepcopy(module)
    for layer in twin.modules():
        if hasattr(layer, "reset_parameters"):
            layer.reset_parameters()
    return twin


def accuracy(logits: Tensor, labels: Tensor) -> float:
    return float((logits.argmax(1) == labels).float().mean())
