"""``DATASETS``: config ``data.name`` -> a function returning a :class:`~genlab.data.bundle.DataBundle`.

Entries register themselves in their own modules; importing this module imports them all.
"""

from __future__ import annotations

import importlib

from genlab.data.bundle import DataBundle
from genlab.registry import Registry

DATASETS: Registry[DataBundle] = Registry("data")

# modules that register datasets; each is owned by one concept
_PROVIDERS = ("genlab.data.points", "genlab.data.images", "genlab.data.graphs")


def load_providers() -> None:
    for module in _PROVIDERS:
        try:
            importlib.import_module(module)
        except ModuleNotFoundError as exc:  # a provider not written yet
            if exc.name != module:
                raise
