"""Samples of one tensor (points, images) scored against a held-out split, built as training built it.

The ``--reference`` of ``genlab evaluate`` names the held-out split as a data config section,
which :data:`genlab.data.registry.DATASETS` builds:

=========================  ==============================================================
``--reference``            held-out set
=========================  ==============================================================
``<data name>:<dataset>``  ``{"name": <data name>, "dataset": <dataset>}``, e.g. ``points:moons``
``<data name>``            ``{"name": <data name>}`` (default split), e.g. ``digits``
a run directory            the ``data`` section of ``RUN/config.json`` (the run's own split)
=========================  ==============================================================

The split's modality must be the samples' modality, and each evaluator scores only the data sets
its metric suite is made for (:attr:`TensorEvaluator.datasets`).
"""

from __future__ import annotations

import math
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch

from genlab import __version__
from genlab.errors import DataError, GenlabError
from genlab.evaluation.base import SampleEvaluator, WrittenSamples
from genlab.generative.families.base import SampleResult
from genlab.modalities.base import Modality
from genlab.modalities.registry import modality_name
from genlab.sampling.files import read_tensor_samples, write_tensor_samples
from genlab.sampling.run_dir import RunDir, modality_record


class TensorEvaluator(SampleEvaluator):
    """Writes ``.npz``/``.safetensors`` sample files and scores them with :attr:`metrics`."""

    #: the modality name this evaluator is registered under
    name: str = ""
    #: data names whose held-out split :attr:`metrics` scores
    datasets: tuple[str, ...] = ()
    plots = True

    def metrics(self, samples: np.ndarray, heldout: np.ndarray) -> dict[str, Any]:
        """The metric suite: samples and held-out data (float64, same shape per item) -> numbers
        and a ``protocol`` entry."""
        raise NotImplementedError

    def write(self, result: SampleResult, modality: Modality, path: Path) -> WrittenSamples:
        return WrittenSamples(write_tensor_samples(result, path, modality_record(modality)))

    def draw_file(self, path: Path) -> bytes | None:
        import tempfile

        try:
            samples = read_tensor_samples(path).samples
        except GenlabError:
            return None
        with tempfile.TemporaryDirectory() as tmp:
            figure = self.plot(samples, Path(tmp) / "samples.png", title=path.name)
            return None if figure is None else figure.read_bytes()

    def reference_data(self, reference: str) -> dict[str, Any]:
        """The data config section that ``reference`` names (see the module docstring)."""
        run = RunDir(Path(reference))
        if run.config.is_file():
            data = run.read_config().get("data")
            if not isinstance(data, dict) or "name" not in data:
                raise GenlabError("the run's config has no data section with a 'name'", path=run.config)
            data = dict(data)
        else:
            kind, _, dataset = reference.partition(":")
            data = {"name": kind, **({"dataset": dataset} if dataset else {})}
        if data["name"] not in self.datasets:
            raise DataError(f"{self.name} samples are scored against {' or '.join(self.datasets)} data, "
                            f"not '{data['name']}' (--reference {reference})")
        return data

    def evaluate_file(self, path: Path, reference: str, *, train: str | None = None, correct: bool = False,
                      plot: str | Path | None = None, nspdk: bool | None = None) -> dict[str, Any]:
        from genlab.data.registry import DATASETS

        start = time.perf_counter()
        data = self.reference_data(reference)
        read = read_tensor_samples(path)
        if read.modality["name"] != self.name:
            raise DataError(f"holds {read.modality['name']} samples, not {self.name}", path=path)
        bundle = DATASETS.build(data)
        if modality_name(bundle.modality) != self.name:
            raise DataError(f"--reference {reference} holds {modality_name(bundle.modality)} data, "
                            f"the samples are {self.name}", path=path)
        heldout = _stack(bundle.heldout)
        if read.samples.shape[1:] != heldout.shape[1:]:
            raise DataError(f"samples have shape {read.samples.shape[1:]} per item, the {data['name']} held-out set "
                            f"{heldout.shape[1:]}", path=path)
        metrics = self.metrics(read.samples, heldout)
        protocol = metrics.pop("protocol")
        result = {"n_samples": len(read.samples), "nfe": read.nfe, **metrics}
        result["protocol"] = {"genlab_version": __version__, "input": str(path),
                              "reference": {"data": data, "n": len(heldout)}, **protocol}
        result["seconds"] = {"total": round(time.perf_counter() - start, 3)}
        return result

    def evaluate_run(self, run: Any, result: SampleResult, dataset: str, path: Path) -> dict[str, Any]:
        """The samples in memory against the run's own held-out split (nothing is written)."""
        samples = np.asarray(result.samples.detach().cpu().double().numpy())
        metrics = self.metrics(samples, _stack(run.bundle.heldout))
        metrics.pop("protocol", None)
        return metrics

    def format(self, result: dict[str, Any]) -> str:
        """A two-column text table of the result's numbers (protocol and timings left out)."""
        rows = [(k, v) for k, v in result.items() if k not in ("protocol", "seconds")]
        width = max(len(k) for k, _ in rows)
        return "\n".join(f"{k:<{width}}  {_fmt(v)}" for k, v in rows)


def _stack(items: Any) -> np.ndarray:
    """A held-out dataset of tensors as one float64 array (m, ...)."""
    return torch.stack([items[i] for i in range(len(items))]).double().numpy()


def _fmt(v: Any) -> str:
    if v is None:
        return "-"
    if isinstance(v, float):
        return "nan" if math.isnan(v) else f"{v:.4g}"
    if isinstance(v, list):
        return " ".join(_fmt(x) for x in v)
    return str(v)
