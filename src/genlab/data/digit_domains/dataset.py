"""``DATASETS`` entry ``digit_domain``: one digit domain's train and test split, cached.

The first use of a domain with a ``seed`` builds it by its recipe
(:data:`~genlab.data.digit_domains.registry.DOMAINS`) and keeps the arrays in genlab's cache as
an ``.npz`` (read back with ``allow_pickle=False``), keyed by the domain, the seed and
:data:`RECIPE_VERSION` — bump the version when a recipe changes. Batches are
``LabelledBatch(inputs (B, 3, 32, 32) in [-1, 1], labels (B,))``.
"""

from __future__ import annotations

import zlib
from functools import lru_cache

import numpy as np
import torch

from genlab.data.bundle import DataBundle
from genlab.data.digit_domains.registry import DOMAINS, SIZE, DomainArrays
from genlab.data.labelled import LabelledItems, collate_labelled, scale_uint8
from genlab.data.registry import DATASETS
from genlab.errors import ConfigError, DataError
from genlab.modalities.images import ImagesModality
from genlab.paths import cache_dir
from genlab.utils import checks
from genlab.utils.atomic import atomic_write

RECIPE_VERSION = 1
FIELDS = ("train_images", "train_labels", "test_images", "test_labels")


def domain_arrays(domain: str, seed: int = 0) -> DomainArrays:
    """The domain's arrays (built once, then read from the cache); read-only."""
    DOMAINS.load_providers()
    if domain not in DOMAINS.names():
        raise ConfigError(f"unknown domain {domain!r}; domains: {', '.join(sorted(DOMAINS.names()))}",
                          key="data.domain")
    return _cached(domain, seed)


@lru_cache(maxsize=8)
def _cached(domain: str, seed: int) -> DomainArrays:
    target = cache_dir("digit_domains") / f"{domain}-seed{seed}-v{RECIPE_VERSION}.npz"
    if not target.is_file():
        arrays = DOMAINS.get(domain)(seed=seed)

        def write(tmp):
            with tmp.open("wb") as f:
                np.savez_compressed(f, **{k: getattr(arrays, k) for k in FIELDS})

        atomic_write(target, write)
    try:
        with np.load(target, allow_pickle=False) as archive:
            loaded = {k: archive[k] for k in FIELDS}
    except (OSError, ValueError, KeyError, zlib.error) as exc:
        raise DataError(f"cannot read the cached digit domain (delete the file to rebuild it): {exc}",
                        path=target) from None
    for a in loaded.values():
        a.setflags(write=False)
    return DomainArrays(**loaded)


def _items(images: np.ndarray, labels: np.ndarray, limit: int | None, key: str, rng: np.random.Generator) -> LabelledItems:
    if limit is not None:
        checks.at_least(key, limit, 1)
        checks.at_most(key, limit, len(labels))
        keep = np.sort(rng.permutation(len(labels))[:limit])
        images, labels = images[keep], labels[keep]
    inputs = torch.from_numpy(np.ascontiguousarray(images.transpose(0, 3, 1, 2)))  # (N, 3, 32, 32) uint8
    return LabelledItems(inputs, torch.from_numpy(labels.astype(np.int64)), transform=scale_uint8)


@DATASETS.register("digit_domain")
def digit_domain(domain: str = "mnist", seed: int = 0, limit: int | None = None,
                 limit_heldout: int | None = None) -> DataBundle:
    """The ``domain``'s training split and its test split held out, 3 × 32 × 32 RGB; ``limit`` and
    ``limit_heldout`` keep that many of each, drawn with ``seed``, which also seeds the recipe."""
    checks.non_negative("seed", seed)
    arrays = domain_arrays(domain, seed)
    rng = np.random.default_rng([seed, 0x444F])
    return DataBundle(
        modality=ImagesModality(channels=3, height=SIZE, width=SIZE, levels=256),
        train=_items(arrays.train_images, arrays.train_labels, limit, "limit", rng),
        heldout=_items(arrays.test_images, arrays.test_labels, limit_heldout, "limit_heldout", rng),
        collate=collate_labelled,
        info={"dataset": "digit_domain", "domain": domain, "seed": seed},
    )
