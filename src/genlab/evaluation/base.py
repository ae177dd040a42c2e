"""The contract of one modality's evaluator: write, draw and score its samples.

A new modality gets a new :class:`SampleEvaluator` subclass in its own file, registered in
:data:`genlab.evaluation.registry.EVALUATORS` under the modality's ``MODALITIES`` name.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from genlab.generative.families.base import SampleResult
from genlab.modalities.base import Modality


@dataclass
class WrittenSamples:
    """The files a writer wrote, and what it judged on the way (the molecule writer judges each
    graph's validity to write its SMILES file; :func:`genlab.metrics.evaluate.evaluate` takes the
    same verdicts, so samples are judged once)."""

    files: list[Path]
    judged: Any = None


class SampleEvaluator:
    """How the samples of one modality are written, drawn and scored."""

    #: data names whose ``genlab bench`` configs this evaluator scores (configs/<name>/)
    bench_datasets: tuple[str, ...] = ()
    #: the alt text of a drawn sample file in a report: "<what> of <file name>"
    drawing: str = "samples"
    #: whether :meth:`plot` draws a figure, and whether it draws reference data under the samples
    #: (callers build held-out data only when it does)
    plots: bool = False
    plot_reference: bool = False

    def write(self, result: SampleResult, modality: Modality, path: Path) -> WrittenSamples:
        """Write ``result`` in this modality's format at ``path``."""
        raise NotImplementedError

    def plot(self, samples: Any, path: Path, *, reference: Any = None, title: str | None = None) -> Path | None:
        """A figure of ``samples`` (over ``reference`` data where given) at ``path``; ``None``
        when the modality has none."""
        return None

    def draw_file(self, path: Path) -> bytes | None:
        """A PNG of a sample file for ``genlab report``; ``None`` when there is nothing to draw."""
        return None

    def evaluate_file(self, path: Path, reference: str, *, train: str | None = None, correct: bool = False,
                      plot: str | Path | None = None, nspdk: bool | None = None) -> dict[str, Any]:
        """``genlab evaluate``: the metrics of a sample file against ``reference`` (JSON-able).
        ``train``, ``correct``, ``plot`` and ``nspdk`` are the molecule options; other modalities
        ignore them."""
        raise NotImplementedError

    def evaluate_run(self, run: Any, result: SampleResult, dataset: str, path: Path) -> dict[str, Any]:
        """``genlab bench``: the metrics of ``result`` drawn from ``run`` against the held-out data
        of ``dataset`` (protocol and timings left out); an evaluator that scores files writes
        the samples at ``path``."""
        raise NotImplementedError

    def format(self, result: dict[str, Any]) -> str:
        """The printed table of an :meth:`evaluate_file` result."""
        raise NotImplementedError

    def notes(self, result: dict[str, Any]) -> list[str]:
        """Lines for standard error beside the table (e.g. the invalid lines of a SMILES file)."""
        return []

    def columns(self, dataset: str) -> tuple[str, ...]:
        """The metric columns of ``genlab bench`` tables for ``dataset``."""
        raise NotImplementedError
