"""Classifier methods in :data:`genlab.trainable.FAMILIES` (config ``family.name``)."""

from __future__ import annotations

from genlab.classifiers.classifier import Classifier
from genlab.trainable import FAMILIES

FAMILIES.register("classifier")(Classifier)
