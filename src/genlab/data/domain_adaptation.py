"""``DATASETS`` entry ``domain_adaptation``: a labelled source domain and unlabelled target domains.

Unsupervised domain adaptation trains on labelled images of a *source* domain and unlabelled
images of one or more *target* domains, and is judged on the targets' labelled test splits
(Saito et al. 2018, §4; multi-target: Yao et al. 2022, §3). ``source`` and each entry of
``targets`` is a digit domain's name (:data:`~genlab.data.digit_domains.registry.DOMAINS`:
``mnist``, ``mnist_m``, ``uci_digits``, ``syn_digits``, ``mnist_inverted``; served by the
``digit_domain`` entry with this section's ``seed``; ``limit`` and ``limit_heldout`` keep at most
that many training and test images of each, drawn with ``seed``) or a whole labelled data section
(``{name: digits, labels: true}``), built as it is.

* training items pair one source image with one image of every target: item i holds source
  item ``π_s(i mod N_s)`` and target item ``π_k(i mod N_k)``, each π a permutation drawn once from
  ``seed``, over ``max(N_s, N_1, ..., N_K)`` items, so every image of every domain is used; they
  collate to a :class:`DomainBatch` (the target labels are dropped);
* held-out items are the targets' test splits laid end to end, each item with its target's
  index; they collate to a :class:`TargetBatch`.

The split datasets stay reachable for federated training, where each target is one client's
data: ``bundle.train.source`` and ``bundle.train.targets[k]`` (labelled items; a client reads the
inputs only), ``bundle.heldout.splits[k]``; ``bundle.info["targets"]`` names them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping, Sequence

import numpy as np
import torch
from torch import Tensor
from torch.utils.data import Dataset

from genlab.data.bundle import DataBundle
from genlab.data.digit_domains.dataset import domain_arrays
from genlab.data.labelled import collate_labelled
from genlab.data.registry import DATASETS
from genlab.errors import ConfigError
from genlab.modalities.base import LabelledBatch
from genlab.utils import checks


@dataclass
class DomainBatch:
    """A training batch: labelled source images and, per target, unlabelled images (B, C, H, W)."""

    source: LabelledBatch
    targets: tuple[Tensor, ...]

    def __len__(self) -> int:
        return len(self.source)

    def to(self, device: torch.device | str) -> "DomainBatch":
        return DomainBatch(self.source.to(device), tuple(t.to(device) for t in self.targets))


@dataclass
class TargetBatch:
    """A held-out batch: target images (B, C, H, W), their labels (B,) and target indices (B,)."""

    inputs: Tensor
    labels: Tensor
    domain: Tensor

    def __len__(self) -> int:
        return self.labels.shape[0]

    def to(self, device: torch.device | str) -> "TargetBatch":
        return TargetBatch(self.inputs.to(device), self.labels.to(device), self.domain.to(device))


@dataclass(frozen=True)
class DomainItem:
    """One training item: a labelled source item and one input per target."""

    source: tuple[Tensor, Tensor]
    targets: tuple[Tensor, ...]


class DomainPairs(Dataset):
    """Training items over ``max(N_s, N_1, ..., N_K)`` indices (the module's pairing)."""

    def __init__(self, source: Dataset, targets: Sequence[Dataset], seed: int) -> None:
        self.source, self.targets = source, tuple(targets)
        self._length = max(len(source), *(len(t) for t in self.targets))
        rng = np.random.default_rng([seed, 0x4441])
        self._order = [rng.permutation(len(d)) for d in (source, *self.targets)]

    def __len__(self) -> int:
        return self._length

    def _at(self, d: int, i: int) -> int:
        order = self._order[d]
        return int(order[i % len(order)])

    def __getitem__(self, i: int) -> DomainItem:
        source = self.source[self._at(0, i)]
        targets = tuple(t[self._at(k + 1, i)][0] for k, t in enumerate(self.targets))
        return DomainItem(source=(source[0], source[1]), targets=targets)


class TargetTests(Dataset):
    """The targets' labelled test splits end to end; item ``(x, y, k)`` of target ``k``."""

    def __init__(self, splits: Sequence[Dataset]) -> None:
        self.splits = tuple(splits)
        self._ends = np.cumsum([len(s) for s in self.splits])

    def __len__(self) -> int:
        return int(self._ends[-1]) if len(self._ends) else 0

    def __getitem__(self, i: int) -> tuple[Tensor, Tensor, int]:
        k = int(np.searchsorted(self._ends, i, side="right"))
        start = 0 if k == 0 else int(self._ends[k - 1])
        x, y = self.splits[k][i - start]
        return x, y, k


def collate_domains(items: Sequence[Any]) -> DomainBatch | TargetBatch:
    """Training items -> :class:`DomainBatch`; held-out ``(x, y, k)`` items -> :class:`TargetBatch`."""
    if isinstance(items[0], DomainItem):
        source = collate_labelled([item.source for item in items])
        targets = tuple(torch.stack([item.targets[k] for item in items])  # (B, C, H, W)
                        for k in range(len(items[0].targets)))
        return DomainBatch(source, targets)
    labelled = collate_labelled([(x, y) for x, y, _ in items])
    domain = torch.tensor([k for _, _, k in items], dtype=torch.long)  # (B,)
    return TargetBatch(labelled.inputs, labelled.labels, domain)


@DATASETS.register("domain_adaptation")
def domain_adaptation(source: str | dict = "mnist", targets: list = ("mnist_m",), seed: int = 0,
                      limit: int | None = None, limit_heldout: int | None = None) -> DataBundle:
    """Labelled ``source``, unlabelled ``targets`` (names or data sections; the module's layout);
    ``limit`` and ``limit_heldout`` cap every named digit domain's splits."""
    checks.non_negative("seed", seed)
    for key, value in (("limit", limit), ("limit_heldout", limit_heldout)):
        if value is not None:
            checks.at_least(key, value, 1)
    if isinstance(targets, (str, Mapping)) or len(targets) == 0:
        raise ConfigError("expected a non-empty list of target domains", key="data.targets")
    named = {"seed": seed, "limit": limit, "limit_heldout": limit_heldout}
    source_bundle = _domain(source, "data.source", named)
    names = [_name(source)]
    target_bundles = []
    for k, target in enumerate(targets):
        key = f"data.targets[{k}]"
        name = _name(target)
        if name == names[0]:
            raise ConfigError(f"{name} is the source domain; a target must be another domain", key=key)
        if name in names[1:]:
            raise ConfigError(f"{name} is listed twice", key=key)
        bundle = _domain(target, key, named)
        if bundle.modality.shapes() != source_bundle.modality.shapes():
            raise ConfigError(f"{name}'s images are shaped {_shape(bundle)}, the source's {_shape(source_bundle)}; "
                              "every domain needs the source's image size", key=key)
        names.append(name)
        target_bundles.append(bundle)
    return DataBundle(
        modality=source_bundle.modality,
        train=DomainPairs(source_bundle.train, [b.train for b in target_bundles], seed),
        heldout=TargetTests([b.heldout for b in target_bundles]),
        collate=collate_domains,
        info={"dataset": "domain_adaptation", "source": names[0], "targets": names[1:], "seed": seed},
    )


def _domain(spec: Any, key: str, named: Mapping[str, Any]) -> DataBundle:
    """The bundle of one domain: a digit domain's name or a labelled data section."""
    if isinstance(spec, str):
        sizes = {"limit": "train_labels", "limit_heldout": "test_labels"}
        try:
            arrays = domain_arrays(spec, named["seed"])
        except ConfigError as exc:
            raise ConfigError(exc.message, key=key) from None
        capped = {k: None if named[k] is None else min(named[k], len(getattr(arrays, f))) for k, f in sizes.items()}
        section = {"name": "digit_domain", "domain": spec, "seed": named["seed"], **capped}
    elif isinstance(spec, Mapping) and "name" in spec:
        section = dict(spec)
    else:
        raise ConfigError(f"expected a digit domain's name or a data section, got {spec!r}", key=key)
    try:
        bundle = DATASETS.build(section)
    except ConfigError as exc:  # name this section's key: the domain's place, or the shared limit keys
        if exc.key not in ("data.limit", "data.limit_heldout", "data.seed"):
            exc.key = key
        raise
    for split, data in (("training", bundle.train), ("test", bundle.heldout)):
        if len(data) == 0:
            raise ConfigError(f"{_name(spec)} has no {split} data", key=key)
    if bundle.collate is not collate_labelled:
        raise ConfigError(f"{_name(spec)} is not a labelled data set (e.g. digits needs labels: true)", key=key)
    return bundle


def _name(spec: Any) -> str:
    if isinstance(spec, Mapping):
        return str(spec.get("domain", spec.get("name", spec)))
    return str(spec)


def _shape(bundle: DataBundle) -> str:
    return "×".join(str(n) for n in next(iter(bundle.modality.shapes().values())))
