"""The continual-learning evaluator: the accuracy matrix of a run over its task stream.

``ContinualEvaluator().evaluate(run)`` reads the matrix the stream runner recorded
(``RUN/accuracy_matrix.json``: the row before any training, then one row after each experience),
computes ACC, BWT and FWT (:mod:`genlab.classifiers.continual.metrics`), rebuilds the stream from
the run's config and scores the **loaded** learner on every experience's test set again — the
final row, which must equal the recorded last row (``max_rescore_difference``), checking that the
saved weights and method state are the ones trained. ``genlab evaluate RUN`` writes the result to
``RUN/continual.json`` and two figures to ``RUN/plots/`` (which ``genlab report`` shows): the
matrix as a heatmap and each experience's accuracy over the stream.
"""

from __future__ import annotations

import argparse
import io
import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from matplotlib.figure import Figure

from genlab.build import build_stream
from genlab.classifiers.continual.learner import ContinualLearner
from genlab.classifiers.continual.metrics import MATRIX_FILE, ContinualMetrics, continual_metrics
from genlab.classifiers.continual.scoring import accuracy_row
from genlab.errors import GenlabError
from genlab.evaluation.registry import register_run_evaluator
from genlab.utils.atomic import atomic_write_bytes, atomic_write_json

#: what ``genlab evaluate RUN`` writes into a continual run
CONTINUAL_FILE = "continual.json"
MATRIX_PLOT, CURVES_PLOT = "accuracy_matrix.png", "accuracy_over_stream.png"
#: ``genlab evaluate`` options that mean nothing for a continual run
FOREIGN_OPTIONS = ("reference", "train", "attack", "attacks", "eps", "steps", "alpha", "restarts", "norm",
                   "surrogate", "images", "n", "batch_size", "seed")


@dataclass(frozen=True)
class ContinualResult:
    """The metrics of the recorded matrix, the loaded learner's final row and where it went."""

    metrics: ContinualMetrics
    scenario: str
    experiences: list[dict[str, Any]]
    rescored: list[float]
    max_rescore_difference: float
    plots: list[str]


@register_run_evaluator(ContinualLearner)
class ContinualEvaluator:
    """Scores a continual run (see the module docstring)."""

    bench_datasets = ()

    def evaluate(self, run: Any, plots: bool = True) -> ContinualResult:
        path = run.dir.root / MATRIX_FILE
        try:
            record = json.loads(path.read_text(encoding="utf-8"))
            rows = record["rows"]
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise GenlabError(f"no accuracy matrix: {exc}", path=path) from None
        if len(rows) != len(record["experiences"]) + 1:
            raise GenlabError(f"{len(rows) - 1} of {len(record['experiences'])} experiences recorded (training "
                              "did not finish?)", path=path)
        metrics = continual_metrics(rows)
        stream = build_stream(run.config, run.bundle)
        rescored = accuracy_row(run.family, stream)
        difference = max(abs(a - b) for a, b in zip(rescored, metrics.final_accuracies))
        files = [str(self.plot_matrix(metrics, run.dir.plots / MATRIX_PLOT)),
                 str(self.plot_curves(metrics, run.dir.plots / CURVES_PLOT))] if plots else []
        return ContinualResult(metrics, record["scenario"], record["experiences"], rescored, difference, files)

    def evaluate_command(self, run: Any, args: argparse.Namespace) -> int:
        """``genlab evaluate RUN``: evaluate, print, write ``RUN/continual.json`` (and ``--json``)."""
        given = [name for name in FOREIGN_OPTIONS if getattr(args, name, None) not in (None, False)]
        if given:
            raise GenlabError(f"--{given[0].replace('_', '-')} does not apply to a continual-learning run",
                              path=run.dir.root)
        result = self.evaluate(run)
        print(self.format(result))
        atomic_write_json(run.dir.root / CONTINUAL_FILE, asdict(result))
        if getattr(args, "json", None):
            atomic_write_json(args.json, asdict(result))
        return 0

    def format(self, result: ContinualResult) -> str:
        m = result.metrics
        fmt = lambda v: "–" if v is None else f"{100 * v:+.2f}"  # noqa: E731
        lines = [f"{len(m.matrix)} experiences ({result.scenario}-incremental)",
                 f"ACC {100 * m.acc:.2f}   BWT {fmt(m.bwt)}   FWT {fmt(m.fwt)}   (percentage points)",
                 "accuracy (%) after each experience (rows) on each experience (columns):"]
        lines += ["  " + " ".join(f"{100 * a:6.2f}" for a in row) for row in m.matrix]
        lines.append(f"loaded run rescored: largest difference to the last row {100 * result.max_rescore_difference:.4f}")
        return "\n".join(lines)

    @staticmethod
    def plot_matrix(metrics: ContinualMetrics, path: Path) -> Path:
        """R as a heatmap, each cell annotated with its accuracy in percent."""
        t = len(metrics.matrix)
        fig = Figure(figsize=(1.0 + 0.55 * t, 0.8 + 0.5 * t), layout="constrained")
        ax = fig.subplots()
        image = ax.imshow(metrics.matrix, vmin=0, vmax=1, cmap="viridis")
        for i, row in enumerate(metrics.matrix):
            for j, value in enumerate(row):
                ax.text(j, i, f"{100 * value:.0f}", ha="center", va="center", fontsize=7,
                        color="white" if value < 0.6 else "black")
        ax.set(xlabel="test experience j", ylabel="after training experience i", xticks=range(t), yticks=range(t),
               title=f"R[i, j]   ACC {100 * metrics.acc:.1f}%")
        fig.colorbar(image, ax=ax, label="accuracy")
        return _save(fig, path)

    @staticmethod
    def plot_curves(metrics: ContinualMetrics, path: Path) -> Path:
        """Each experience's accuracy before training (x = 0) and after each experience (x = i + 1)."""
        t = len(metrics.matrix)
        fig = Figure(figsize=(6.4, 4.0), layout="constrained")
        ax = fig.subplots()
        for j in range(t):
            values = [metrics.baseline[j]] + [row[j] for row in metrics.matrix]
            ax.plot(range(t + 1), values, marker="o", markersize=3, label=f"experience {j}")
        ax.set(xlabel="experiences trained", ylabel="test accuracy", ylim=(0, 1.02), xticks=range(t + 1),
               title="accuracy of each experience over the stream")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7, ncol=2)
        return _save(fig, path)


def _save(fig: Figure, path: Path) -> Path:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=110)
    return atomic_write_bytes(path, buffer.getvalue())
