"""The data contract between datasets, modalities and the trainer.

A dataset entry in :data:`genlab.data.registry.DATASETS` is built from the config's ``data``
section and returns a :class:`DataBundle`: the modality that knows what one sample is, the
training and held-out sets (``torch.utils.data.Dataset``) and the collate function that turns a
list of items into the batch that ``family(batch)`` and ``modality.encode(batch)`` take.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

from torch.utils.data import Dataset

from genlab.modalities.base import Modality


@dataclass
class DataBundle:
    modality: Modality
    train: Dataset
    heldout: Dataset
    collate: Callable[[list[Any]], Any] | None = None
    info: dict[str, Any] = field(default_factory=dict)  # e.g. vocabulary, max atoms, dataset name
