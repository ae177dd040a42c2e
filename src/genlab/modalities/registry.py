"""``MODALITIES``: name -> modality class. Datasets build their modality themselves
(:class:`~genlab.data.bundle.DataBundle`); this table lets a config, a test or a run directory's
``modality.json`` build one by name.
"""

from __future__ import annotations

from genlab.modalities.base import Modality
from genlab.modalities.images import ImagesModality
from genlab.modalities.points import PointsModality
from genlab.registry import Registry

MODALITIES: Registry[Modality] = Registry("modality", providers=("genlab.modalities.molecules",))
MODALITIES.register("points")(PointsModality)
MODALITIES.register("images")(ImagesModality)


def modality_name(modality: Modality) -> str:
    """The name ``modality``'s class is registered under."""
    for name in MODALITIES.names():
        if MODALITIES.get(name) is type(modality):
            return name
    raise ValueError(f"{type(modality).__name__} is not registered in MODALITIES")
