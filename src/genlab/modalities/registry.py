"""``MODALITIES``: name -> modality class. Datasets build their modality themselves
(:class:`~genlab.data.bundle.DataBundle`); this table lets a config or a test build one by name.
"""

from __future__ import annotations

from genlab.modalities.base import Modality
from genlab.modalities.images import ImagesModality
from genlab.modalities.points import PointsModality
from genlab.registry import Registry

MODALITIES: Registry[Modality] = Registry("modality")
MODALITIES.register("points")(PointsModality)
MODALITIES.register("images")(ImagesModality)
