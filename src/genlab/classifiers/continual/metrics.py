"""The accuracy matrix of a stream and its summaries (Lopez-Paz & Ranzato 2017, "Gradient Episodic
Memory for Continual Learning": the ACC, BWT and FWT of their evaluation protocol).

With T experiences, ``R[i, j]`` is the test accuracy on experience j after training experiences
0..i, and ``b[j]`` the accuracy on experience j before any training (the row genlab records first,
with the learner's initial weights; the paper's b̄ is the accuracy "at random initialization").
With 1-based task numbers as in the paper:

    ACC = (1/T) Σ_{j=1..T} R[T, j]
    BWT = (1/(T−1)) Σ_{j=1..T−1} (R[T, j] − R[j, j])      (< 0: forgetting)
    FWT = (1/(T−1)) Σ_{j=2..T} (R[j−1, j] − b[j])          (> 0: earlier tasks help later ones)

BWT and FWT are undefined (``None``) for a stream of one experience.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np

from genlab.classifiers.continual.experience import Stream


@dataclass(frozen=True)
class ContinualMetrics:
    """``matrix``: R (T × T, row i after experience i); ``baseline``: b (T,); the three summaries."""

    matrix: list[list[float]]
    baseline: list[float]
    acc: float
    bwt: float | None
    fwt: float | None

    @property
    def final_accuracies(self) -> list[float]:
        """R[T, j] for every experience j: accuracy at the end of the stream."""
        return list(self.matrix[-1])


def continual_metrics(rows: Sequence[Sequence[float]]) -> ContinualMetrics:
    """The metrics of the T + 1 recorded rows: before any training, then after each experience."""
    table = np.asarray(rows, dtype=np.float64)  # (T + 1, T)
    if table.ndim != 2 or table.shape[1] < 1 or table.shape[0] != table.shape[1] + 1:
        raise ValueError(f"expected T + 1 rows of T accuracies (the first before training), got shape {table.shape}")
    b, r = table[0], table[1:]  # (T,), (T, T)
    t = r.shape[0]
    acc = float(r[-1].mean())
    bwt = fwt = None
    if t > 1:
        bwt = float(np.mean(r[-1, :-1] - np.diag(r)[:-1]))
        fwt = float(np.mean([r[j - 1, j] - b[j] for j in range(1, t)]))
    return ContinualMetrics(matrix=r.tolist(), baseline=b.tolist(), acc=acc, bwt=bwt, fwt=fwt)


#: the accuracy matrix of a run (written by the stream runner after every experience)
MATRIX_FILE = "accuracy_matrix.json"


def matrix_record(rows: Sequence[Sequence[float]], stream: Stream) -> dict:
    """What ``RUN/accuracy_matrix.json`` holds: the rows recorded so far (before training, then
    after each experience), the scenario and the experiences."""
    return {
        "rows": [list(map(float, row)) for row in rows],
        "scenario": stream.scenario,
        "experiences": [{"index": e.index, "name": e.name, "classes": list(e.classes)} for e in stream],
    }
