"""``EVALUATORS``: modality name -> its :class:`~genlab.evaluation.base.SampleEvaluator`.

Keyed by the names of :data:`genlab.modalities.registry.MODALITIES` (``points``, ``images``,
``molecules``), so every caller finds the evaluator from what it holds:

* a modality (``genlab sample``, ``genlab bench``): :func:`evaluator_for`;
* a sample file (``genlab evaluate``, ``genlab report``): :func:`evaluator_for_file` — a tensor
  sample file names its modality (:mod:`genlab.sampling.files`), every other file is a molecule
  file (SMILES lines or a graph-sample ``.safetensors``), as :mod:`genlab.metrics.samples` reads it;
* a ``genlab bench`` data name (``qm9``, ``moses``, ``points``, ``digits``): :func:`evaluator_for_dataset`.

The first lookup imports every evaluator module, so those import their heavy dependencies
(matplotlib, the metric suites) where they use them: ``genlab sample`` loads only what writing
its samples needs.
"""

from __future__ import annotations

from pathlib import Path

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


def evaluator_for_dataset(dataset: str) -> SampleEvaluator:
    for name in EVALUATORS.names():
        if dataset in EVALUATORS.get(name).bench_datasets:
            return evaluator(name)
    known = sorted(d for name in EVALUATORS.names() for d in EVALUATORS.get(name).bench_datasets)
    raise ConfigError(f"no evaluator scores '{dataset}'; known: {', '.join(known)}", key="modality")
