"""The teacher of few-shot transfer: the network of a finished classifier run, read from its folder.

A teacher is an ordinary genlab run of the family ``classifier`` (``genlab train`` of e.g.
``configs/transfer/mnist_teacher.yaml``). :func:`load_teacher_weights` reads what such a run
directory holds — ``config.json`` (the family's name), ``modality.json`` (what one sample is) and
``weights.safetensors`` (the classifier's state dict, its network under ``network.``) — with
plain JSON and safetensors, and copies the network's tensors into a network the student's config
built. A missing folder, another family, another modality or a network section that builds
different tensors is a one-line :class:`ConfigError` naming ``family.teacher`` (or ``network``).
Nothing is unpickled.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from safetensors import SafetensorError
from safetensors.torch import load_file
from torch import nn

from genlab.errors import ConfigError
from genlab.modalities.base import Modality
from genlab.modalities.registry import modality_name

#: the family a teacher run must hold
TEACHER_FAMILY = "classifier"
#: the prefix of the classifier's network tensors in its state dict
NETWORK_PREFIX = "network."


def load_teacher_weights(teacher: str | Path, modality: Modality, network: nn.Module) -> None:
    """Copy the network weights of the classifier run ``teacher`` into ``network`` (in place)."""
    root = Path(teacher)
    config = _json(root / "config.json", "not a genlab run (no config.json)", teacher)
    family = config.get("family", {}).get("name") if isinstance(config.get("family"), dict) else None
    if family != TEACHER_FAMILY:
        raise ConfigError(f"{teacher} holds a {family} run, not a classifier run", key="family.teacher")
    record = _json(root / "modality.json", "the run has no modality.json (training did not finish?)", teacher)
    ours = {"name": modality_name(modality), **modality.config()}
    if record != ours:
        raise ConfigError(f"the teacher's data are {_describe(record)}, the student's {_describe(ours)}",
                          key="family.teacher")
    try:
        tensors = load_file(str(root / "weights.safetensors"))
    except FileNotFoundError:
        raise ConfigError(f"{teacher} has no weights.safetensors (training did not finish?)",
                          key="family.teacher") from None
    except (SafetensorError, OSError) as exc:
        raise ConfigError(f"cannot read {root / 'weights.safetensors'}: {exc}", key="family.teacher") from None
    state = {k[len(NETWORK_PREFIX):]: v for k, v in tensors.items() if k.startswith(NETWORK_PREFIX)}
    expected = network.state_dict()
    shapes = {k: tuple(v.shape) for k, v in state.items()}
    wanted = {k: tuple(v.shape) for k, v in expected.items()}
    if shapes != wanted:
        differ = sorted(k for k in shapes.keys() | wanted.keys() if shapes.get(k) != wanted.get(k))
        raise ConfigError(f"the network section builds other tensors than the teacher's ({teacher}/config.json, "
                          f"section network): {', '.join(differ[:3])}{' ...' if len(differ) > 3 else ''} differ",
                          key="network")
    network.load_state_dict(state, strict=True)


def _json(path: Path, missing: str, teacher: str | Path) -> dict[str, Any]:
    if not Path(teacher).is_dir():
        raise ConfigError(f"{teacher} is not a folder (the teacher's run directory)", key="family.teacher")
    if not path.is_file():
        raise ConfigError(f"{teacher}: {missing}", key="family.teacher")
    try:
        value = json.loads(path.read_text(encoding="utf-8"))
    except ValueError as exc:
        raise ConfigError(f"{path} is not JSON: {exc}", key="family.teacher") from None
    if not isinstance(value, dict):
        raise ConfigError(f"{path} does not hold a mapping", key="family.teacher")
    return value


def _describe(record: dict[str, Any]) -> str:
    if {"channels", "height", "width"} <= record.keys():
        return f"{record.get('name')} {record['channels']}×{record['height']}×{record['width']}"
    return str(record)
