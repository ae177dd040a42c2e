"""Few-shot transfer data: a labelled base set and an unlabelled target pool, registered in
``DATASETS`` as ``few_shot_transfer``.

The setting of Phoo & Hariharan (2021, "Self-training for few-shot transfer across extreme task
differences"): a model is trained on a labelled **base** set (``base``: any data section of
labelled images, e.g. ``{name: mnist}``), may read unlabelled images of a very different
**target** domain, and is judged on few-shot tasks of new target classes. The target here is
Omniglot (Lake et al. 2015, :mod:`genlab.data.omniglot`): the characters of the ``background``
set are split by a seeded permutation (``split_seed``) into

* the **unlabelled pool**, round(``pool_fraction`` × characters) of them, every drawing: the
  target half of each training batch (no character labels are handed out);
* the **evaluation characters**, all the others, every drawing: the held-out split, labelled by
  character, on which the few-shot evaluator draws its episodes.

No character, so no image, is in both (:func:`split_characters`). A training item is one pool
image; :class:`TransferCollate` stacks a batch of them into a :class:`TransferBatch` and adds as
many base examples, drawn without replacement by a generator seeded with ``seed`` and the batch's
pool indices — a pure function of the batch, as the trainer's resumable batch stream needs.
Base and target images must have the same shape (``size`` × ``size``, one channel): otherwise a
one-line error names ``data.size``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping, Sequence

import numpy as np
import torch
from torch import Tensor
from torch.utils.data import Dataset

from genlab.data.bundle import DataBundle
from genlab.data.labelled import LabelledItems, scale_uint8
from genlab.data.omniglot import BACKGROUNDS, SIDE, background_pool
from genlab.data.registry import DATASETS
from genlab.errors import ConfigError, DataError
from genlab.modalities.base import LabelledBatch
from genlab.modalities.images import ImagesModality
from genlab.utils import checks


@dataclass
class TransferBatch:
    """One training batch: labelled base examples and unlabelled target images, both in the images
    modality's data range [−1, 1]."""

    base: LabelledBatch  # inputs (B, C, H, W), labels (B,)
    target: Tensor  # (B, C, H, W)


@dataclass(frozen=True)
class CharacterSplit:
    """The target's characters (indices into the archive's character names), disjoint."""

    pool: np.ndarray  # (P,)
    evaluation: np.ndarray  # (E,)


def split_characters(characters: np.ndarray, pool_fraction: float, split_seed: int) -> CharacterSplit:
    """A seeded permutation of the distinct ``characters``: the first round(fraction × C) form the
    pool, the rest the evaluation characters (each part sorted)."""
    distinct = np.unique(characters)  # (C,)
    order = np.random.default_rng([split_seed]).permutation(len(distinct))
    n_pool = int(round(pool_fraction * len(distinct)))
    return CharacterSplit(np.sort(distinct[order[:n_pool]]), np.sort(distinct[order[n_pool:]]))


class PoolItems(Dataset):
    """Item i is ``(i, image_i)``, the image (C, H, W) in [−1, 1]; the index lets the collate draw
    the batch's base examples from the batch alone."""

    def __init__(self, images: Tensor) -> None:
        self.images = images  # (N, C, H, W) uint8

    def __len__(self) -> int:
        return self.images.shape[0]

    def __getitem__(self, i: int) -> tuple[int, Tensor]:
        return int(i), scale_uint8(self.images[i])


class TransferCollate:
    """``(i, image)`` pool items -> :class:`TransferBatch` with as many base examples, drawn without
    replacement from ``base`` by ``np.random.default_rng([seed, *sorted indices])``."""

    def __init__(self, base: Dataset, base_collate: Any, seed: int) -> None:
        self.base, self.base_collate, self.seed = base, base_collate, seed

    def __call__(self, items: Sequence[tuple[int, Tensor]]) -> TransferBatch:
        if not items or not isinstance(items[0][0], int):
            raise ConfigError("a few_shot_transfer data set trains on its pool; its held-out characters are scored "
                              "by genlab evaluate, not by held-out losses (set train.val_every: 0)",
                              key="train.val_every")
        indices = sorted(i for i, _ in items)
        rng = np.random.default_rng([self.seed, *indices])
        drawn = rng.choice(len(self.base), size=min(len(items), len(self.base)), replace=False)  # (B,)
        base = self.base_collate([self.base[int(j)] for j in drawn])
        return TransferBatch(base=base, target=torch.stack([x for _, x in items]))  # target (B, C, H, W)


@DATASETS.register("few_shot_transfer")
def few_shot_transfer(base: Mapping[str, Any], size: int = 28, background: str = "both", pool_fraction: float = 0.5,
                      split_seed: int = 0, seed: int = 0) -> DataBundle:
    """``base`` (a data section of labelled images) beside Omniglot's ``background`` characters at
    ``size``, split into an unlabelled pool and held-out evaluation characters (module docstring)."""
    checks.one_of("background", background, BACKGROUNDS)
    checks.at_least("size", size, 1)
    checks.at_most("size", size, SIDE)
    checks.in_unit_interval("pool_fraction", pool_fraction, closed_low=False, closed_high=False)
    checks.non_negative("split_seed", split_seed)
    checks.non_negative("seed", seed)
    bundle = _base_bundle(base)
    first = bundle.collate([bundle.train[0]])
    shape = tuple(first.inputs.shape[1:])
    if shape != (1, size, size):
        raise ConfigError(f"the target images are 1×{size}×{size} but the base data's are {'×'.join(map(str, shape))}; "
                          "base and target images must have the same shape", key="data.size")
    pool = background_pool(size, background, rotations=False)
    split = split_characters(pool.character, pool_fraction, split_seed)
    if len(split.pool) == 0 or len(split.evaluation) < 2:
        raise checks.ImpossibleValue("pool_fraction", f"leaves {len(split.pool)} pool and {len(split.evaluation)} "
                                     "evaluation characters (need at least 1 and 2)", pool_fraction)
    in_pool = np.isin(pool.character, split.pool)  # (N,)
    pool_images = torch.from_numpy(np.ascontiguousarray(pool.images[in_pool]))  # (P, 1, s, s) uint8
    held_images = torch.from_numpy(np.ascontiguousarray(pool.images[~in_pool]))  # (E, 1, s, s) uint8
    held_classes = torch.from_numpy(pool.character[~in_pool])  # (E,) character ids
    return DataBundle(
        modality=ImagesModality(channels=1, height=size, width=size, levels=256),
        train=PoolItems(pool_images),
        heldout=LabelledItems(held_images, held_classes, transform=scale_uint8),
        collate=TransferCollate(bundle.train, bundle.collate, seed),
        info={"dataset": "few_shot_transfer", "base": dict(base), "background": background, "size": size,
              "pool_characters": split.pool.tolist(), "evaluation_characters": split.evaluation.tolist(),
              "pool_images": len(pool_images), "evaluation_images": len(held_images), "seed": seed},
    )


def _base_bundle(base: Mapping[str, Any]) -> DataBundle:
    if not isinstance(base, Mapping) or "name" not in base or base.get("name") == "few_shot_transfer":
        raise ConfigError("expected the data section of a labelled image dataset (e.g. {name: mnist})",
                          key="data.base")
    try:
        bundle = DATASETS.build(base)
    except ConfigError as exc:  # name the nested key: data.base.<key>
        if exc.key and exc.key.startswith("data"):
            exc.key = "data.base" + exc.key[len("data"):]
        raise
    first = bundle.collate([bundle.train[0]]) if bundle.collate is not None else None
    if not isinstance(first, LabelledBatch) or first.inputs.ndim != 4:
        raise DataError(f"'{base['name']}' does not yield labelled images; the base set must", key="data.base")
    return bundle
