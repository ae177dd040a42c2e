"""Few-shot tasks (episodes) drawn from any labelled pool: what the meta-learners train on.

An N-way K-shot task (Vinyals et al. 2016, "Matching networks for one shot learning"; Finn et
al. 2017, "Model-agnostic meta-learning for fast adaptation of deep networks") picks ``n_way`` distinct classes of
the pool and, of each, ``k_shot`` support and ``q_query`` query examples, all distinct. Within a
task the classes are relabelled 0..n_way-1 in the order they were drawn, so a learner cannot
carry a class index from one task to the next.

:class:`EpisodeSet` is a ``Dataset`` whose item ``i`` is the :class:`Task` drawn from a generator
seeded with ``(seed, i)``: the same ``i`` always gives the same task, whatever was read before
(the trainer's batches are a pure function of (seed, step), so a resumed run sees the same tasks).
:func:`collate_tasks` stacks tasks into a :class:`TaskBatch` with a leading task axis.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Sequence

import numpy as np
import torch
from torch import Tensor
from torch.utils.data import Dataset

from genlab.utils import checks


@dataclass
class Task:
    """One N-way task. Labels are 0..n_way-1 (label j = the j-th class drawn); the support holds
    its ``k_shot`` examples class by class (labels 0,..,0, 1,..,1, ...), and so does the query."""

    support_x: Tensor  # (S, ...) S = n_way k_shot
    support_y: Tensor  # (S,) long
    query_x: Tensor  # (Q, ...) Q = n_way q_query
    query_y: Tensor  # (Q,) long


@dataclass
class TaskBatch:
    """T tasks of the same shape, stacked along a leading task axis."""

    support_x: Tensor  # (T, S, ...)
    support_y: Tensor  # (T, S) long
    query_x: Tensor  # (T, Q, ...)
    query_y: Tensor  # (T, Q) long

    @property
    def n_tasks(self) -> int:
        return self.support_y.shape[0]

    def to(self, device: torch.device | str) -> "TaskBatch":
        return TaskBatch(self.support_x.to(device), self.support_y.to(device),
                         self.query_x.to(device), self.query_y.to(device))


def collate_tasks(tasks: Sequence[Task]) -> TaskBatch:
    """Tasks of equal shapes -> one :class:`TaskBatch` (the bundle's ``collate``)."""
    return TaskBatch(
        support_x=torch.stack([t.support_x for t in tasks]),  # (T, S, ...)
        support_y=torch.stack([t.support_y for t in tasks]),  # (T, S)
        query_x=torch.stack([t.query_x for t in tasks]),  # (T, Q, ...)
        query_y=torch.stack([t.query_y for t in tasks]),  # (T, Q)
    )


class EpisodeSet(Dataset):
    """``length`` tasks over the pool ``inputs`` (N, ...) with class ``labels`` (N,) (any integers).

    Item ``i`` draws, with ``np.random.default_rng([seed, i])``, ``n_way`` distinct classes and,
    for each, ``k_shot + q_query`` distinct examples: the first ``k_shot`` go to the support, the
    rest to the query. ``transform`` maps stored inputs to the modality's data (e.g.
    :func:`genlab.data.labelled.scale_uint8`); it is applied to the stacked support (S, ...) and
    query (Q, ...), so it must act item by item along the leading axis (elementwise maps do).
    """

    def __init__(self, inputs: Tensor, labels: Tensor, n_way: int, k_shot: int, q_query: int, seed: int = 0,
                 length: int = 10_000, transform: Callable[[Tensor], Tensor] | None = None) -> None:
        labels = torch.as_tensor(labels)
        if labels.ndim != 1 or inputs.shape[0] != labels.shape[0]:
            raise ValueError(f"inputs {tuple(inputs.shape)} and labels {tuple(labels.shape)}: expected (N, ...) "
                             "and (N,)")
        checks.at_least("n_way", n_way, 2)
        checks.at_least("k_shot", k_shot, 1)
        checks.at_least("q_query", q_query, 1)
        checks.non_negative("seed", seed)
        checks.at_least("length", length, 1)
        classes, counts = np.unique(labels.numpy(), return_counts=True)
        checks.at_most("n_way", n_way, len(classes), bound="the number of classes")
        smallest = int(np.argmin(counts))
        if k_shot >= counts[smallest]:
            raise checks.ImpossibleValue(  # at least one query example of every class
                "k_shot", f"must be at most {counts[smallest] - 1}, leaving a query example (class "
                f"{classes[smallest]}, the smallest, has {counts[smallest]} examples)", k_shot)
        if k_shot + q_query > counts[smallest]:
            raise checks.ImpossibleValue(  # k_shot + q_query examples of every class
                "q_query", f"with k_shot = {k_shot}, must be at most {counts[smallest] - k_shot} (class "
                f"{classes[smallest]}, the smallest, has {counts[smallest]} examples)", q_query)
        self.inputs, self.labels, self.transform = inputs, labels.long(), transform
        self.n_way, self.k_shot, self.q_query, self.seed, self.length = n_way, k_shot, q_query, seed, length
        self.classes = classes  # (C,) the pool's class values, sorted
        order = np.argsort(labels.numpy(), kind="stable")  # pool indices grouped by class, in pool order
        self.members = np.split(order, np.cumsum(counts)[:-1])  # C arrays of pool indices

    @property
    def n_classes(self) -> int:
        return len(self.classes)

    def __len__(self) -> int:
        return self.length

    def indices(self, i: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Task ``i`` as pool indices: (the classes drawn (n_way,) as pool class values, support
        (n_way, k_shot), query (n_way, q_query))."""
        if not 0 <= i < self.length:
            raise IndexError(f"task {i} of {self.length}")
        rng = np.random.default_rng([self.seed, i])
        drawn = rng.choice(self.n_classes, size=self.n_way, replace=False)  # (n_way,)
        picks = np.stack([rng.choice(self.members[c], size=self.k_shot + self.q_query, replace=False)
                          for c in drawn])  # (n_way, k_shot + q_query)
        return self.classes[drawn], picks[:, : self.k_shot], picks[:, self.k_shot :]

    def __getitem__(self, i: int) -> Task:
        _, support, query = self.indices(i)
        return Task(self._x(support.reshape(-1)), _labels(self.n_way, self.k_shot),
                    self._x(query.reshape(-1)), _labels(self.n_way, self.q_query))

    def _x(self, index: np.ndarray) -> Tensor:
        x = self.inputs[torch.from_numpy(index)]  # (n, ...)
        return x if self.transform is None else self.transform(x)


def _labels(n_way: int, per_class: int) -> Tensor:
    """0,..,0, 1,..,1, ..., each class ``per_class`` times: (n_way per_class,) long."""
    return torch.arange(n_way).repeat_interleave(per_class)
