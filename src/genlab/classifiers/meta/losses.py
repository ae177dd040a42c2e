"""Per-task losses of the meta-learners (config key ``loss``): a name -> :class:`TaskLoss`.

* ``mse``: the mean squared error over points and output dimensions, Finn et al. (2017, "Model-
  agnostic meta-learning") eq. 2 divided by the number of points (their code's ``reduce_mean``);
* ``cross_entropy``: the mean cross-entropy of the logits against the task's labels 0..n_way-1
  (their eq. 3, averaged); it also reports accuracy.

Outputs and targets are one task's (or a pooled set's): ``outputs`` (N, D), ``targets`` (N, D)
floats for ``mse``; ``outputs`` (N, n_way) logits, ``targets`` (N,) long for ``cross_entropy``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import torch.nn.functional as F
from torch import Tensor


@dataclass(frozen=True)
class TaskLoss:
    """A loss and whether its outputs are class logits (then accuracy is reported)."""

    name: str
    fn: Callable[[Tensor, Tensor], Tensor]  # (outputs, targets) -> scalar
    classification: bool

    def __call__(self, outputs: Tensor, targets: Tensor) -> Tensor:
        return self.fn(outputs, targets)


def mean_squared_error(outputs: Tensor, targets: Tensor) -> Tensor:
    return ((outputs - targets) ** 2).mean()  # outputs, targets (N, D)


def cross_entropy(outputs: Tensor, targets: Tensor) -> Tensor:
    return F.cross_entropy(outputs, targets)  # logits (N, n_way), labels (N,)


TASK_LOSSES: dict[str, TaskLoss] = {
    "mse": TaskLoss("mse", mean_squared_error, classification=False),
    "cross_entropy": TaskLoss("cross_entropy", cross_entropy, classification=True),
}


def accuracy(outputs: Tensor, targets: Tensor) -> Tensor:
    """Fraction of ``outputs`` (..., n_way) whose arg-max is the label ``targets`` (...)."""
    return (outputs.argmax(-1) == targets).float().mean()
