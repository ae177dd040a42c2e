"""MNIST-format IDX files, registered in ``DATASETS`` as ``idx``.

The IDX format of LeCun et al.'s MNIST distribution (``train-images-idx3-ubyte``,
``train-labels-idx1-ubyte``, optionally gzipped): a big-endian 32-bit magic number — 2051
(0x00000803: unsigned bytes, 3 dimensions) for images, 2049 (0x00000801: unsigned bytes, 1
dimension) for labels — then one big-endian 32-bit size per dimension, then the bytes. A wrong
magic number, a file shorter than its header says, or image and label files of different counts
are a one-line :class:`~genlab.errors.DataError` naming the file. Fashion-MNIST, KMNIST and EMNIST
ship in the same format.
"""

from __future__ import annotations

import gzip
import zlib
from pathlib import Path

import numpy as np
import torch

from genlab.data.bundle import DataBundle
from genlab.data.labelled import LabelledItems, collate_labelled, scale_uint8
from genlab.data.registry import DATASETS
from genlab.errors import DataError
from genlab.modalities.images import ImagesModality
from genlab.utils import checks

#: magic number -> (what the file holds, number of dimensions)
MAGIC = {2051: ("images", 3), 2049: ("labels", 1)}
GZIP_MAGIC = b"\x1f\x8b"


def read_bytes(path: str | Path) -> bytes:
    """The file's bytes, gunzipped when it starts with the gzip magic (whatever its name)."""
    path = Path(path)
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise DataError("no such file", path=path) from None
    except OSError as exc:
        raise DataError(f"cannot read: {exc.strerror or exc}", path=path) from None
    if raw[:2] != GZIP_MAGIC:
        return raw
    try:
        return gzip.decompress(raw)
    except EOFError:
        raise DataError("truncated gzip stream (the download stopped early?)", path=path) from None
    except (OSError, zlib.error) as exc:
        raise DataError(f"corrupt gzip stream: {exc}", path=path) from None


def read_idx(path: str | Path, kind: str) -> np.ndarray:
    """An IDX file of ``kind`` ("images": (N, H, W) uint8; "labels": (N,) uint8)."""
    path = Path(path)
    data = read_bytes(path)
    if len(data) < 4:
        raise DataError(f"truncated: {len(data)} bytes, not even the 4-byte magic number", path=path)
    magic = int.from_bytes(data[:4], "big")
    expected = next(m for m, (k, _) in MAGIC.items() if k == kind)
    if magic != expected:
        found = f" (that of an IDX {MAGIC[magic][0]} file)" if magic in MAGIC else ""
        raise DataError(f"magic number {magic}{found}; an IDX {kind} file starts with {expected}", path=path)
    ndim = MAGIC[magic][1]
    header = 4 + 4 * ndim
    if len(data) < header:
        raise DataError(f"truncated: {len(data)} bytes, shorter than the {header}-byte header", path=path)
    shape = tuple(int.from_bytes(data[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim))
    size = int(np.prod(shape, dtype=np.int64))
    if len(data) - header < size:
        raise DataError(f"truncated: the header says {' x '.join(map(str, shape))} = {size} bytes of {kind}, "
                        f"the file holds {len(data) - header}", path=path)
    if len(data) - header > size:
        raise DataError(f"{len(data) - header - size} bytes after the {size} bytes the header announces", path=path)
    return np.frombuffer(data, dtype=np.uint8, count=size, offset=header).reshape(shape)


def read_labelled(images_path: str | Path, labels_path: str | Path) -> tuple[np.ndarray, np.ndarray]:
    """(images (N, H, W), labels (N,)) of one image file and its label file; the counts must agree."""
    images, labels = read_idx(images_path, "images"), read_idx(labels_path, "labels")
    if len(images) != len(labels):
        raise DataError(f"{len(images)} images but {len(labels)} labels in {labels_path}", path=images_path)
    if len(images) == 0:
        raise DataError("holds no images", path=images_path)
    return images, labels


def _items(images: np.ndarray, labels: np.ndarray) -> LabelledItems:
    inputs = torch.from_numpy(images[:, None].copy())  # (N, 1, H, W) uint8
    return LabelledItems(inputs, torch.from_numpy(labels.astype(np.int64)), transform=scale_uint8)


@DATASETS.register("idx")
def idx(train_images: str, train_labels: str, heldout_images: str | None = None, heldout_labels: str | None = None,
        heldout_fraction: float = 0.1, split_seed: int = 0) -> DataBundle:
    """User IDX files (e.g. MNIST's ``train-images-idx3-ubyte.gz`` and ``train-labels-idx1-ubyte.gz``);
    held out: the given files (e.g. ``t10k-*``), else a ``heldout_fraction`` of the training files
    drawn with ``split_seed``. Batches are ``LabelledBatch(inputs (B, 1, H, W) in [-1, 1], labels (B,))``."""
    if (heldout_images is None) != (heldout_labels is None):
        missing = "heldout_labels" if heldout_labels is None else "heldout_images"
        raise DataError("held-out images and labels come together", key=f"data.{missing}")
    images, labels = read_labelled(train_images, train_labels)
    if heldout_images is not None:
        held_images, held_labels = read_labelled(heldout_images, heldout_labels)
        if held_images.shape[1:] != images.shape[1:]:
            raise DataError(f"images of {held_images.shape[1:]} pixels, the training images "
                            f"{images.shape[1:]}", path=heldout_images)
    else:
        checks.in_unit_interval("heldout_fraction", heldout_fraction, closed_low=False, closed_high=False)
        n_heldout = max(1, int(round(heldout_fraction * len(images))))
        if n_heldout >= len(images):
            raise DataError(f"{len(images)} images leave none for training after {n_heldout} held out",
                            path=train_images)
        order = np.random.default_rng(split_seed).permutation(len(images))
        held_images, held_labels = images[order[:n_heldout]], labels[order[:n_heldout]]
        images, labels = images[order[n_heldout:]], labels[order[n_heldout:]]
    _, height, width = images.shape
    return DataBundle(
        modality=ImagesModality(channels=1, height=height, width=width, levels=256),
        train=_items(images, labels),
        heldout=_items(held_images, held_labels),
        collate=collate_labelled,
        info={"dataset": str(train_images), "split_seed": split_seed},
    )
