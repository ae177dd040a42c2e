"""Image datasets, registered in ``DATASETS`` as ``digits`` and ``npz``.

``digits``: scikit-learn's bundled ``load_digits`` (1,797 images 8×8, 17 grey levels 0..16, and
their classes 0..9 with ``labels: true``), scaled to [-1, 1] as x = y/8 - 1, shape (N, 1, 8, 8); a
fixed permutation (``split_seed``) puts ``n_heldout`` images aside.

``npz``: any user ``.npz`` holding uint8 images of shape (N, H, W) or (N, H, W, C), read with
``np.load(allow_pickle=False)`` and scaled as x = 2y/255 - 1 to (N, C, H, W); ``labels_key``
names an integer array of one class per image.

With labels (digits ``labels: true``, npz ``labels_key``) batches are
:class:`~genlab.modalities.base.LabelledBatch` of inputs and classes
(:mod:`genlab.data.labelled`), as a classifier needs; the modality encodes the inputs alone, so a
generative family trains on them unchanged. Without, items are the images and batches plain
(B, C, H, W) tensors.
"""

from __future__ import annotations

from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path
from typing import Any, Iterator

import numpy as np
import torch
from torch.utils.data import Dataset

from genlab.data.bundle import DataBundle
from genlab.data.labelled import LabelledItems, collate_labelled
from genlab.data.points import TensorItems
from genlab.data.registry import DATASETS
from genlab.errors import DataError
from genlab.modalities.images import ImagesModality


def _split(images: np.ndarray, n_heldout: int, split_seed: int,
           labels: np.ndarray | None = None) -> tuple[Dataset, Dataset]:
    """(train, held out) items: a fixed permutation puts ``n_heldout`` aside; labelled items when
    ``labels`` are given."""
    order = np.random.default_rng(split_seed).permutation(len(images))
    held, train = order[:n_heldout], order[n_heldout:]

    def items(keep: np.ndarray) -> Dataset:
        inputs = torch.from_numpy(images[keep].copy())
        if labels is None:
            return TensorItems(inputs)
        return LabelledItems(inputs, torch.from_numpy(labels[keep].astype(np.int64)))

    return items(train), items(held)


@lru_cache(maxsize=1)
def _digits_images() -> np.ndarray:
    from sklearn.datasets import load_digits

    raw = load_digits().images  # (1797, 8, 8) floats 0..16
    images = (raw / 8.0 - 1.0).astype(np.float32)[:, None]  # (N, 1, 8, 8)
    images.setflags(write=False)
    return images


@lru_cache(maxsize=1)
def _digits_labels() -> np.ndarray:
    from sklearn.datasets import load_digits

    labels = np.asarray(load_digits().target, dtype=np.int64)  # (1797,) classes 0..9
    labels.setflags(write=False)
    return labels


@DATASETS.register("digits")
def digits(n_heldout: int = 297, split_seed: int = 0, labels: bool = False) -> DataBundle:
    """scikit-learn 8×8 digits in [-1, 1]; batches are (B, 1, 8, 8) float tensors, or with
    ``labels`` ``LabelledBatch(inputs (B, 1, 8, 8), labels (B,))``."""
    train, heldout = _split(_digits_images(), n_heldout, split_seed, _digits_labels() if labels else None)
    return DataBundle(
        modality=ImagesModality(channels=1, height=8, width=8, levels=17),
        train=train,
        heldout=heldout,
        collate=collate_labelled if labels else None,
        info={"dataset": "digits", "split_seed": split_seed},
    )


@contextmanager
def _npz(path: Path) -> Iterator[Any]:
    """The opened ``.npz`` archive at ``path`` (pickle refused); errors name the file."""
    try:
        archive = np.load(path, allow_pickle=False)
    except FileNotFoundError:
        raise DataError("no such file", path=path) from None
    except (OSError, ValueError) as exc:
        raise DataError(f"cannot read as .npz: {exc}", path=path) from None
    with archive:
        if not hasattr(archive, "files"):
            raise DataError("expected an .npz archive, found a single .npy array", path=path)
        yield archive


def _array(archive: Any, path: Path, key: str, config_key: str) -> np.ndarray:
    names = list(archive.files)
    if key not in names:
        raise DataError(f"no array '{key}' in archive (has {names})", path=path, key=config_key)
    try:
        return archive[key]
    except ValueError as exc:  # object arrays need pickle, which we refuse
        raise DataError(f"array '{key}' cannot be read without pickle: {exc}", path=path) from None


def load_npz_images(path: str | Path, key: str | None = None, labels_key: str | None = None) -> np.ndarray:
    """uint8 images from ``path`` as float32 (N, C, H, W) in [-1, 1]; errors name the file. Without
    ``key`` the archive's one array (besides ``labels_key``) is read."""
    path = Path(path)
    with _npz(path) as archive:
        if labels_key is not None and labels_key not in archive.files:
            raise DataError(f"no array '{labels_key}' in archive (has {list(archive.files)})", path=path,
                            key="data.labels_key")
        names = [name for name in archive.files if name != labels_key]
        if key is None:
            if len(names) != 1:
                raise DataError(f"archive holds {names}; set data.key to choose one", path=path)
            key = names[0]
        images = _array(archive, path, key, "data.key")
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


def load_npz_labels(path: str | Path, key: str, n: int) -> np.ndarray:
    """One non-negative integer class per image, (n,) int64, from array ``key`` of ``path``."""
    path = Path(path)
    with _npz(path) as archive:
        labels = _array(archive, path, key, "data.labels_key")
    if labels.dtype.kind not in "iu" or labels.ndim != 1:
        raise DataError(f"array '{key}' has dtype {labels.dtype} and shape {labels.shape}; expected one "
                        "integer class per image", path=path)
    if len(labels) != n:
        raise DataError(f"array '{key}' holds {len(labels)} labels for {n} images", path=path)
    if labels.min() < 0:
        raise DataError(f"array '{key}' holds a negative class {labels.min()}", path=path)
    return labels.astype(np.int64)


@DATASETS.register("npz")
def npz(path: str, key: str | None = None, heldout_fraction: float = 0.1, split_seed: int = 0,
        labels_key: str | None = None) -> DataBundle:
    """User uint8 images; batches are (B, C, H, W) float tensors in [-1, 1], or with ``labels_key``
    ``LabelledBatch(inputs (B, C, H, W), labels (B,))``."""
    if not 0 < heldout_fraction < 1:
        raise DataError(f"heldout_fraction must be in (0, 1), got {heldout_fraction}", key="data.heldout_fraction")
    images = load_npz_images(path, key, labels_key)
    n, c, h, w = images.shape
    labels = None if labels_key is None else load_npz_labels(path, labels_key, n)
    n_heldout = max(1, int(round(heldout_fraction * n)))
    train, heldout = _split(images, n_heldout, split_seed, labels)
    return DataBundle(
        modality=ImagesModality(channels=c, height=h, width=w, levels=256),
        train=train,
        heldout=heldout,
        collate=None if labels is None else collate_labelled,
        info={"dataset": str(path), "split_seed": split_seed},
    )
