"""Reference statistics, computed once per reference set and cached on disk, and every metric of a
generated set against them.

A reference set (e.g. the 13,082 QM9 test molecules, or the 176,074 MOSES test molecules) is
summarised by the statistics each metric needs from it:

=================  ======================================  ==============================
part               what                                    file (under the set's folder)
=================  ======================================  ==============================
``fcd``            ChemNet (mu, Sigma)                     ``fcd.npz``
``nspdk``          EDeN NSPDK features (N, 65537), sparse  ``nspdk.npz`` (``save_npz``)
``fingerprints``   packed Morgan bits (N, 128)             ``fingerprints.npz``
``fragments``      BRICS fragment counts                   ``fragments.json``
``scaffolds``      Bemis-Murcko scaffold counts            ``scaffolds.json``
``properties``     logP, SA, QED, weight (N,) each         ``properties.npz``
=================  ======================================  ==============================

The folder is ``cache_dir("reference") / <name>-<key>``, with ``key`` a SHA-256 of
:data:`STATS_VERSION` and the sorted SMILES list, so a changed set or a changed definition never
reads stale numbers. Each part is computed on first use and written atomically (temporary file,
then ``os.replace``); no pickle is written (``allow_pickle=False`` on reading).
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import re
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import scipy.sparse as sp
from rdkit import Chem

from genlab.errors import DataError
from genlab.metrics.diversity import internal_diversities
from genlab.metrics.fcd import FrechetStats, frechet_distance, frechet_stats
from genlab.metrics.filters import filter_flags
from genlab.metrics.fingerprints import as_mols, morgan_fingerprints
from genlab.metrics.fragments import cosine_similarity, fragment_counts, scaffold_counts
from genlab.metrics.nspdk import mean_embedding, nspdk_features, nspdk_mmd_from_means
from genlab.metrics.properties import PROPERTY_NAMES, property_distances, property_values
from genlab.metrics.snn import snn_from_fingerprints
from genlab.paths import cache_dir

STATS_VERSION = "genlab-reference-stats-1"
PARTS = ("fcd", "nspdk", "fingerprints", "fragments", "scaffolds", "properties")


def smiles_key(smiles: Sequence[str]) -> str:
    """SHA-256 (hex) of the stats version and the sorted SMILES, one per line."""
    h = hashlib.sha256(STATS_VERSION.encode())
    for s in sorted(smiles):
        h.update(b"\n")
        h.update(s.encode())
    return h.hexdigest()


def _write_atomic(path: Path, write: Callable[[object], None], mode: str = "wb") -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with open(tmp, mode) as f:
        write(f)
    os.replace(tmp, path)


# -- one (save, load, compute) triple per part ------------------------------------------------


def _save_npz(arrays: dict[str, np.ndarray]) -> Callable[[object], None]:
    return lambda f: np.savez(f, **arrays)


def _load_npz(path: Path) -> dict[str, np.ndarray]:
    with np.load(path, allow_pickle=False) as data:
        return {k: data[k] for k in data.files}


def _save_json(obj: object) -> Callable[[object], None]:
    return lambda f: f.write(json.dumps(obj, sort_keys=True))


_FILES = {
    "fcd": "fcd.npz",
    "nspdk": "nspdk.npz",
    "fingerprints": "fingerprints.npz",
    "fragments": "fragments.json",
    "scaffolds": "scaffolds.json",
    "properties": "properties.npz",
}


@dataclass
class ReferenceStats:
    """Cached statistics of one reference SMILES set; parts load (or compute) on first access.

    Use :func:`reference_stats` to make one. Attributes after access: ``fcd``
    (:class:`FrechetStats`), ``nspdk`` (CSR matrix), ``nspdk_mean`` (dense mean embedding),
    ``fingerprints`` (packed uint8), ``fragments`` / ``scaffolds`` (``Counter``),
    ``properties`` (name -> array).
    """

    smiles: list[str]
    key: str
    directory: Path
    name: str | None = None
    _parts: dict[str, object] = field(default_factory=dict, repr=False)
    _mols: list[Chem.Mol] | None = field(default=None, repr=False)

    def __len__(self) -> int:
        return len(self.smiles)

    @property
    def mols(self) -> list[Chem.Mol]:
        if self._mols is None:
            self._mols = as_mols(self.smiles)
        return self._mols

    def _part(self, part: str):
        if part not in self._parts:
            path = self.directory / _FILES[part]
            self._parts[part] = self._load(part, path) if path.is_file() else self._compute_and_save(part, path)
        return self._parts[part]

    def _load(self, part: str, path: Path):
        if part == "nspdk":
            return sp.load_npz(path).tocsr()
        if part in ("fragments", "scaffolds"):
            return Counter(json.loads(path.read_text()))
        arrays = _load_npz(path)
        if part == "fcd":
            return FrechetStats(mu=arrays["mu"], sigma=arrays["sigma"])
        if part == "fingerprints":
            return arrays["fingerprints"]
        return {name: arrays[name] for name in PROPERTY_NAMES}

    def _compute_and_save(self, part: str, path: Path):
        if part == "fcd":
            value = frechet_stats(self.smiles)
            _write_atomic(path, _save_npz({"mu": value.mu, "sigma": value.sigma}))
        elif part == "nspdk":
            value = nspdk_features(self.mols)
            _write_atomic(path, lambda f: sp.save_npz(f, value))
        elif part == "fingerprints":
            value = morgan_fingerprints(self.mols)
            _write_atomic(path, _save_npz({"fingerprints": value}))
        elif part in ("fragments", "scaffolds"):
            value = (fragment_counts if part == "fragments" else scaffold_counts)(self.mols)
            _write_atomic(path, _save_json(dict(value)), mode="w")
        else:
            value = property_values(self.mols)
            _write_atomic(path, _save_npz(value))
        return value

    @property
    def fcd(self) -> FrechetStats:
        return self._part("fcd")

    @property
    def nspdk(self) -> sp.csr_matrix:
        return self._part("nspdk")

    @property
    def nspdk_mean(self) -> np.ndarray:
        if "nspdk_mean" not in self._parts:
            self._parts["nspdk_mean"] = mean_embedding(self.nspdk)
        return self._parts["nspdk_mean"]

    @property
    def fingerprints(self) -> np.ndarray:
        return self._part("fingerprints")

    @property
    def fragments(self) -> Counter[str]:
        return self._part("fragments")

    @property
    def scaffolds(self) -> Counter[str]:
        return self._part("scaffolds")

    @property
    def properties(self) -> dict[str, np.ndarray]:
        return self._part("properties")


def reference_stats(
    smiles: Sequence[str | Chem.Mol], name: str | None = None, *, parts: Sequence[str] = PARTS
) -> ReferenceStats:
    """Load or compute (and cache) the statistics of a reference set.

    ``smiles``: the reference molecules (SMILES; RDKit Mols are turned into canonical SMILES).
    ``name``: a readable prefix for the cache folder (e.g. ``"qm9-test"``); it is not part of the
    key. ``parts``: which parts to make ready now (the rest are computed on first access).
    """
    smiles = [Chem.MolToSmiles(s) if isinstance(s, Chem.Mol) else str(s) for s in smiles]
    if len(smiles) < 2:
        raise DataError(f"a reference set needs at least 2 molecules, got {len(smiles)}")
    unknown = set(parts) - set(PARTS)
    if unknown:
        raise DataError(f"unknown reference parts {sorted(unknown)}; known: {', '.join(PARTS)}")
    key = smiles_key(smiles)
    slug = re.sub(r"[^A-Za-z0-9_.-]+", "-", name) + "-" if name else ""
    directory = cache_dir("reference", f"{slug}{key[:24]}")
    meta = directory / "meta.json"
    if not meta.is_file():
        info = {"version": STATS_VERSION, "key": key, "name": name, "n": len(smiles)}
        _write_atomic(meta, _save_json(info), mode="w")
    stats = ReferenceStats(smiles=smiles, key=key, directory=directory, name=name)
    for part in parts:
        stats._part(part)
    return stats


# -- metrics of a generated set against a reference ---------------------------------------------


def fcd_to_reference(ref: ReferenceStats, gen: Sequence[str | Chem.Mol]) -> float:
    """FCD (fcd_torch) of generated molecules against the reference."""
    return frechet_distance(frechet_stats(gen), ref.fcd)


def nspdk_to_reference(ref: ReferenceStats, gen: Sequence[str | Chem.Mol]) -> float:
    """GDSS NSPDK MMD^2 of generated molecules against the reference."""
    return nspdk_mmd_from_means(mean_embedding(nspdk_features(gen)), ref.nspdk_mean)


def snn_to_reference(ref: ReferenceStats, gen: Sequence[str | Chem.Mol]) -> float:
    """MOSES SNN of generated molecules against the reference."""
    return snn_from_fingerprints(morgan_fingerprints(gen), ref.fingerprints)


def frag_to_reference(ref: ReferenceStats, gen: Sequence[str | Chem.Mol]) -> float:
    """MOSES Frag of generated molecules against the reference."""
    return cosine_similarity(fragment_counts(gen), ref.fragments)


def scaf_to_reference(ref: ReferenceStats, gen: Sequence[str | Chem.Mol]) -> float:
    """MOSES Scaf of generated molecules against the reference."""
    return cosine_similarity(scaffold_counts(gen), ref.scaffolds)


def property_distances_to_reference(ref: ReferenceStats, gen: Sequence[str | Chem.Mol]) -> dict[str, float]:
    """W1 distance per property (logP, SA, QED, weight) against the reference."""
    return property_distances(property_values(gen), ref.properties)


@dataclass(frozen=True)
class ReferenceComparison:
    """All molecular metrics of one generated set against one reference set.

    ``gen_properties``: the generated molecules' property values (for
    :func:`~genlab.metrics.properties.plot_property_histograms`). ``seconds`` / ``cpu_seconds``: wall and process CPU time per step (``parse`` is the shared
    SMILES parsing, ``total`` the whole call; with ``workers >= 1`` the RDKit/EDeN metrics run in
    worker processes and only the wait for them, ``wait_for_workers``, is timed).
    """

    fcd: float
    nspdk: float
    snn: float
    frag: float
    scaf: float
    int_div1: float
    int_div2: float
    filters: float
    property_w1: dict[str, float]
    n: int
    seconds: dict[str, float]
    cpu_seconds: dict[str, float]
    gen_properties: dict[str, np.ndarray] = field(default_factory=dict, repr=False)  # for plots


@dataclass
class _ChunkSummary:
    """What a worker returns for a chunk of generated molecules (summed, not per molecule)."""

    nspdk_sum: np.ndarray
    nspdk_count: int
    fragments: Counter
    scaffolds: Counter
    filter_flags: np.ndarray
    properties: dict[str, np.ndarray]


def _summarise_chunk(smiles: list[str], nspdk: bool = True) -> _ChunkSummary:
    mols = as_mols(smiles)
    nonempty = [m for m in mols if m.GetNumAtoms() > 0] if nspdk else []
    features = nspdk_features(nonempty) if nonempty else None
    return _ChunkSummary(
        nspdk_sum=np.zeros(0) if features is None else np.asarray(features.sum(axis=0)).ravel(),
        nspdk_count=len(nonempty),
        fragments=fragment_counts(mols),
        scaffolds=scaffold_counts(mols),
        filter_flags=filter_flags(mols),
        properties=property_values(mols),
    )


def _start_workers(gen: list[str], workers: int, nspdk: bool):
    """Fork ``workers`` processes (before any other work, so no lock is held) and hand them
    chunks of :func:`_summarise_chunk`; returns the pool and the pending result."""
    import multiprocessing as mp

    from genlab.metrics.filters import _pattern_screens
    from genlab.metrics.properties import sa_score

    _pattern_screens()  # load the SMARTS and the SA fragment table once, before forking
    sa_score(Chem.MolFromSmiles("C"))
    size = max(1, -(-len(gen) // (4 * workers)))
    chunks = [gen[i : i + size] for i in range(0, len(gen), size)]
    pool = mp.get_context("fork").Pool(workers)
    return pool, pool.starmap_async(_summarise_chunk, [(chunk, nspdk) for chunk in chunks])


def _merge(parts: list[_ChunkSummary]) -> _ChunkSummary:
    sums = [p.nspdk_sum for p in parts if p.nspdk_count]
    return _ChunkSummary(
        nspdk_sum=np.sum(sums, axis=0) if sums else np.zeros(0),
        nspdk_count=sum(p.nspdk_count for p in parts),
        fragments=sum((p.fragments for p in parts), Counter()),
        scaffolds=sum((p.scaffolds for p in parts), Counter()),
        filter_flags=np.concatenate([p.filter_flags for p in parts]),
        properties={k: np.concatenate([p.properties[k] for p in parts]) for k in PROPERTY_NAMES},
    )


def compare_to_reference(
    ref: ReferenceStats, gen: Sequence[str], *, workers: int = 0, nspdk: bool = True
) -> ReferenceComparison:
    """Every metric of generated SMILES against ``ref``.

    ``nspdk=False`` skips NSPDK (``nspdk`` is then NaN) and never computes the reference's NSPDK
    features — for MOSES-sized references they cost ~7 ms of CPU and ~860 non-zeros per molecule
    (about 21 CPU-minutes and 1.8 GB for the 176k MOSES test set); GDSS reports NSPDK for QM9
    and ZINC250k only.

    ``workers = 0``: everything in this process, each molecule parsed once, each metric timed.
    ``workers >= 1``: NSPDK, Frag, Scaf, Filters and the properties (pure-Python RDKit/EDeN work)
    run in ``workers`` forked processes while this process computes FCD, SNN and IntDiv (torch).
    The values are the same (up to float summation order in the NSPDK mean). On 2 cores,
    ``workers=1`` balances the two halves (see the metric report for timings).
    """
    seconds: dict[str, float] = {}
    cpu_seconds: dict[str, float] = {}

    def timed(name: str, fn: Callable[[], object]):
        wall, cpu = time.perf_counter(), time.process_time()
        out = fn()
        seconds[name] = time.perf_counter() - wall
        cpu_seconds[name] = time.process_time() - cpu
        return out

    gen = [str(s) for s in gen]
    if len(gen) < 2:
        raise DataError(f"comparing to a reference needs at least 2 generated molecules, got {len(gen)}")
    for part in PARTS:  # load the reference before any timing
        if nspdk or part != "nspdk":
            ref._part(part)

    start = time.perf_counter()
    if workers >= 1:
        pool, pending = _start_workers(gen, workers, nspdk)
    mols = timed("parse", lambda: as_mols(gen))
    fcd_value = timed("fcd", lambda: fcd_to_reference(ref, gen))
    fps = timed("fingerprints", lambda: morgan_fingerprints(mols))
    snn_value = timed("snn", lambda: snn_from_fingerprints(fps, ref.fingerprints))
    int_div = timed("int_div", lambda: internal_diversities(fps, (1, 2)))
    if workers >= 1:
        try:
            summary = timed("wait_for_workers", lambda: _merge(pending.get()))
        finally:
            pool.terminate()
        if nspdk and summary.nspdk_count == 0:
            raise DataError("NSPDK needs at least one non-empty molecule")
        nspdk_value = (nspdk_mmd_from_means(summary.nspdk_sum / summary.nspdk_count, ref.nspdk_mean)
                       if nspdk else math.nan)
        frag_value = cosine_similarity(summary.fragments, ref.fragments)
        scaf_value = cosine_similarity(summary.scaffolds, ref.scaffolds)
        filters_value = float(summary.filter_flags.mean())
        gen_properties = summary.properties
        w1 = property_distances(gen_properties, ref.properties)
    else:
        nspdk_value = timed("nspdk", lambda: nspdk_to_reference(ref, mols)) if nspdk else math.nan
        frag_value = timed("frag", lambda: frag_to_reference(ref, mols))
        scaf_value = timed("scaf", lambda: scaf_to_reference(ref, mols))
        filters_value = timed("filters", lambda: float(filter_flags(mols).mean()))
        gen_properties = timed("properties", lambda: property_values(mols))
        w1 = property_distances(gen_properties, ref.properties)
    seconds["total"] = time.perf_counter() - start
    return ReferenceComparison(
        fcd=fcd_value, nspdk=nspdk_value, snn=snn_value, frag=frag_value, scaf=scaf_value,
        int_div1=int_div[1], int_div2=int_div[2], filters=filters_value, property_w1=w1,
        n=len(gen), seconds=seconds, cpu_seconds=cpu_seconds, gen_properties=gen_properties,
    )
