"""The points evaluator: ``.npz``/``.safetensors`` files, a scatter plot, sliced W1 and MMD²
(:func:`genlab.metrics.evaluators.evaluate_points`) against a ``points`` held-out split."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from genlab.evaluation.heldout import TensorEvaluator
from genlab.evaluation.registry import EVALUATORS
from genlab.metrics.evaluators import evaluate_points

#: bench table columns
COLUMNS = ("sliced_w1", "mmd2", "far_fraction")


@EVALUATORS.register("points")
class PointsEvaluator(TensorEvaluator):
    name = "points"
    datasets = ("points",)
    bench_datasets = ("points",)
    plot_reference = True

    def metrics(self, samples: np.ndarray, heldout: np.ndarray) -> dict[str, Any]:
        return evaluate_points(samples, heldout)

    def plot(self, samples: Any, path: Path, *, reference: Any = None, title: str | None = None) -> Path:
        from genlab.evaluation.plots import plot_points  # matplotlib: loaded only to draw

        return plot_points(samples, path, reference=reference, title=title)

    def columns(self, dataset: str) -> tuple[str, ...]:
        return COLUMNS
