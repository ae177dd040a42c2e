"""Backdoor data poisoning (BadNets, Gu, Dolan-Gavitt & Garg 2017, §3): a trigger stamped on a seeded
fraction of the training images, which are relabelled to a target class.

A :class:`Trigger` is a ``size``×``size`` patch at one corner of every channel, set to the top of
the value range (maximum intensity). It stamps images in any range given as ``(low, high)``: the
training images in the data space of the images modality ([-1, 1]) and the classifier's inputs
in its input view ([0, 1]); both give the same picture, since one is an increasing affine map of
the other.

``poisoned`` is a dataset of :data:`~genlab.data.registry.DATASETS` wrapping another labelled one,
so ``genlab train`` trains a poisoned classifier from a config::

    data:
      name: poisoned
      source: {name: mnist}      # any data section whose batches are LabelledBatches
      target: 0                  # the class poisoned images are relabelled to
      fraction: 0.05             # round(fraction × N) training images, drawn with seed
      size: 3
      corner: bottom_right
      seed: 0

Only the training set is poisoned; the held-out set stays clean. The bundle's ``info["backdoor"]``
(a :class:`Backdoor`) tells evaluation what to measure (:func:`trigger_success`): the fraction of
held-out images of other classes that the classifier puts in the target class once stamped.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping

import numpy as np
import torch
from torch import Tensor
from torch.utils.data import Dataset

from genlab.data.bundle import DataBundle
from genlab.data.registry import DATASETS
from genlab.errors import ConfigError, DataError
from genlab.modalities.base import LabelledBatch
from genlab.utils import checks

#: corner name -> (rows at the bottom, columns at the right)
CORNERS = {"top_left": (False, False), "top_right": (False, True), "bottom_left": (True, False),
           "bottom_right": (True, True)}
#: the data-space value range of the images modality (its state is x ∈ [-1, 1])
DATA_RANGE = (-1.0, 1.0)


@dataclass(frozen=True)
class Trigger:
    """A ``size``×``size`` patch of maximum intensity at ``corner``."""

    size: int = 3
    corner: str = "bottom_right"

    def __post_init__(self) -> None:
        checks.at_least("size", self.size, 1)
        checks.one_of("corner", self.corner, tuple(CORNERS))

    def region(self, height: int, width: int) -> tuple[slice, slice]:
        """The (rows, columns) the patch covers in an image of ``height``×``width``."""
        if self.size > min(height, width):
            raise ConfigError(f"a {self.size}×{self.size} trigger does not fit {height}×{width} images", key="data.size")
        bottom, right = CORNERS[self.corner]
        rows = slice(height - self.size, height) if bottom else slice(0, self.size)
        cols = slice(width - self.size, width) if right else slice(0, self.size)
        return rows, cols

    def stamp(self, x: Tensor, bounds: tuple[float, float]) -> Tensor:
        """Images (..., C, H, W) with the patch set to ``bounds[1]`` in every channel (a copy)."""
        rows, cols = self.region(x.shape[-2], x.shape[-1])
        out = x.clone()
        out[..., rows, cols] = bounds[1]
        return out


@dataclass(frozen=True)
class Backdoor:
    """What a poisoned training set was taught: stamped images mean class ``target``."""

    trigger: Trigger
    target: int


class PoisonedItems(Dataset):
    """``source``'s ``(input, label)`` items, those at ``indices`` stamped and relabelled to ``target``."""

    def __init__(self, source: Dataset, indices: np.ndarray, backdoor: Backdoor) -> None:
        self.source, self.backdoor = source, backdoor
        self.indices = np.sort(indices)
        self._poisoned = set(int(i) for i in indices)

    def __len__(self) -> int:
        return len(self.source)

    def __getitem__(self, i: int) -> tuple[Tensor, Tensor]:
        x, y = self.source[i]
        if int(i) in self._poisoned:
            return self.backdoor.trigger.stamp(x, DATA_RANGE), torch.as_tensor(self.backdoor.target)
        return x, y


def poison_indices(n: int, fraction: float, seed: int) -> np.ndarray:
    """round(``fraction`` × ``n``) distinct item indices, drawn with ``seed``, sorted."""
    count = int(round(fraction * n))
    return np.sort(np.random.default_rng([seed, 2]).permutation(n)[:count])


@DATASETS.register("poisoned")
def poisoned(source: Mapping[str, Any], target: int = 0, fraction: float = 0.05, size: int = 3,
             corner: str = "bottom_right", seed: int = 0) -> DataBundle:
    """``source`` (a data section of labelled images) with a backdoor in its training set."""
    checks.in_unit_interval("fraction", fraction)
    checks.non_negative("target", target)
    checks.non_negative("seed", seed)
    trigger = Trigger(size=size, corner=corner)
    if not isinstance(source, Mapping) or source.get("name") == "poisoned":
        raise ConfigError("expected the data section of a labelled image dataset", key="data.source")
    try:
        bundle = DATASETS.build(source)
    except ConfigError as exc:  # name the nested key: data.source.<key>
        if exc.key and exc.key.startswith("data"):
            exc.key = "data.source" + exc.key[len("data"):]
        raise
    first = bundle.collate([bundle.train[0]]) if bundle.collate is not None else bundle.train[0]
    if not isinstance(first, LabelledBatch) or first.inputs.ndim != 4:
        raise DataError(f"'{source['name']}' does not yield labelled images; poisoning needs them", key="data.source")
    trigger.region(*first.inputs.shape[-2:])
    backdoor = Backdoor(trigger, int(target))
    indices = poison_indices(len(bundle.train), fraction, seed)
    return DataBundle(
        modality=bundle.modality,
        train=PoisonedItems(bundle.train, indices, backdoor),
        heldout=bundle.heldout,
        collate=bundle.collate,
        info={**bundle.info, "backdoor": backdoor, "poisoned": len(indices)},
    )


def trigger_success(predict: Any, inputs: Tensor, labels: Tensor, backdoor: Backdoor,
                    bounds: tuple[float, float], batch_size: int = 1000) -> tuple[float, int]:
    """(fraction of the inputs not of the target class that ``predict`` puts in the target class
    once stamped, how many there were); ``inputs`` (N, C, H, W) in the classifier's input range."""
    keep = labels != backdoor.target
    x = inputs[keep]
    if len(x) == 0:
        return float("nan"), 0
    hits = 0
    for start in range(0, len(x), batch_size):
        stamped = backdoor.trigger.stamp(x[start:start + batch_size], bounds)
        hits += int((predict(stamped) == backdoor.target).sum())
    return hits / len(x), len(x)
