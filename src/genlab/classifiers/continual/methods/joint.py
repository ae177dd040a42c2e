"""Joint training, the upper bound of a stream: experience t trains on experiences 0..t at once."""

from __future__ import annotations

from torch.utils.data import ConcatDataset, Dataset

from genlab.classifiers.continual.experience import Experience
from genlab.classifiers.continual.methods.base import METHODS, ExperienceContext, Method


@METHODS.register("joint")
class Joint(Method):
    """Every experience trains on the union of the training sets seen so far (``train.max_steps``
    iterations each, like the other methods)."""

    def train_set(self, experience: Experience, context: ExperienceContext) -> Dataset:
        return ConcatDataset([e.train for e in context.seen])
