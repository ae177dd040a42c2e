"""The Modified Hausdorff Distance nearest neighbour: the one-shot baseline of Omniglot's own demo.

Dubuisson & Jain (1994), "A modified Hausdorff distance for object matching", ICPR, pp. 566–568:
between point sets A and B, d(A, B) = (1/|A|) Σ_{a∈A} min_{b∈B} ‖a − b‖ and the distance is
max(d(A, B), d(B, A)). Omniglot's one-shot classification demo (Lake et al. 2015, repository
brendenlake/omniglot, ``python/one-shot-classification/demo_classification.py``) applies it to the
raw 105×105 images: the points of an image are the (row, column) coordinates of its inked pixels,
centred on their mean; each test item gets the training image of least distance (the first of
equal ones), and a run's error is the percentage of its 20 test items given the wrong class.
:func:`one_shot_error` does the same on :func:`genlab.data.omniglot.one_shot_runs` at size 105.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np
from scipy.spatial import cKDTree
from scipy.spatial.distance import cdist

from genlab.data.omniglot import SIDE, OneShotRun, one_shot_runs


def ink_points(image: np.ndarray) -> np.ndarray:
    """An image (H, W) or (1, H, W), ink > 0 -> the (row, column) of its inked pixels minus their
    mean, (n, 2) float64."""
    rows, cols = np.nonzero(np.asarray(image).reshape(image.shape[-2:]))
    points = np.stack([rows, cols], axis=1).astype(np.float64)  # (n, 2)
    return points - points.mean(axis=0)


def modified_hausdorff(a: np.ndarray, b: np.ndarray) -> float:
    """max(d(A, B), d(B, A)) of point sets a (n, 2) and b (m, 2), d the mean nearest-neighbour
    distance from the first set to the second (all n m distances; :func:`one_shot_error` finds
    the same nearest neighbours with k-d trees)."""
    distances = cdist(a, b)  # (n, m)
    return float(max(distances.min(axis=1).mean(), distances.min(axis=0).mean()))


@dataclass(frozen=True)
class OneShotScore:
    """Errors of a nearest-neighbour classifier on the one-shot runs."""

    costs: np.ndarray  # (R, 20, 20): [run, test item, training image]
    predictions: np.ndarray  # (R, 20): the training image chosen for each test item
    errors: np.ndarray  # (R,) percent of the run's test items misclassified

    @property
    def mean_error(self) -> float:
        """The error averaged over the runs, in percent."""
        return float(self.errors.mean())


def one_shot_error(runs: Sequence[OneShotRun] | None = None) -> OneShotScore:
    """Score the Modified Hausdorff Distance nearest neighbour on ``runs`` (default: the 20 runs
    at their stored 105×105 size), as Omniglot's demo does."""
    runs = one_shot_runs(SIDE) if runs is None else runs
    costs, predictions, errors = [], [], []
    for run in runs:
        train = [cKDTree(ink_points(x)) for x in run.train_images]
        test = [cKDTree(ink_points(x)) for x in run.test_images]
        cost = np.array([[max(_directed(t, c), _directed(c, t)) for c in train] for t in test])  # (20 test, 20 train)
        chosen = np.argmin(cost, axis=1)  # (20,)
        costs.append(cost)
        predictions.append(chosen)
        errors.append(100.0 - 100.0 * np.mean(chosen == run.answers))
    return OneShotScore(np.array(costs), np.array(predictions), np.array(errors))


def _directed(a: cKDTree, b: cKDTree) -> float:
    """d(A, B): the mean distance from each point of A to its nearest point of B."""
    return float(b.query(a.data)[0].mean())
