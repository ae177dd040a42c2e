"""The base of the few-shot transfer learners: a classifier network, its features, a projection
head and the random views, trained on :class:`~genlab.data.few_shot_transfer.TransferBatch`\\ es.

``loss, metrics = learner(batch)`` is a :class:`~genlab.trainable.Trainable`; what the subclasses
(:mod:`~genlab.classifiers.transfer.startup`, :mod:`~genlab.classifiers.transfer.simclr`) share
lives here:

* ``network``: a classifier network (``network`` section) read as ``head(features(x))``
  (:func:`~genlab.classifiers.transfer.features.feature_split`); the representation that
  few-shot evaluation reads is ``features`` (:meth:`TransferLearner.features`);
* ``projection``: SimCLR's projection head g on the features, Linear(F, F) → ReLU →
  Linear(F, ``projection_dim``) (Chen et al. 2020, sec. 2.1; the size of STARTUP's released code);
* ``augmentation``: :class:`~genlab.classifiers.transfer.augment.ViewAugmentation` with the
  keys ``crop_scale``, ``rotation``, ``brightness``, ``contrast``;
* the batch tensors: base and target images through the modality (``encode``, then the
  classifier input view ``to_inputs``: pixels in [0, 1]).

A learner may start from a teacher (``teacher``: a classifier run directory,
:mod:`~genlab.classifiers.transfer.teacher`): its network weights are copied into ``network``.
"""

from __future__ import annotations

from typing import Sequence

from torch import Tensor, nn

from genlab.classifiers.transfer.augment import ViewAugmentation
from genlab.classifiers.transfer.features import FeatureSplit, feature_split
from genlab.classifiers.transfer.teacher import load_teacher_weights
from genlab.data.few_shot_transfer import TransferBatch
from genlab.errors import ConfigError
from genlab.modalities.base import Modality
from genlab.trainable import Trainable
from genlab.utils import checks


class ProjectionHead(nn.Module):
    """g(h) = W₂ ReLU(W₁ h): (B, F) -> (B, out_dim)."""

    def __init__(self, in_dim: int, out_dim: int) -> None:
        super().__init__()
        self.layers = nn.Sequential(nn.Linear(in_dim, in_dim), nn.ReLU(), nn.Linear(in_dim, out_dim))

    def forward(self, h: Tensor) -> Tensor:
        return self.layers(h)  # (B, F) -> (B, out_dim)


class TransferLearner(Trainable):
    """Shared arguments: the injected ``modality`` and ``network``; ``teacher`` (a classifier run
    directory or None), ``temperature`` τ and ``projection_dim`` of the contrastive loss, and the
    augmentation's keys."""

    def __init__(self, modality: Modality, network: nn.Module, teacher: str | None = None,
                 temperature: float = 1.0, projection_dim: int = 128,
                 crop_scale: Sequence[float] = (0.5, 1.0), rotation: float = 15.0, brightness: float = 0.4,
                 contrast: float = 0.4) -> None:
        super().__init__(modality)
        checks.positive("temperature", temperature)
        checks.finite("temperature", temperature)
        checks.at_least("projection_dim", projection_dim, 1)
        shape = tuple(modality.shapes().get("x", ()))
        if len(shape) != 3 or modality.input_range is None:
            raise ConfigError(f"{type(self).__name__} reads images (C, H, W); the data's samples are shaped {shape}",
                              key="data")
        self.network = network
        if teacher is not None:
            load_teacher_weights(teacher, modality, network)
        self.split: FeatureSplit = feature_split(network, shape)
        self.projection = ProjectionHead(self.split.dim, projection_dim)
        self.augmentation = ViewAugmentation(crop_scale, rotation, brightness, contrast, bounds=modality.input_range)
        self.temperature = temperature

    def inputs(self, images: Tensor) -> Tensor:
        """Images in the modality's data range (B, C, H, W) -> classifier inputs on the model's device."""
        device = next(self.network.parameters()).device
        return self.modality.to_inputs(self.modality.encode(images.to(device)))  # (B, C, H, W) in [0, 1]

    def batch_inputs(self, batch: TransferBatch) -> tuple[Tensor, Tensor, Tensor]:
        """(base inputs (B, ...), base labels (B,), target inputs (B', ...)) of a training batch."""
        if not isinstance(batch, TransferBatch):
            raise ConfigError(f"{type(self).__name__} trains on base and target batches (data: few_shot_transfer), "
                              f"got {type(batch).__name__}", key="data")
        x_base = self.inputs(batch.base.inputs)
        return x_base, batch.base.labels.to(x_base.device).long(), self.inputs(batch.target)

    def features(self, x: Tensor) -> Tensor:
        """The representation few-shot evaluation reads: (B, ...) inputs in [0, 1] -> (B, F)."""
        return self.split.features(x)

    def optimizer_parameters(self) -> list[list[nn.Parameter]]:
        """What the trainer optimises: the network and the projection head (never a teacher)."""
        return [[*self.network.parameters(), *self.projection.parameters()]]
