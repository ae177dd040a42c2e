"""Sinusoid regression tasks (Finn et al. 2017, "Model-agnostic meta-learning", sec. 5.1),
registered in ``DATASETS`` as ``sinusoid``.

A task is a sine wave y = A sin(x − φ) with amplitude A ~ U[0.1, 5.0] and phase φ ~ U[0, π]; its
``k_shot`` support points and ``q_query`` query points have x ~ U[−5, 5]. Item ``i`` of a
:class:`SinusoidTasks` set is drawn from ``np.random.default_rng([seed, stream, i])`` (stream 0 for
training, 1 for the held-out tasks), so the same item is always the same task and the two sets
never share a generator. Items are :class:`~genlab.data.episodes.Task`\\ s whose inputs and
targets are points: x (K, 1) and y (K, 1) float32; the modality is
:class:`~genlab.modalities.points.PointsModality` of dimension 1.
"""

from __future__ import annotations

import math
from typing import Sequence

import numpy as np
import torch
from torch.utils.data import Dataset

from genlab.data.bundle import DataBundle
from genlab.data.episodes import Task, collate_tasks
from genlab.data.registry import DATASETS
from genlab.modalities.points import PointsModality
from genlab.utils import checks

#: Finn et al.'s ranges: amplitude, phase, inputs
AMPLITUDE, PHASE, INPUTS = (0.1, 5.0), (0.0, math.pi), (-5.0, 5.0)


class SinusoidTasks(Dataset):
    """``length`` sine-wave tasks of ``k_shot`` support and ``q_query`` query points."""

    def __init__(self, k_shot: int, q_query: int, length: int, seed: int = 0, stream: int = 0,
                 amplitude: Sequence[float] = AMPLITUDE, phase: Sequence[float] = PHASE,
                 inputs: Sequence[float] = INPUTS) -> None:
        self.k_shot, self.q_query, self.length, self.seed, self.stream = k_shot, q_query, length, seed, stream
        self.amplitude, self.phase, self.inputs = tuple(amplitude), tuple(phase), tuple(inputs)

    def __len__(self) -> int:
        return self.length

    def draw(self, i: int) -> tuple[float, float, np.ndarray]:
        """(amplitude A, phase φ, inputs x (k_shot + q_query, 1)) of task ``i``."""
        if not 0 <= i < self.length:
            raise IndexError(f"task {i} of {self.length}")
        rng = np.random.default_rng([self.seed, self.stream, i])
        a = rng.uniform(*self.amplitude)
        phi = rng.uniform(*self.phase)
        x = rng.uniform(*self.inputs, size=(self.k_shot + self.q_query, 1))  # (K + Q, 1)
        return float(a), float(phi), x

    def __getitem__(self, i: int) -> Task:
        a, phi, x = self.draw(i)
        y = a * np.sin(x - phi)  # (K + Q, 1)
        x_t, y_t = torch.from_numpy(x).float(), torch.from_numpy(y).float()
        k = self.k_shot
        return Task(support_x=x_t[:k], support_y=y_t[:k], query_x=x_t[k:], query_y=y_t[k:])


def _range(name: str, value: Sequence[float]) -> tuple[float, float]:
    if len(value) != 2:
        raise checks.ImpossibleValue(name, "must be [low, high]", list(value))
    low, high = float(value[0]), float(value[1])
    checks.finite(name, low)
    checks.finite(name, high)
    checks.less_than(name, low, high, bound="its upper end")
    return low, high


@DATASETS.register("sinusoid")
def sinusoid(k_shot: int = 10, q_query: int = 10, length: int = 1_000_000, heldout_length: int = 600,
             seed: int = 0, amplitude: Sequence[float] = AMPLITUDE, phase: Sequence[float] = PHASE,
             inputs: Sequence[float] = INPUTS) -> DataBundle:
    """``length`` training tasks and ``heldout_length`` held-out tasks of ``k_shot`` support and
    ``q_query`` query points (Finn et al.: K = 5 or 10 of each); the ranges of A, φ and x are keys."""
    checks.at_least("k_shot", k_shot, 1)
    checks.at_least("q_query", q_query, 1)
    checks.at_least("length", length, 1)
    checks.at_least("heldout_length", heldout_length, 1)
    checks.non_negative("seed", seed)
    ranges = {"amplitude": _range("amplitude", amplitude), "phase": _range("phase", phase),
              "inputs": _range("inputs", inputs)}
    sets = [SinusoidTasks(k_shot, q_query, n, seed=seed, stream=stream, **ranges)
            for stream, n in ((0, length), (1, heldout_length))]
    return DataBundle(modality=PointsModality(dim=1), train=sets[0], heldout=sets[1], collate=collate_tasks,
                      info={"dataset": "sinusoid", "k_shot": k_shot, "q_query": q_query, "seed": seed})
