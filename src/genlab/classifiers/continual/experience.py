"""What a task stream is made of: experiences, and the labelled sets they hold.

An :class:`Experience` is one task of a stream: its index, its training and test sets (datasets
of ``(input, label)`` items, as a labelled :class:`~genlab.data.bundle.DataBundle` yields) and the
classes it holds. A :class:`Stream` is the ordered experiences plus the **scenario** (van de Ven &
Tolias 2019, "Three scenarios for continual learning"):

* ``domain``: every experience holds every class and the output layer is shared (permuted and
  rotated streams);
* ``task``: task-incremental — the experiences hold disjoint classes and the learner is told which
  experience an input comes from: its logits are masked to that experience's classes (a multi-head
  output sharing one linear layer);
* ``class``: class-incremental — disjoint classes, one head over every class, no task identity.

:class:`TransformedItems` applies a fixed transform to every input of a labelled set (a pixel
permutation, a rotation); :func:`labels_of` reads the labels of any such set.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Sequence

import torch
from torch import Tensor
from torch.utils.data import Dataset, Subset

#: the scenarios a stream can have
SCENARIOS = ("domain", "task", "class")


@dataclass(frozen=True)
class Experience:
    """One task of a stream: ``train`` and ``test`` yield ``(input, label)`` items."""

    index: int
    train: Dataset
    test: Dataset
    classes: tuple[int, ...]
    name: str = ""


@dataclass(frozen=True)
class Stream:
    """The experiences in training order and the scenario they are learned in."""

    experiences: tuple[Experience, ...]
    scenario: str

    def __len__(self) -> int:
        return len(self.experiences)

    def __iter__(self):
        return iter(self.experiences)

    @property
    def task_heads(self) -> list[tuple[int, ...]] | None:
        """The class groups whose logits a task-incremental learner keeps apart; ``None`` for the
        other scenarios (one shared head)."""
        return [e.classes for e in self.experiences] if self.scenario == "task" else None


class TransformedItems(Dataset):
    """``(transform(input), label)`` for every item of ``base``."""

    def __init__(self, base: Dataset, transform: Callable[[Tensor], Tensor]) -> None:
        self.base, self.transform = base, transform

    def __len__(self) -> int:
        return len(self.base)

    def __getitem__(self, i: int) -> tuple[Tensor, Tensor]:
        x, y = self.base[i]
        return self.transform(x), y

    @property
    def labels(self) -> Tensor:
        return labels_of(self.base)


def labels_of(dataset: Dataset) -> Tensor:
    """The label of every item, (N,) long: read from a ``labels`` attribute where the set has one
    (:class:`~genlab.data.labelled.LabelledItems`, subsets of it), else item by item."""
    if isinstance(dataset, Subset):
        return labels_of(dataset.dataset)[torch.as_tensor(dataset.indices, dtype=torch.long)]
    labels = getattr(dataset, "labels", None)
    if isinstance(labels, Tensor):
        return labels.long()
    return torch.as_tensor([int(dataset[i][1]) for i in range(len(dataset))], dtype=torch.long)


def inputs_of(dataset: Dataset, indices: Sequence[int] | Tensor) -> Tensor:
    """The inputs of the items at ``indices`` stacked into one tensor, (n, ...)."""
    return torch.stack([dataset[int(i)][0] for i in indices])
