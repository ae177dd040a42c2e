"""Continual-learning models in :data:`genlab.trainable.FAMILIES` (config ``family.name``)."""

from __future__ import annotations

from genlab.classifiers.continual.learner import ContinualLearner
from genlab.trainable import FAMILIES

FAMILIES.register("continual")(ContinualLearner)
