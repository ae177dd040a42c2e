"""Task streams: a labelled data bundle cut or transformed into a sequence of experiences.

:data:`STREAMS` maps a config's ``stream.name`` to a function of the stream's keys and the data
bundle (built from the config's ``data`` section; any labelled entry of
:data:`genlab.data.registry.DATASETS`: ``mnist``, ``digits`` with ``labels: true``, ...). Each
experience's test set is the bundle's held-out split, transformed or cut the same way.

* ``permuted`` (``n_tasks``, ``seed``, ``first_identity``): task t permutes the pixels of every
  input with a fixed permutation drawn from ``(seed, t)`` (Goodfellow et al. 2014; the benchmark
  of Kirkpatrick et al. 2017 and Saha et al. 2021). By default every task is permuted, as in
  Saha et al.'s GPM experiments; ``first_identity: true`` leaves task 0 unpermuted.
  Scenario ``domain``.
* ``split`` (``classes_per_task`` or ``groups``, ``scenario``): task t holds the classes of group
  t — consecutive runs of ``classes_per_task`` of the sorted classes, or the explicit disjoint
  ``groups`` (Zenke et al. 2017's split MNIST is ``classes_per_task: 2``). ``scenario: task``
  masks the logits to the experience's classes, ``scenario: class`` keeps one head.
* ``rotated`` (``angles``, ``fill``): task t rotates every input by ``angles[t]`` degrees
  (counter-clockwise, bilinear; Lopez-Paz & Ranzato 2017, §5); pixels rotated in from outside take
  the value ``fill`` (−1 is black in genlab's image data, which lie in [−1, 1]). Scenario ``domain``.

Overlapping groups, a class the data does not have and an experience without training or test
items are :class:`~genlab.errors.ConfigError`\\ s naming the key.
"""

from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor
from torch.utils.data import Subset

from genlab.classifiers.continual.experience import Experience, Stream, TransformedItems, labels_of
from genlab.data.bundle import DataBundle
from genlab.errors import ConfigError
from genlab.registry import Registry
from genlab.utils import checks

STREAMS: Registry[Stream] = Registry("stream")


class PixelPermutation:
    """``x ↦ x`` with its C·H·W values reordered by the fixed permutation ``perm``."""

    def __init__(self, perm: Tensor) -> None:
        self.perm = perm

    def __call__(self, x: Tensor) -> Tensor:
        return x.reshape(-1)[self.perm].reshape(x.shape)  # (C, H, W)


class Rotation:
    """``x ↦ x`` rotated by ``degrees`` about the image centre (bilinear), ``fill`` outside."""

    def __init__(self, degrees: float, fill: float) -> None:
        a = math.radians(degrees)
        # affine_grid maps output coordinates to input ones: the inverse rotation (y axis points down)
        self.theta = torch.tensor([[math.cos(a), -math.sin(a), 0.0], [math.sin(a), math.cos(a), 0.0]])
        self.fill = fill

    def __call__(self, x: Tensor) -> Tensor:
        image = x.float()[None] - self.fill  # (1, C, H, W), zero outside after the shift
        grid = F.affine_grid(self.theta[None].to(image), list(image.shape), align_corners=False)
        return (F.grid_sample(image, grid, mode="bilinear", padding_mode="zeros", align_corners=False)[0]
                + self.fill).to(x.dtype)  # (C, H, W)


def _check_items(bundle: DataBundle, key: str) -> None:
    if len(bundle.train) == 0 or len(bundle.heldout) == 0:
        raise ConfigError("every experience needs training and test items; the data has "
                          f"{len(bundle.train)} training and {len(bundle.heldout)} held-out items", key=key)


def _classes(bundle: DataBundle) -> tuple[int, ...]:
    return tuple(int(c) for c in torch.unique(labels_of(bundle.train)).tolist())


def _seeded_permutation(size: int, seed: int, task: int) -> Tensor:
    state = int(np.random.SeedSequence([seed, task]).generate_state(1)[0])
    return torch.randperm(size, generator=torch.Generator().manual_seed(state))  # (size,)


@STREAMS.register("permuted")
def permuted(n_tasks: int = 10, seed: int = 0, first_identity: bool = False, *, bundle: DataBundle) -> Stream:
    """``n_tasks`` pixel permutations of the whole data set (domain-incremental)."""
    checks.at_least("n_tasks", n_tasks, 1)
    checks.non_negative("seed", seed)
    _check_items(bundle, "data")
    size = bundle.train[0][0].numel()
    classes = _classes(bundle)
    experiences = []
    for t in range(n_tasks):
        perm = torch.arange(size) if (t == 0 and first_identity) else _seeded_permutation(size, seed, t)
        transform = PixelPermutation(perm)
        experiences.append(Experience(t, TransformedItems(bundle.train, transform),
                                      TransformedItems(bundle.heldout, transform), classes, f"permutation {t}"))
    return Stream(tuple(experiences), "domain")


@STREAMS.register("rotated")
def rotated(angles: list[float] | tuple[float, ...] = (0.0, 45.0, 90.0), fill: float = -1.0, *,
            bundle: DataBundle) -> Stream:
    """One task per angle (degrees): every input rotated by it (domain-incremental)."""
    if len(angles) == 0:
        raise ConfigError("list at least one angle", key="stream.angles")
    for angle in angles:
        if isinstance(angle, bool) or not isinstance(angle, (int, float)) or not math.isfinite(angle):
            raise ConfigError(f"angles are finite numbers of degrees, got {angle!r}", key="stream.angles")
    if len(bundle.train[0][0].shape) != 3:
        raise ConfigError("rotations need images (C, H, W)", key="stream.name")
    _check_items(bundle, "data")
    classes = _classes(bundle)
    experiences = []
    for t, angle in enumerate(angles):
        transform = Rotation(float(angle), fill)
        experiences.append(Experience(t, TransformedItems(bundle.train, transform),
                                      TransformedItems(bundle.heldout, transform), classes, f"rotated {angle:g}°"))
    return Stream(tuple(experiences), "domain")


@STREAMS.register("split")
def split(classes_per_task: int | None = None, groups: list[list[int]] | None = None, scenario: str = "task", *,
          bundle: DataBundle) -> Stream:
    """Disjoint class groups, one task each, learned task- or class-incrementally."""
    checks.one_of("scenario", scenario, ("task", "class"))
    classes = _classes(bundle)
    if (classes_per_task is None) == (groups is None):
        raise ConfigError("give either classes_per_task or groups (a list of class lists)", key="stream")
    if classes_per_task is not None:
        checks.at_least("classes_per_task", classes_per_task, 1)
        if len(classes) % classes_per_task:
            raise ConfigError(f"must divide the {len(classes)} classes of the data", key="stream.classes_per_task")
        groups = [list(classes[i:i + classes_per_task]) for i in range(0, len(classes), classes_per_task)]
    groups = _checked_groups(groups, classes)
    train_labels, test_labels = labels_of(bundle.train), labels_of(bundle.heldout)
    experiences = []
    for t, group in enumerate(groups):
        wanted = torch.tensor(group)
        train = torch.nonzero(torch.isin(train_labels, wanted)).flatten()
        test = torch.nonzero(torch.isin(test_labels, wanted)).flatten()
        if len(train) == 0 or len(test) == 0:
            raise ConfigError(f"group {t} {group} has {len(train)} training and {len(test)} test items; every "
                              "experience needs both", key="stream.groups")
        experiences.append(Experience(t, Subset(bundle.train, train.tolist()), Subset(bundle.heldout, test.tolist()),
                                      tuple(group), f"classes {', '.join(map(str, group))}"))
    return Stream(tuple(experiences), scenario)


def _checked_groups(groups: list, classes: tuple[int, ...]) -> list[list[int]]:
    if len(groups) == 0:
        raise ConfigError("list at least one group of classes", key="stream.groups")
    seen: set[int] = set()
    for group in groups:
        if not isinstance(group, (list, tuple)) or len(group) == 0:
            raise ConfigError(f"each group is a non-empty list of classes, got {group!r}", key="stream.groups")
        for c in group:
            if isinstance(c, bool) or not isinstance(c, int):
                raise ConfigError(f"classes are integers, got {c!r}", key="stream.groups")
            if c not in classes:
                raise ConfigError(f"class {c} is not in the data (its classes: {list(classes)})", key="stream.groups")
            if c in seen:
                raise ConfigError(f"class {c} is in two groups; groups must be disjoint", key="stream.groups")
            seen.add(c)
    return [list(g) for g in groups]
