"""The images evaluator: ``.npz``/``.safetensors`` files, an image grid, and for digits the
Fréchet distance in the digits classifier's features
(:func:`genlab.metrics.evaluators.evaluate_digits`) against the ``digits`` held-out split."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from genlab.evaluation.heldout import TensorEvaluator
from genlab.evaluation.registry import EVALUATORS
from genlab.metrics.evaluators import evaluate_digits

#: bench table columns
COLUMNS = ("fd",)


@EVALUATORS.register("images")
class ImagesEvaluator(TensorEvaluator):
    name = "images"
    datasets = ("digits",)  # the only images genlab has a feature extractor for
    bench_datasets = ("digits",)

    def metrics(self, samples: np.ndarray, heldout: np.ndarray) -> dict[str, Any]:
        return evaluate_digits(samples, heldout)

    def plot(self, samples: Any, path: Path, *, reference: Any = None, title: str | None = None) -> Path:
        from genlab.evaluation.plots import plot_images  # matplotlib: loaded only to draw

        return plot_images(samples, path, title=title)

    def columns(self, dataset: str) -> tuple[str, ...]:
        return COLUMNS
