"""Small learners and experiences for the continual-learning tests (imported by the test files)."""

from __future__ import annotations

import torch

from genlab.classifiers.continual.experience import Experience
from genlab.classifiers.continual.learner import ContinualLearner
from genlab.classifiers.continual.methods.base import ExperienceContext
from genlab.data.labelled import LabelledItems
from genlab.modalities.images import ImagesModality
from genlab.modalities.points import PointsModality
from genlab.networks.classifiers import MLPClassifier


def point_learner(method, dim: int = 6, classes: int = 4, depth: int = 0, hidden: int = 5) -> ContinualLearner:
    """A float64 learner on points (inputs = the points themselves): ``depth: 0`` is one linear layer."""
    torch.manual_seed(0)
    network = MLPClassifier({"x": (dim,)}, classes=classes, hidden=hidden, depth=depth)
    return ContinualLearner(PointsModality(dim=dim), network, method).double()


def image_learner(method, classes: int = 3) -> ContinualLearner:
    torch.manual_seed(0)
    network = MLPClassifier({"x": (1, 4, 4)}, classes=classes, hidden=7, depth=1)
    return ContinualLearner(ImagesModality(channels=1, height=4, width=4, levels=256), network, method).double()


def experience(x: torch.Tensor, y: torch.Tensor, index: int = 0, classes: tuple[int, ...] | None = None) -> Experience:
    items = LabelledItems(x, y)
    return Experience(index, items, items, classes or tuple(sorted(set(y.tolist()))))


def context(index: int = 0, n: int = 3, seen: tuple = ()) -> ExperienceContext:
    return ExperienceContext(index, n, seen, seed=0)
