"""The colour photographs that scikit-image ships, the backgrounds of MNIST-M-style digits.

Ganin & Lempitsky (2015) cut MNIST-M's backgrounds from BSDS500 photographs; genlab cuts them
from the natural colour photographs in ``skimage/data`` (astronaut, chelsea, coffee, ...), read as
files with Pillow — scikit-image's code is not imported.
"""

from __future__ import annotations

import importlib.util
from functools import lru_cache
from pathlib import Path

import numpy as np

from genlab.errors import DataError

#: colour photographs in scikit-image's data folder (charts, drawings and grey images left out)
PHOTOS = ("astronaut.png", "chelsea.png", "coffee.png", "ihc.png", "motorcycle_left.png",
          "motorcycle_right.png", "hubble_deep_field.jpg", "retina.jpg", "rocket.jpg")


def photo_folder() -> Path:
    """``skimage/data`` of the installed scikit-image, found without importing it."""
    spec = importlib.util.find_spec("skimage")
    for folder in list(spec.submodule_search_locations or []) if spec is not None else []:
        path = Path(folder) / "data"
        if all((path / name).is_file() for name in PHOTOS):
            return path
    raise DataError("MNIST-M-style digits need the photographs of scikit-image: pip install scikit-image")


@lru_cache(maxsize=1)
def photographs() -> tuple[np.ndarray, ...]:
    """The photographs as (H, W, 3) uint8 arrays, in :data:`PHOTOS` order."""
    from PIL import Image

    folder = photo_folder()
    out = []
    for name in PHOTOS:
        with Image.open(folder / name) as image:
            array = np.asarray(image.convert("RGB"), dtype=np.uint8)
        array.setflags(write=False)
        out.append(array)
    return tuple(out)
