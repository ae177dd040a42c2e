"""Reference statistics: the statistics of a reference set, computed once and cached on disk.

A reference set (e.g. the 13,082 QM9 test molecules, or the 176,074 MOSES test molecules) is
summarised by the statistics its metrics compare with (:data:`PARTS`, made by
:func:`genlab.metrics.set_statistics.summarise` in bounded memory). The statistics of a dataset
split (``qm9/test``, ``moses/test``, ...) are cached in ``cache_dir("reference") /
<name>-<key>``; those of any other set — a user's file, a test's temporary file — only when asked
(``cache=True``), in ``cache_dir("reference") / <key>``, and are otherwise kept in memory, so
ad-hoc references never accumulate in the cache. ``key`` is a SHA-256 of :data:`STATS_VERSION`
and the sorted SMILES: the folder depends on the molecules only, never on a file's path, and a
changed set or a changed definition never reads stale numbers. Each part is one file (named by
its :data:`~genlab.metrics.set_statistics.STATISTICS` entry), written atomically when computed;
no pickle is written or read.
"""

from __future__ import annotations

import hashlib
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from rdkit import Chem

from genlab.errors import DataError
from genlab.metrics.fcd import FrechetStats
from genlab.metrics.molecule_sets import is_dataset_split
from genlab.metrics.set_statistics import STATISTICS, summarise
from genlab.paths import cache_dir
from genlab.utils.atomic import atomic_write_json

STATS_VERSION = "genlab-reference-stats-2"
#: the statistics a reference set keeps: those the reference metrics compare with
PARTS = ("fcd", "nspdk", "fingerprints", "fragments", "scaffolds", "properties")


def smiles_key(smiles: Sequence[str]) -> str:
    """SHA-256 (hex) of the stats version and the sorted SMILES, one per line."""
    h = hashlib.sha256(STATS_VERSION.encode())
    for s in sorted(smiles):
        h.update(b"\n")
        h.update(s.encode())
    return h.hexdigest()


def reference_folder(key: str, name: str | None) -> Path:
    """The cache folder of a reference set: ``<name>-<key>`` for a dataset split, else ``<key>``."""
    slug = re.sub(r"[^A-Za-z0-9_.-]+", "-", name) + "-" if is_dataset_split(name) else ""
    return cache_dir("reference", f"{slug}{key[:24]}")


@dataclass
class ReferenceStats:
    """The statistics of one reference set; parts load (or are computed) on first access.

    Use :func:`reference_stats` to make one. ``directory`` is the cache folder, or ``None`` for a
    set whose statistics live in memory only. Attributes after access: ``fcd``
    (:class:`FrechetStats`), ``nspdk_mean`` (mean embedding), ``fingerprints`` (packed uint8),
    ``fragments`` / ``scaffolds`` (``Counter``), ``properties`` (name -> array).
    """

    smiles: list[str]
    key: str
    directory: Path | None
    name: str | None = None
    workers: int = 1
    _values: dict[str, Any] = field(default_factory=dict, repr=False)

    def __len__(self) -> int:
        return len(self.smiles)

    def ensure(self, parts: Sequence[str]) -> None:
        """Load the cached ``parts`` and compute the rest in one pass over the molecules."""
        missing = []
        for part in parts:
            if part in self._values:
                continue
            path = None if self.directory is None else self.directory / STATISTICS[part].file
            if path is not None and path.is_file():
                self._values[part] = STATISTICS[part].load(path)
            else:
                missing.append(part)
        if not missing:
            return
        summary = summarise(self.smiles, missing, workers=self.workers)
        for part in missing:
            value = summary.values[part]
            if self.directory is not None:
                STATISTICS[part].save(self.directory / STATISTICS[part].file, value)
            self._values[part] = value

    def get(self, part: str) -> Any:
        self.ensure([part])
        return self._values[part]

    @property
    def fcd(self) -> FrechetStats:
        return self.get("fcd")

    @property
    def nspdk_mean(self) -> np.ndarray:
        return self.get("nspdk")

    @property
    def fingerprints(self) -> np.ndarray:
        return self.get("fingerprints")

    @property
    def fragments(self) -> Counter[str]:
        return self.get("fragments")

    @property
    def scaffolds(self) -> Counter[str]:
        return self.get("scaffolds")

    @property
    def properties(self) -> dict[str, np.ndarray]:
        return self.get("properties")


def reference_stats(
    smiles: Sequence[str | Chem.Mol], name: str | None = None, *, parts: Sequence[str] = PARTS,
    workers: int = 1, cache: bool | None = None,
) -> ReferenceStats:
    """Load or compute the statistics of a reference set.

    ``smiles``: the reference molecules (SMILES; RDKit Mols are turned into canonical SMILES).
    ``name``: ``"qm9/test"``-style for a dataset split (it prefixes the cache folder), a file's
    path, or ``None``; it is not part of the key. ``parts``: which statistics to make ready now
    (the rest are computed on first access). ``workers``: processes for the RDKit statistics
    beside this one while computing (1 suits 2 cores). ``cache``: keep the statistics on disk;
    ``None`` means only for a dataset split.
    """
    smiles = [Chem.MolToSmiles(s) if isinstance(s, Chem.Mol) else str(s) for s in smiles]
    if len(smiles) < 2:
        raise DataError(f"a reference set needs at least 2 molecules, got {len(smiles)}")
    unknown = set(parts) - set(PARTS)
    if unknown:
        raise DataError(f"unknown reference parts {sorted(unknown)}; known: {', '.join(PARTS)}")
    key = smiles_key(smiles)
    directory = None
    if is_dataset_split(name) if cache is None else cache:
        directory = reference_folder(key, name)
        meta = directory / "meta.json"
        if not meta.is_file():
            atomic_write_json(meta, {"version": STATS_VERSION, "key": key, "name": name, "n": len(smiles)})
    stats = ReferenceStats(smiles=smiles, key=key, directory=directory, name=name, workers=workers)
    stats.ensure(parts)
    return stats
