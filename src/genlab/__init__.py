"""genlab: train, sample and fairly compare deep generative models.

Read ``docs/architecture.md`` first: four axes (modality, process, network, family) that never
leak into each other, one trainer, one data pipeline and one metric suite.

>>> import genlab
>>> run = genlab.train("configs/points/flow_matching.yaml", out="runs/fm")
>>> samples = run.sample(1000, seed=0).samples
"""

from __future__ import annotations

from typing import Any

__version__ = "0.1.0"
__all__ = ["train", "resume", "load", "evaluate", "__version__"]

_LAZY = {"train": "genlab.api", "resume": "genlab.api", "load": "genlab.api", "evaluate": "genlab.metrics.evaluate"}


def __getattr__(name: str) -> Any:
    """Import the API on first use, so ``import genlab`` stays light (no torch, no RDKit)."""
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'genlab' has no attribute {name!r}")
