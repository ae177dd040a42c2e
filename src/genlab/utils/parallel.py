"""A function over a list in chunks, in forked worker processes: how per-molecule RDKit work
(pure Python, one core per process) uses the machine's cores."""

from __future__ import annotations

import multiprocessing as mp
import os
from typing import Callable, TypeVar

T = TypeVar("T")
R = TypeVar("R")


def map_chunks(fn: Callable[[list[T]], list[R]], items: list[T], workers: int, chunk: int = 2000) -> list[R]:
    """``fn`` over ``items`` in chunks of ``chunk``, in ``workers`` forked processes when > 1;
    results flattened in input order."""
    chunks = [items[i : i + chunk] for i in range(0, len(items), chunk)]
    if workers <= 1 or len(chunks) <= 1:
        out = [fn(c) for c in chunks]
    else:
        with mp.get_context("fork").Pool(workers) as pool:
            out = pool.map(fn, chunks)
    return [r for part in out for r in part]


def default_workers() -> int:
    """Worker processes for RDKit work: the cores this process may use, at most 4."""
    return max(1, min(4, len(os.sched_getaffinity(0))))
