"""Accuracy of an adaptation model on labelled target images, one target domain at a time."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

import torch

from genlab.errors import DataError
from genlab.modalities.base import LabelledBatch
from genlab.utils import checks


@dataclass
class TargetAccuracy:
    """One target domain: its name, index in the data's ``targets``, images scored, accuracy."""

    target: str
    index: int
    n_images: int
    accuracy: float


@torch.no_grad()
def target_accuracies(model: Any, splits: Sequence[Any], names: Sequence[str], *, n: int | None = None,
                      batch_size: int = 500) -> list[TargetAccuracy]:
    """Accuracy of ``model`` (an adaptation model, in evaluation mode) on the first ``n`` items
    (all when None) of each labelled split, split k predicted as target k."""
    checks.at_least("batch_size", batch_size, 1)
    out = []
    for k, (name, split) in enumerate(zip(names, splits)):
        total = min(len(split), n or len(split))
        if total == 0:
            raise DataError(f"the test split of target {name} is empty")
        correct = 0
        for start in range(0, total, batch_size):
            items = [split[i] for i in range(start, min(total, start + batch_size))]
            batch = LabelledBatch(torch.stack([x for x, _ in items]),
                                  torch.stack([torch.as_tensor(y) for _, y in items]))
            x = model.inputs(batch.inputs)  # (B, C, H, W)
            domain = torch.full((len(items),), k, dtype=torch.long, device=x.device)
            correct += int((model.predict(x, domain) == batch.labels.to(x.device)).sum())
        out.append(TargetAccuracy(target=name, index=k, n_images=total, accuracy=correct / total))
    return out
