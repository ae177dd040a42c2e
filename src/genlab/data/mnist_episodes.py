"""Few-shot episodes on MNIST with disjoint digit classes, registered in ``DATASETS`` as
``mnist_episodes``.

Meta-training tasks are drawn from MNIST's 50,000 training images of the ``train_classes``;
held-out tasks from its 10,000 test images of the ``test_classes``, so held-out tasks are new
classes drawn by writers never seen in training. The two lists must not share a class. Items are
:class:`~genlab.data.episodes.Task`\\ s of (1, 28, 28) images in [-1, 1] (the images modality's
data) and labels 0..n_way-1; ``per_class`` keeps that many images of each class (the first ones
of a seeded draw) where a smaller pool is wanted.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np
import torch

from genlab.data.bundle import DataBundle
from genlab.data.episodes import EpisodeSet, collate_tasks
from genlab.data.labelled import scale_uint8
from genlab.data.mnist import SIZE, cached_arrays
from genlab.data.registry import DATASETS
from genlab.errors import ConfigError
from genlab.modalities.images import ImagesModality
from genlab.utils import checks


def _classes(name: str, classes: Sequence[int]) -> list[int]:
    values = list(classes)
    if not values:
        raise ConfigError("lists no class", key=f"data.{name}")
    for c in values:
        if isinstance(c, bool) or not isinstance(c, int) or not 0 <= c <= 9:
            raise ConfigError(f"MNIST's classes are the digits 0..9, got {c!r}", key=f"data.{name}")
    if len(set(values)) != len(values):
        raise ConfigError(f"lists a class twice: {values}", key=f"data.{name}")
    return values


def _pool(images: np.ndarray, labels: np.ndarray, classes: list[int], per_class: int | None,
          rng: np.random.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """The images (N, 1, 28, 28) uint8 and labels (N,) of ``classes``, at most ``per_class`` each."""
    keep = []
    for c in classes:
        members = np.flatnonzero(labels == c)
        keep.append(members if per_class is None else np.sort(rng.permutation(members)[:per_class]))
    index = np.concatenate(keep)
    return torch.from_numpy(images[index][:, None].copy()), torch.from_numpy(labels[index].astype(np.int64))


@DATASETS.register("mnist_episodes")
def mnist_episodes(train_classes: Sequence[int] = (0, 1, 2, 3, 4), test_classes: Sequence[int] = (5, 6, 7, 8, 9),
                   n_way: int = 5, k_shot: int = 1, q_query: int = 15, per_class: int | None = None,
                   length: int = 100_000, heldout_length: int = 600, seed: int = 0) -> DataBundle:
    """N-way K-shot tasks: training tasks over ``train_classes`` (MNIST train split), ``heldout_length``
    held-out tasks over ``test_classes`` (test split); ``n_way`` at most the smaller list's size."""
    train, test = _classes("train_classes", train_classes), _classes("test_classes", test_classes)
    shared = sorted(set(train) & set(test))
    if shared:
        which = f"class {shared[0]} is" if len(shared) == 1 else f"classes {', '.join(map(str, shared))} are"
        raise ConfigError(f"{which} also in train_classes; meta-test classes must be new", key="data.test_classes")
    checks.at_least("length", length, 1)
    checks.at_least("heldout_length", heldout_length, 1)
    checks.non_negative("seed", seed)
    if per_class is not None:
        checks.at_least("per_class", per_class, 1)
    arrays = cached_arrays()
    sets = []
    for stream, (split, classes, n) in enumerate((("train", train, length), ("test", test, heldout_length))):
        rng = np.random.default_rng([seed, 2, stream])
        x, y = _pool(arrays[f"{split}_images"], arrays[f"{split}_labels"], classes, per_class, rng)
        sets.append(EpisodeSet(x, y, n_way=n_way, k_shot=k_shot, q_query=q_query, seed=seed + stream, length=n,
                               transform=scale_uint8))
    return DataBundle(modality=ImagesModality(channels=1, height=SIZE, width=SIZE, levels=256), train=sets[0],
                      heldout=sets[1], collate=collate_tasks,
                      info={"dataset": "mnist_episodes", "train_classes": train, "test_classes": test,
                            "n_way": n_way, "k_shot": k_shot, "q_query": q_query, "seed": seed})
