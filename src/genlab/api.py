"""The Python API: train, resume, load and sample in a few lines.

>>> from genlab.api import train, load
>>> run = train("configs/points/flow_matching.yaml", out="runs/fm", overrides={"train.max_steps": 2000})
>>> result = run.sample(1000, seed=0)               # SampleResult: (1000, 2) points and the NFE
>>> run = load("runs/fm")                           # later: the same samples for the same seed
>>> write_samples(run, result, "runs/fm/samples/fm.npz"); plot(run, result)
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any, Callable, Mapping

import torch

from genlab.config import apply_overrides, load_config
from genlab.errors import ConfigError, GenlabError
from genlab.evaluation.registry import evaluator_for
from genlab.generative.families.base import SampleResult
from genlab.paths import find_config
from genlab.sampling.run import Run
from genlab.sampling.run_dir import RunDir

__all__ = ["train", "resume", "load", "read_config", "write_samples", "plot"]


def read_config(config: str | Path | Mapping[str, Any],
                overrides: Mapping[str, Any] | list[str] | None = None) -> dict[str, Any]:
    """A config from a YAML/JSON file or a mapping, with overrides applied.

    ``overrides`` is either ``{"section.key": value}`` (values used as given) or the CLI's
    ``["section.key=value", ...]`` (values parsed as YAML scalars).
    """
    if isinstance(config, Mapping):
        data = copy.deepcopy(dict(config))
    else:
        data = load_config(config)
    if isinstance(overrides, (list, tuple)):
        return apply_overrides(data, list(overrides))
    for dotted, value in (overrides or {}).items():
        *sections, key = dotted.split(".")
        node = data
        for name in sections:
            node = node.setdefault(name, {})
            if not isinstance(node, dict):
                raise ConfigError(f"'{name}' is not a section", key=dotted)
        node[key] = value
    return data


def train(config: str | Path | Mapping[str, Any], out: str | Path,
          overrides: Mapping[str, Any] | list[str] | None = None, *, progress: bool = True) -> Run:
    """Train the config (a file or a mapping) into the new run directory ``out``; a config with a
    ``stream`` section goes to the stream runner (:mod:`genlab.training.continual`), a federated
    method (a :class:`~genlab.classifiers.adaptation.federated.FederatedModel`) to the round loop
    (:mod:`genlab.training.federated.engine`)."""
    source = None if isinstance(config, Mapping) else find_config(config)  # a path, or a shipped config's name
    try:
        data = read_config(source or config, overrides)
        return _runner(data)(data, out, progress=progress)
    except ConfigError as exc:  # name the file the bad key came from
        if exc.path is None and source is not None:
            exc.path = str(source)
        raise


def _runner(config: Mapping[str, Any]) -> Callable[..., Run]:
    """The training loop of a config: experience by experience, round by round, or the trainer's."""
    from genlab.classifiers.adaptation.federated import FederatedModel
    from genlab.training.continual import train_stream
    from genlab.training.federated.engine import train_federated
    from genlab.training.trainer import train as _train
    from genlab.trainable import FAMILIES

    if "stream" in config:
        return train_stream
    family = config.get("family")
    name = family.get("name") if isinstance(family, Mapping) else None
    FAMILIES.load_providers()
    model = FAMILIES.get(name) if isinstance(name, str) and name in FAMILIES else None
    if isinstance(model, type) and issubclass(model, FederatedModel):
        return train_federated
    return _train


def resume(out: str | Path, overrides: Mapping[str, Any] | list[str] | None = None, *,
           progress: bool = True) -> Run:
    """Continue the run in ``out`` from its last checkpoint (``overrides``: e.g. a larger
    ``train.max_steps``)."""
    from genlab.training.trainer import train as _train

    saved = RunDir(Path(out)).read_config()
    if _runner(saved) is not _train:
        raise GenlabError("a continual or federated run cannot be resumed; train it again", path=out)
    config = read_config(saved, overrides) if overrides else None
    return _train(config, out, resume=True, progress=progress)


def load(path: str | Path, device: str | torch.device = "cpu") -> Run:
    """A finished run, ready to sample."""
    return Run(path, device=device)


def write_samples(run: Run, result: SampleResult, path: str | Path) -> list[Path]:
    """Write ``result`` in the format of the run's modality (:mod:`genlab.evaluation.registry`);
    returns the files."""
    return evaluator_for(run.modality).write(result, run.modality, Path(path)).files


def plot(run: Run, result: SampleResult, path: str | Path | None = None) -> Path | None:
    """A figure of the samples (over held-out data where the modality draws it) at ``path``
    (default ``RUN/plots/samples.png``); ``None`` when the modality has no figure."""
    evaluator = evaluator_for(run.modality)
    if not evaluator.plots:
        return None
    reference = run.reference(len(result.samples)) if evaluator.plot_reference else None
    return evaluator.plot(result.samples, Path(path) if path else run.dir.plots / "samples.png", reference=reference)
