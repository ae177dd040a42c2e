"""Labelled items and their collate: what the image datasets with class labels hand the trainer.

A :class:`LabelledItems` set yields ``(input, label)`` pairs, the usual ``Dataset`` item, and
:func:`collate_labelled` stacks a list of them into one
:class:`~genlab.modalities.base.LabelledBatch` (inputs (B, ...), labels (B,) long). A modality
encodes ``batch.inputs`` alone, so a generative family trains on a labelled set unchanged while a
classifier reads the labels too. A bundle with labelled items sets ``collate=collate_labelled``.
"""

from __future__ import annotations

from typing import Callable, Sequence

import torch
from torch import Tensor
from torch.utils.data import Dataset

from genlab.modalities.base import LabelledBatch


class LabelledItems(Dataset):
    """``(transform(inputs[i]), labels[i])``; ``transform`` maps one stored input to the
    modality's data (e.g. uint8 pixels to floats in [-1, 1]); None keeps it as stored."""

    def __init__(self, inputs: Tensor, labels: Tensor, transform: Callable[[Tensor], Tensor] | None = None) -> None:
        if inputs.shape[0] != labels.shape[0]:
            raise ValueError(f"{inputs.shape[0]} inputs but {labels.shape[0]} labels")
        self.inputs, self.labels, self.transform = inputs, labels.long(), transform

    def __len__(self) -> int:
        return self.labels.shape[0]

    def __getitem__(self, i: int) -> tuple[Tensor, Tensor]:
        x = self.inputs[i]
        return (x if self.transform is None else self.transform(x)), self.labels[i]


def collate_labelled(items: Sequence[tuple[Tensor, Tensor]]) -> LabelledBatch:
    """``(input, label)`` pairs -> ``LabelledBatch(inputs (B, ...), labels (B,) long)``."""
    inputs = torch.stack([x for x, _ in items])  # (B, ...)
    labels = torch.stack([torch.as_tensor(y) for _, y in items]).long()  # (B,)
    return LabelledBatch(inputs, labels)


def scale_uint8(y: Tensor) -> Tensor:
    """uint8 grey levels 0..255 -> float32 x = 2y/255 - 1 in [-1, 1] (the images modality's data)."""
    return y.float() / 127.5 - 1.0
