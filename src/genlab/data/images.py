"""Image datasets, registered in ``DATASETS`` as ``digits`` and ``npz``.

``digits``: scikit-learn's bundled ``load_digits`` (1,797 images 8×8, 17 grey levels 0..16),
scaled to [-1, 1] as x = y/8 - 1, shape (N, 1, 8, 8); a fixed permutation (``split_seed``) puts
``n_heldout`` images aside.

``npz``: any user ``.npz`` holding uint8 images of shape (N, H, W) or (N, H, W, C), read with
``np.load(allow_pickle=False)`` and scaled as x = 2y/255 - 1 to (N, C, H, W).
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import numpy as np
import torch

from genlab.data.bundle import DataBundle
from genlab.data.points import TensorItems
from genlab.data.registry import DATASETS
from genlab.errors import DataError
from genlab.modalities.images import ImagesModality


def _split(images: np.ndarray, n_heldout: int, split_seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    order = np.random.default_rng(split_seed).permutation(len(images))
    held, train = order[:n_heldout], order[n_heldout:]
    return torch.from_numpy(images[train].copy()), torch.from_numpy(images[held].copy())


@lru_cache(maxsize=1)
def _digits_images() -> np.ndarray:
    from sklearn.datasets import load_digits

    raw = load_digits().images  # (1797, 8, 8) floats 0..16
    images = (raw / 8.0 - 1.0).astype(np.float32)[:, None]  # (N, 1, 8, 8)
    images.setflags(write=False)
    return images


@DATASETS.register("digits")
def digits(n_heldout: int = 297, split_seed: int = 0) -> DataBundle:
    """scikit-learn 8×8 digits in [-1, 1]; batches are (B, 1, 8, 8) float tensors."""
    images = _digits_images()
    train, heldout = _split(images, n_heldout, split_seed)
    return DataBundle(
        modality=ImagesModality(channels=1, height=8, width=8, levels=17),
        train=TensorItems(train),
        heldout=TensorItems(heldout),
        info={"dataset": "digits", "split_seed": split_seed},
    )


def load_npz_images(path: str | Path, key: str | None = None) -> np.ndarray:
    """uint8 images from ``path`` as float32 (N, C, H, W) in [-1, 1]; errors name the file."""
    path = Path(path)
    try:
        archive = np.load(path, allow_pickle=False)
    except FileNotFoundError:
        raise DataError("no such file", path=path) from None
    except (OSError, ValueError) as exc:
        raise DataError(f"cannot read as .npz: {exc}", path=path) from None
    with archive:
        if not hasattr(archive, "files"):
            raise DataError("expected an .npz archive, found a single .npy array", path=path)
        names = list(archive.files)
        if key is None:
            if len(names) != 1:
                raise DataError(f"archive holds {names}; set data.key to choose one", path=path)
            key = names[0]
        if key not in names:
            raise DataError(f"no array '{key}' in archive (has {names})", path=path, key="data.key")
        try:
            images = archive[key]
        except ValueError as exc:  # object arrays need pickle, which we refuse
            raise DataError(f"array '{key}' cannot be read without pickle: {exc}", path=path) from None
    if images.dtype != np.uint8:
        raise DataError(f"array '{key}' has dtype {images.dtype}; expected uint8 images", path=path)
    if images.ndim == 3:
        images = images[:, None]  # (N, 1, H, W)
    elif images.ndim == 4:
        images = images.transpose(0, 3, 1, 2)  # (N, H, W, C) -> (N, C, H, W)
    else:
        raise DataError(f"array '{key}' has shape {images.shape}; expected (N, H, W) or (N, H, W, C)",
                        path=path)
    if images.shape[0] < 2:
        raise DataError(f"array '{key}' holds {images.shape[0]} image(s); need at least 2", path=path)
    return (images.astype(np.float32) / 127.5 - 1.0).copy()


@DATASETS.register("npz")
def npz(path: str, key: str | None = None, heldout_fraction: float = 0.1, split_seed: int = 0) -> DataBundle:
    """User uint8 images; batches are (B, C, H, W) float tensors in [-1, 1]."""
    if not 0 < heldout_fraction < 1:
        raise DataError(f"heldout_fraction must be in (0, 1), got {heldout_fraction}", key="data.heldout_fraction")
    images = load_npz_images(path, key)
    n, c, h, w = images.shape
    n_heldout = max(1, int(round(heldout_fraction * n)))
    train, heldout = _split(images, n_heldout, split_seed)
    return DataBundle(
        modality=ImagesModality(channels=c, height=h, width=w, levels=256),
        train=TensorItems(train),
        heldout=TensorItems(heldout),
        info={"dataset": str(path), "split_seed": split_seed},
    )
