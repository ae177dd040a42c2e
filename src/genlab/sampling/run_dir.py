"""A run directory: where ``genlab train`` puts what it writes and ``genlab sample`` reads it.

Layout of ``RUN/``::

    config.json                 the resolved config: every constructor default filled in
    modality.json               the modality, {"name": <MODALITIES name>, **modality.config()}
    weights.safetensors         EMA weights of the family (what sampling uses)
    checkpoints/last.safetensors + last.json   full training state, for --resume
    logs/metrics.csv            training and held-out metrics (Lightning's CSV logger)
    logs/tensorboard/           the same metrics for TensorBoard
    samples/                    files written by ``genlab sample``
    plots/                      figures written next to the samples

``config.json``, ``modality.json`` and ``weights.safetensors`` are all that sampling needs (plain
text and plain tensors): the modality is rebuilt from its own record, so sampling never loads the
training data. A run written before ``modality.json`` existed rebuilds it from the data instead.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from genlab.errors import GenlabError
from genlab.modalities.base import Modality
from genlab.modalities.registry import MODALITIES, modality_name
from genlab.utils.atomic import atomic_write_json


@dataclass(frozen=True)
class RunDir:
    """Paths inside a run directory."""

    root: Path

    @property
    def config(self) -> Path:
        return self.root / "config.json"

    @property
    def modality(self) -> Path:
        return self.root / "modality.json"

    @property
    def weights(self) -> Path:
        return self.root / "weights.safetensors"

    @property
    def checkpoint(self) -> Path:
        """Checkpoint stem: ``last.safetensors`` and ``last.json`` (see training.checkpoint)."""
        return self.root / "checkpoints" / "last"

    @property
    def logs(self) -> Path:
        return self.root / "logs"

    @property
    def samples(self) -> Path:
        return self.root / "samples"

    @property
    def plots(self) -> Path:
        return self.root / "plots"

    def read_config(self) -> dict[str, Any]:
        if not self.config.is_file():
            raise GenlabError("not a genlab run (no config.json)", path=self.root)
        config = _read_json(self.config)
        if not isinstance(config, dict):
            raise GenlabError("a config must be a mapping of sections", path=self.config)
        return config

    def write_modality(self, modality: Modality) -> Path:
        """``modality.json``: the modality's registry name and constructor arguments, atomically."""
        return atomic_write_json(self.modality, modality_record(modality))

    def read_modality(self) -> dict[str, Any] | None:
        """The ``modality.json`` record, or ``None`` for a run saved before runs had one."""
        if not self.modality.is_file():
            return None
        record = _read_json(self.modality)
        if not isinstance(record, dict) or "name" not in record:
            raise GenlabError("a modality record must be a mapping with a 'name'", path=self.modality)
        return record

    def build_modality(self) -> Modality | None:
        """The modality rebuilt from ``modality.json`` (``None`` without one)."""
        record = self.read_modality()
        return None if record is None else MODALITIES.build(record)


def modality_record(modality: Modality) -> dict[str, Any]:
    """``{"name": <registry name>, **modality.config()}``: what ``MODALITIES.build`` takes back."""
    return {"name": modality_name(modality), **modality.config()}


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except ValueError as exc:
        raise GenlabError(f"invalid JSON: {exc}", path=path) from None
