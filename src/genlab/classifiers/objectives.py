"""Training objectives of a classifier: what ``loss`` the trainer minimises on a labelled batch.

``standard``: the cross-entropy of the clean inputs.
``pgd`` (adversarial training, Madry et al. 2018, eq. 2.1): the cross-entropy at the inputs an
L∞ PGD attack (random start) finds inside B(x, ε) ∩ box — the inner maximisation of the saddle
point problem min_θ E max_{δ ∈ S} L(θ, x + δ, y), solved approximately by PGD as in §3.

Every objective reports the accuracy of the inputs it trains on (``accuracy``) and, when those are
adversarial, the clean accuracy too (``clean_accuracy``).
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor

from genlab.classifiers.attacks.pgd import PGD
from genlab.registry import Registry

class Objective:
    """Base class: ``loss, metrics = objective(classifier, x, y)`` with x in the classifier's
    input range, (B, ...), and labels y (B,)."""

    def __call__(self, classifier: Any, x: Tensor, y: Tensor) -> tuple[Tensor, dict[str, float]]:
        """``classifier``: a :class:`~genlab.classifiers.classifier.Classifier` (its ``logits`` and
        ``input_range``)."""
        raise NotImplementedError


OBJECTIVES: Registry[Objective] = Registry("family.objective")


def accuracy(logits: Tensor, y: Tensor) -> float:
    return (logits.argmax(1) == y).float().mean().item()


@OBJECTIVES.register("standard")
class Standard(Objective):
    """``Standard()``: cross-entropy of the clean inputs."""

    def __call__(self, classifier, x, y):
        logits = classifier.logits(x)
        loss = F.cross_entropy(logits, y)
        return loss, {"loss": loss.item(), "accuracy": accuracy(logits, y)}


@OBJECTIVES.register("pgd")
class PGDTraining(Objective):
    """``PGDTraining(eps, alpha, steps)``: cross-entropy at L∞ PGD inputs with a random start."""

    def __init__(self, eps: float = 0.3, alpha: float = 0.01, steps: int = 40) -> None:
        self.attack = PGD(eps=eps, alpha=alpha, steps=steps, norm="linf", random_start=True)

    def __call__(self, classifier, x, y):
        x_adv = self.attack(classifier.logits, x, y, bounds=classifier.input_range)
        logits = classifier.logits(x_adv)
        loss = F.cross_entropy(logits, y)
        with torch.no_grad():
            clean = accuracy(classifier.logits(x), y)
        return loss, {"loss": loss.item(), "accuracy": accuracy(logits, y), "clean_accuracy": clean}
