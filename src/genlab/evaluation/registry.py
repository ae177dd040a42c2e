"""``EVALUATORS``: modality name -> its :class:`~genlab.evaluation.base.SampleEvaluator`.

Keyed by the names of :data:`genlab.modalities.registry.MODALITIES` (``points``, ``images``,
``molecules``), so every caller finds the evaluator from what it holds:

* a modality (``genlab sample``, ``genlab bench``): :func:`evaluator_for`;
* a sample file (``genlab evaluate``, ``genlab report``): :func:`evaluator_for_file` — a tensor
  sample file names its modality (:mod:`genlab.sampling.files`), every other file is a molecule
  file (SMILES lines or a graph-sample ``.safetensors``), as :mod:`genlab.metrics.samples` reads it;
* a ``genlab bench`` data name (``qm9``, ``moses``, ``points``, ``digits``, ``mnist-robust``):
  :func:`evaluator_for_dataset`;
* a trained run (``genlab evaluate RUN``, ``genlab bench``): :func:`evaluator_for_run` — what the
  run's model is decides. A model class with an entry in :data:`RUN_EVALUATORS` (a classifier:
  :class:`~genlab.evaluation.classifier.ClassifierEvaluator`, which attacks it on held-out data)
  gets that evaluator; any other run, a generative one, its modality's.

The first lookup imports every evaluator module, so those import their heavy dependencies
(matplotlib, the metric suites) where they use them: ``genlab sample`` loads only what writing
its samples needs.
"""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Any, Callable

from genlab.errors import ConfigError
from genlab.evaluation.base import SampleEvaluator
from genlab.modalities.base import Modality
from genlab.modalities.registry import modality_name
from genlab.registry import Registry
from genlab.sampling.files import is_tensor_sample_file, read_tensor_samples

EVALUATORS: Registry[SampleEvaluator] = Registry("evaluator", providers=(
    "genlab.evaluation.points",
    "genlab.evaluation.images",
    "genlab.evaluation.molecules",
))

#: the evaluator of files that are not tensor sample files (SMILES files, graph-sample files)
MOLECULE_FILES = "molecules"

#: model class (a :class:`~genlab.trainable.Trainable` subclass) -> the evaluator class of runs of
#: it, filled by :func:`register_run_evaluator` in the modules of :data:`RUN_EVALUATOR_PROVIDERS`
RUN_EVALUATORS: dict[type, type] = {}
RUN_EVALUATOR_PROVIDERS = ("genlab.evaluation.classifier", "genlab.evaluation.continual", "genlab.evaluation.meta",
                           "genlab.evaluation.adaptation",
                           "genlab.evaluation.few_shot_transfer")


def register_run_evaluator(model: type) -> Callable[[type], type]:
    """Class decorator: the decorated evaluator evaluates runs whose model is a ``model``."""

    def decorate(cls: type) -> type:
        if model in RUN_EVALUATORS:
            raise ValueError(f"runs of {model.__name__} have an evaluator already")
        RUN_EVALUATORS[model] = cls
        return cls

    return decorate


def _run_evaluators() -> dict[type, type]:
    for module in RUN_EVALUATOR_PROVIDERS:
        importlib.import_module(module)
    return RUN_EVALUATORS


def evaluator(name: str) -> SampleEvaluator:
    """The evaluator registered under the modality name ``name``."""
    return EVALUATORS.get(name)()


def evaluator_for(modality: Modality) -> SampleEvaluator:
    return evaluator(modality_name(modality))


def evaluator_for_file(path: str | Path) -> SampleEvaluator:
    path = Path(path)
    if is_tensor_sample_file(path) and path.is_file():
        return evaluator(read_tensor_samples(path).modality["name"])
    return evaluator(MOLECULE_FILES)


def evaluator_for_run(run: Any) -> Any:
    """The evaluator of a trained run (a :class:`~genlab.sampling.run.Run`): the one registered for
    the nearest class of its model (in method resolution order), else its modality's."""
    table = _run_evaluators()
    for cls in type(run.family).__mro__:
        if cls in table:
            return table[cls]()
    return evaluator_for(run.modality)


def evaluator_for_dataset(dataset: str) -> Any:
    for name in EVALUATORS.names():
        if dataset in EVALUATORS.get(name).bench_datasets:
            return evaluator(name)
    for cls in _run_evaluators().values():
        if dataset in cls.bench_datasets:
            return cls()
    known = sorted(d for name in EVALUATORS.names() for d in EVALUATORS.get(name).bench_datasets)
    known += sorted(d for cls in RUN_EVALUATORS.values() for d in cls.bench_datasets)
    raise ConfigError(f"no evaluator scores '{dataset}'; known: {', '.join(known)}", key="modality")
