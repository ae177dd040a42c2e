"""Statistics of a molecule set, made chunk by chunk so that memory does not grow with the set.

Every distribution metric compares one statistic of the generated set with the same statistic of
the reference set (:mod:`genlab.metrics.reference_comparison`). :data:`STATISTICS` is the
registry of those statistics; each entry says how to summarise one chunk of molecules, how to
merge two partial summaries, how to finish a summary into the value the metric reads, and how
that value is stored in a reference cache (:mod:`genlab.metrics.reference_cache`):

================  ==============================================  =====================
statistic         value                                           file
================  ==============================================  =====================
``fcd``           ChemNet (mu, Sigma), from float64 moments       ``fcd.npz``
``nspdk``         mean NSPDK embedding (65537,)                   ``nspdk.npz``
``fingerprints``  packed Morgan bits (N, 128) uint8               ``fingerprints.npz``
``fragments``     BRICS fragment counts                           ``fragments.json``
``scaffolds``     Bemis-Murcko scaffold counts                    ``scaffolds.json``
``properties``    logP, SA, QED, weight (N,) each                 ``properties.npz``
``filters``       (N,) bool: passes the MOSES filters             ``filters.npz``
================  ==============================================  =====================

:func:`summarise` reads a set once, :data:`CHUNK_SIZE` molecules at a time: each chunk is parsed
once, every requested statistic summarises it, and the chunk (molecules, ChemNet activations,
NSPDK features) is dropped before the next. What stays is the merged summaries, whose size is
fixed (moments, mean embedding, counters) or a few bytes per molecule (fingerprints, properties).
With ``workers >= 1`` the statistics marked ``in_worker`` (pure-Python RDKit/EDeN work) run in
forked processes over contiguous slices of the set while this process computes the others
(ChemNet in torch, fingerprints); slices merge in order, so the values do not depend on
``workers`` (up to float summation order in the NSPDK mean).
"""

from __future__ import annotations

import json
import multiprocessing as mp
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np
from rdkit import Chem, RDLogger

from genlab.errors import DataError
from genlab.metrics.fcd import FCD_BATCH_SIZE, FrechetMoments, FrechetStats, frechet_moments
from genlab.metrics.filters import filter_flags, prepare_filters
from genlab.metrics.fingerprints import as_mols, morgan_fingerprints
from genlab.metrics.fragments import fragment_counts, scaffold_counts
from genlab.metrics.nspdk import EmbeddingSum
from genlab.metrics.properties import PROPERTY_NAMES, prepare_properties, property_values
from genlab.utils.atomic import atomic_write, atomic_write_text

#: molecules per chunk: whole ChemNet batches, so the activations are those of one fcd_torch call
CHUNK_SIZE = 4 * FCD_BATCH_SIZE


@dataclass
class Chunk:
    """Consecutive molecules of a set; ``start`` is the position of the first (for error messages)."""

    smiles: list[str]
    start: int

    @cached_property
    def mols(self) -> list[Chem.Mol]:
        return as_mols(self.smiles, start=self.start)


class SetStatistic:
    """One statistic: ``of_chunk`` -> partial, ``merge`` partials, ``finish`` -> value, and its file."""

    name = ""
    file = ""
    in_worker = True  # pure-Python RDKit/EDeN work, which may run in a forked worker
    needs_mols = True  # reads ``chunk.mols`` (FCD reads the SMILES)

    def prepare(self) -> None:
        """Load once, before forking, what the workers should share (pattern tables)."""

    def of_chunk(self, chunk: Chunk) -> Any:
        raise NotImplementedError

    def merge(self, a: Any, b: Any) -> Any:
        """The partial summary of both chunks (may update and return ``a``)."""
        return a + b  # lists of per-chunk arrays

    def finish(self, partial: Any) -> Any:
        return np.concatenate(partial)

    def save(self, path: Path, value: Any) -> None:
        _save_npz(path, {self.name: value})

    def load(self, path: Path) -> Any:
        return _load_npz(path)[self.name]


def _save_npz(path: Path, arrays: dict[str, np.ndarray]) -> None:
    def write(tmp: Path) -> None:
        with open(tmp, "wb") as f:  # a file object: np.savez would append ".npz" to a name
            np.savez(f, **arrays)

    atomic_write(path, write)


def _load_npz(path: Path) -> dict[str, np.ndarray]:
    with np.load(path, allow_pickle=False) as data:
        return {k: data[k] for k in data.files}


class _Frechet(SetStatistic):
    name, file, in_worker, needs_mols = "fcd", "fcd.npz", False, False

    def of_chunk(self, chunk: Chunk) -> FrechetMoments:
        return frechet_moments(chunk.smiles)

    def merge(self, a: FrechetMoments, b: FrechetMoments) -> FrechetMoments:
        return a.merge(b)

    def finish(self, partial: FrechetMoments) -> FrechetStats:
        return partial.stats()

    def save(self, path: Path, value: FrechetStats) -> None:
        _save_npz(path, {"mu": value.mu, "sigma": value.sigma})

    def load(self, path: Path) -> FrechetStats:
        arrays = _load_npz(path)
        return FrechetStats(mu=arrays["mu"], sigma=arrays["sigma"])


class _Nspdk(SetStatistic):
    name, file = "nspdk", "nspdk.npz"

    def of_chunk(self, chunk: Chunk) -> EmbeddingSum:
        return EmbeddingSum.of(chunk.mols)

    def merge(self, a: EmbeddingSum, b: EmbeddingSum) -> EmbeddingSum:
        return a.merge(b)

    def finish(self, partial: EmbeddingSum) -> np.ndarray:
        return partial.mean()


class _Fingerprints(SetStatistic):
    name, file, in_worker = "fingerprints", "fingerprints.npz", False

    def of_chunk(self, chunk: Chunk) -> list[np.ndarray]:
        return [morgan_fingerprints(chunk.mols)]


class _Counts(SetStatistic):
    """Counts of SMILES keys (fragments, scaffolds), stored as JSON."""

    count: Callable[[Sequence[Chem.Mol]], Counter]

    def of_chunk(self, chunk: Chunk) -> Counter:
        return self.count(chunk.mols)

    def merge(self, a: Counter, b: Counter) -> Counter:
        a.update(b)
        return a

    def finish(self, partial: Counter) -> Counter:
        return partial

    def save(self, path: Path, value: Counter) -> None:
        atomic_write_text(path, json.dumps(dict(value), sort_keys=True))

    def load(self, path: Path) -> Counter:
        return Counter(json.loads(path.read_text(encoding="utf-8")))


class _Fragments(_Counts):
    name, file, count = "fragments", "fragments.json", staticmethod(fragment_counts)


class _Scaffolds(_Counts):
    name, file, count = "scaffolds", "scaffolds.json", staticmethod(scaffold_counts)


class _Properties(SetStatistic):
    name, file = "properties", "properties.npz"

    def prepare(self) -> None:
        prepare_properties()

    def of_chunk(self, chunk: Chunk) -> dict[str, list[np.ndarray]]:
        return {k: [v] for k, v in property_values(chunk.mols).items()}

    def merge(self, a: dict, b: dict) -> dict:
        return {k: a[k] + b[k] for k in PROPERTY_NAMES}

    def finish(self, partial: dict) -> dict[str, np.ndarray]:
        return {k: np.concatenate(partial[k]) for k in PROPERTY_NAMES}

    def save(self, path: Path, value: dict[str, np.ndarray]) -> None:
        _save_npz(path, value)

    def load(self, path: Path) -> dict[str, np.ndarray]:
        arrays = _load_npz(path)
        return {k: arrays[k] for k in PROPERTY_NAMES}


class _Filters(SetStatistic):
    name, file = "filters", "filters.npz"

    def prepare(self) -> None:
        prepare_filters()

    def of_chunk(self, chunk: Chunk) -> list[np.ndarray]:
        return [filter_flags(chunk.mols)]


#: statistic name -> how it is made, merged and stored
STATISTICS: dict[str, SetStatistic] = {
    s.name: s
    for s in (_Frechet(), _Nspdk(), _Fingerprints(), _Fragments(), _Scaffolds(), _Properties(), _Filters())
}


@dataclass
class Clock:
    """Wall and process-CPU seconds, summed per key."""

    seconds: dict[str, float] = field(default_factory=dict)
    cpu_seconds: dict[str, float] = field(default_factory=dict)

    def time(self, key: str, fn: Callable[[], Any]) -> Any:
        wall, cpu = time.perf_counter(), time.process_time()
        out = fn()
        self.seconds[key] = self.seconds.get(key, 0.0) + time.perf_counter() - wall
        self.cpu_seconds[key] = self.cpu_seconds.get(key, 0.0) + time.process_time() - cpu
        return out


@dataclass
class SetSummary:
    """The finished statistics of one set; ``clock`` times this process's share (``parse``, each
    statistic computed here, ``wait_for_workers``)."""

    values: dict[str, Any]
    clock: Clock


def summarise(smiles: Sequence[str], names: Sequence[str], *, workers: int = 0,
              chunk_size: int | None = None) -> SetSummary:
    """The statistics ``names`` of a set of SMILES, read once in chunks of ``chunk_size``
    (default :data:`CHUNK_SIZE`; see the module docstring)."""
    chunk_size = chunk_size or CHUNK_SIZE
    unknown = [n for n in names if n not in STATISTICS]
    if unknown:
        raise DataError(f"unknown statistics {unknown}; known: {', '.join(STATISTICS)}")
    if len(smiles) == 0:
        raise DataError("no molecules to summarise")
    smiles = list(smiles)
    away = [n for n in names if workers >= 1 and STATISTICS[n].in_worker]
    here = [n for n in names if n not in away]
    clock = Clock()
    pool = None
    if away:  # fork first, before this process starts any work of its own
        for name in away:
            STATISTICS[name].prepare()
        pool = mp.get_context("fork").Pool(workers)
        bounds = np.linspace(0, len(smiles), workers + 1).astype(int)
        slices = [(smiles[a:b], int(a), away, chunk_size) for a, b in zip(bounds[:-1], bounds[1:]) if b > a]
        pending = pool.starmap_async(_summarise_slice, slices)
    try:
        partial = _accumulate(smiles, 0, here, chunk_size, clock)
        if pool is not None:
            for result in clock.time("wait_for_workers", pending.get):  # one per slice, in order
                for name in away:
                    _merge_into(partial, name, result[name])
    finally:
        if pool is not None:
            pool.terminate()
    values = {name: STATISTICS[name].finish(partial[name]) for name in names}
    return SetSummary(values, clock)


def _accumulate(smiles: list[str], start: int, names: Sequence[str], chunk_size: int,
                clock: Clock) -> dict[str, Any]:
    """Partial summaries of ``names`` over ``smiles``, one chunk in memory at a time."""
    partial: dict[str, Any] = {}
    parse = any(STATISTICS[n].needs_mols for n in names)
    for i in range(0, len(smiles), chunk_size):
        chunk = Chunk(smiles[i : i + chunk_size], start + i)
        if parse:
            clock.time("parse", lambda: chunk.mols)
        for name in names:
            _merge_into(partial, name, clock.time(name, lambda: STATISTICS[name].of_chunk(chunk)))
    return partial


def _merge_into(partial: dict[str, Any], name: str, part: Any) -> None:
    partial[name] = STATISTICS[name].merge(partial[name], part) if name in partial else part


def _summarise_slice(smiles: list[str], start: int, names: list[str], chunk_size: int) -> dict[str, Any]:
    """A worker's task: the partial summaries of one contiguous slice of the set."""
    RDLogger.DisableLog("rdApp.*")
    return _accumulate(smiles, start, names, chunk_size, Clock())
