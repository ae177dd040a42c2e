"""What a federated run adds to a run directory: ``RUN/logs/rounds.json``, one record per round.

A federated run directory has the usual ``config.json``, ``modality.json`` and
``weights.safetensors`` (:mod:`genlab.sampling.run_dir`), so it loads and evaluates like any run,
and its rounds' statistics: per round the clients that took part, the bytes sent (server to
clients, clients to server, total), each client's and the server's metrics, and, when the engine
monitors, every target's held-out accuracy after the round; a Flower run also the bytes of the
serialised arrays. ``pretraining`` holds the metrics of the server's source pre-training. Nothing
here imports the trainer's library.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from genlab.errors import GenlabError
from genlab.utils.atomic import atomic_write_json, json_safe

ROUNDS_FILE = Path("logs") / "rounds.json"


@dataclass
class RoundBytes:
    """Bytes of the tensors sent in one round: server -> clients, clients -> server, both."""

    broadcast: int
    upload: int

    @property
    def total(self) -> int:
        return self.broadcast + self.upload


@dataclass
class RoundRecord:
    """One round's statistics."""

    round: int
    clients: list[int]
    bytes: RoundBytes
    client_metrics: dict[int, dict[str, float]]
    server_metrics: dict[str, float]
    seconds: float
    accuracy: dict[str, float] = field(default_factory=dict)  # target name -> held-out accuracy
    serialized_bytes: RoundBytes | None = None  # Flower: the bytes of the serialised arrays

    def to_json(self) -> dict[str, Any]:
        out = asdict(self)
        out["bytes"]["total"] = self.bytes.total
        if self.serialized_bytes is not None:
            out["serialized_bytes"]["total"] = self.serialized_bytes.total
        out["client_metrics"] = {str(k): v for k, v in self.client_metrics.items()}
        return json_safe(out)


def write_rounds(root: str | Path, pretraining: dict[str, Any], rounds: list[RoundRecord]) -> Path:
    """``RUN/logs/rounds.json`` (atomically), rewritten after every round."""
    path = Path(root) / ROUNDS_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    return atomic_write_json(path, {"pretraining": json_safe(pretraining), "rounds": [r.to_json() for r in rounds]})


def read_rounds(root: str | Path) -> list[dict[str, Any]]:
    """The round records of a federated run ([] for any other run)."""
    path = Path(root) / ROUNDS_FILE
    if not path.is_file():
        return []
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return list(data["rounds"])
    except (ValueError, KeyError, TypeError) as exc:
        raise GenlabError(f"cannot read the rounds' record: {exc}", path=path) from None
