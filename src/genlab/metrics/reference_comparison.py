"""Every molecular metric of a generated set against a reference set's cached statistics.

:data:`REFERENCE_METRICS` is the registry: each metric names the statistic it compares
(:data:`~genlab.metrics.set_statistics.STATISTICS`) and the distance between the generated
set's value and the reference's. The generated set is summarised exactly as a reference is —
chunk by chunk, in bounded memory — and two metrics need the generated set alone: IntDiv (from
its fingerprints) and Filters.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from genlab.errors import DataError
from genlab.metrics.diversity import internal_diversities
from genlab.metrics.fcd import frechet_distance
from genlab.metrics.fragments import cosine_similarity
from genlab.metrics.nspdk import nspdk_mmd_from_means
from genlab.metrics.properties import property_distances
from genlab.metrics.reference_cache import ReferenceStats
from genlab.metrics.set_statistics import summarise
from genlab.metrics.snn import snn_from_fingerprints

#: metric -> (the statistic it compares, distance(generated value, reference value))
REFERENCE_METRICS: dict[str, tuple[str, Callable[[Any, Any], Any]]] = {
    "fcd": ("fcd", frechet_distance),
    "nspdk": ("nspdk", nspdk_mmd_from_means),
    "snn": ("fingerprints", snn_from_fingerprints),
    "frag": ("fragments", cosine_similarity),
    "scaf": ("scaffolds", cosine_similarity),
    "property_w1": ("properties", property_distances),
}


@dataclass(frozen=True)
class ReferenceComparison:
    """All molecular metrics of one generated set against one reference set.

    ``gen_properties``: the generated molecules' property values (for
    :func:`~genlab.metrics.properties.plot_property_histograms`). ``seconds`` / ``cpu_seconds``:
    wall and process CPU time per step of this process (``parse`` is the shared SMILES parsing,
    each statistic and metric by name, ``total`` the whole call; with ``workers >= 1`` the
    RDKit/EDeN statistics run in worker processes and only the wait for them,
    ``wait_for_workers``, is timed).
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


def compare_to_reference(
    ref: ReferenceStats, gen: Sequence[str], *, workers: int = 0, nspdk: bool = True
) -> ReferenceComparison:
    """Every metric of generated SMILES against ``ref``.

    ``nspdk=False`` skips NSPDK (``nspdk`` is then NaN) and never computes the reference's NSPDK
    statistic, the slowest one (CPU-minutes for MOSES-sized references; ``docs/metrics.md``); GDSS
    reports NSPDK for QM9 and ZINC250k only.

    ``workers = 0``: everything in this process, each molecule parsed once, each step timed.
    ``workers >= 1``: NSPDK, Frag, Scaf, Filters and the properties (pure-Python RDKit/EDeN work)
    run in ``workers`` forked processes while this process computes FCD, SNN and IntDiv (torch).
    The values are the same (up to float summation order in the NSPDK mean). On 2 cores,
    ``workers=1`` balances the two halves (timings in ``docs/metrics.md``).
    """
    gen = [str(s) for s in gen]
    if len(gen) < 2:
        raise DataError(f"comparing to a reference needs at least 2 generated molecules, got {len(gen)}")
    metrics = {m: entry for m, entry in REFERENCE_METRICS.items() if nspdk or m != "nspdk"}
    ref.ensure([statistic for statistic, _ in metrics.values()])  # before any timing
    start = time.perf_counter()
    summary = summarise(gen, [statistic for statistic, _ in metrics.values()] + ["filters"], workers=workers)
    clock, values = summary.clock, summary.values
    out = {m: clock.time(m, lambda: distance(values[s], ref.get(s))) for m, (s, distance) in metrics.items()}
    int_div = clock.time("int_div", lambda: internal_diversities(values["fingerprints"], (1, 2)))
    clock.seconds["total"] = time.perf_counter() - start
    return ReferenceComparison(
        fcd=out["fcd"], nspdk=out.get("nspdk", math.nan), snn=out["snn"], frag=out["frag"], scaf=out["scaf"],
        int_div1=int_div[1], int_div2=int_div[2], filters=float(values["filters"].mean()),
        property_w1=out["property_w1"], n=len(gen), seconds=clock.seconds, cpu_seconds=clock.cpu_seconds,
        gen_properties=values["properties"],
    )
