"""The learning-rate factor of a step: linear warm-up, then a decay over the training budget.

After ``warmup_steps`` the factor follows a schedule of the budget progress p ∈ [0, 1] down to
``final`` (= ``train.lr_final_ratio``):

* ``constant``: 1;
* ``linear``:  final + (1 - final)(1 - p)  — Li, Yumer & Ramanan (2020, "Budgeted training:
  rethinking deep neural network training under resource constraints"): a schedule that
  reaches its low value exactly when the budget ends beats one cut short by the budget;
* ``cosine``:  final + (1 - final)(1 + cos πp)/2  — the annealing of Loshchilov & Hutter (2017,
  SGDR) without restarts.

The default is ``constant``: with an EMA of the weights, which already averages over the last
~1/(1 - decay) steps, a linear decay lowered QM9 validity in a short CPU run (docs/benchmarks.md).

The budget is steps *or* wall-clock time, whichever ends training first: p is the larger of the
step fraction (s - warmup)/(max_steps - warmup) and the time fraction elapsed/max_minutes. With a
time budget the schedule therefore depends on the machine's speed — the price of finishing
annealed on any machine instead of stopping at full learning rate on a slow one.
"""

from __future__ import annotations

import math
from typing import Callable

#: schedule name -> factor as a function of the budget progress p ∈ [0, 1], before ``final``
LR_DECAYS: dict[str, Callable[[float], float]] = {
    "constant": lambda p: 1.0,
    "linear": lambda p: 1.0 - p,
    "cosine": lambda p: 0.5 * (1.0 + math.cos(math.pi * p)),
}


def budget_progress(step: int, warmup_steps: int, max_steps: int, elapsed_s: float | None = None,
                    max_minutes: float | None = None) -> float:
    """p ∈ [0, 1]: how much of the post-warm-up budget is spent after ``step`` optimizer steps."""
    p = (step - warmup_steps) / max(1, max_steps - warmup_steps)
    if max_minutes is not None and elapsed_s is not None:
        p = max(p, elapsed_s / (60.0 * max_minutes))
    return min(1.0, max(0.0, p))


def lr_factor(schedule: str, step: int, warmup_steps: int, progress: float, final: float = 0.0) -> float:
    """Multiplier of ``train.lr`` at ``step``: warm-up from 1/warmup_steps to 1, then the decay."""
    if warmup_steps and step < warmup_steps:
        return (step + 1) / warmup_steps
    return final + (1.0 - final) * LR_DECAYS[schedule](progress)
