"""Orthogonal gradient descent (Farajtabar, Azizan, Mott & Li 2020, "Orthogonal Gradient Descent
for Continual Learning", Algorithm 1, with the ground-truth-logit variant "OGD-GTL").

After experience t, for ``directions_per_task`` training examples, the gradient of the
ground-truth logit ∇_θ f_y(x; θ) (one per example, :func:`~genlab.classifiers.continual.per_sample.per_sample_grads`)
is orthogonalised against the stored directions by Gram–Schmidt and stored, normalised. While
later experiences train, the gradient g of the loss (all parameters as one vector) is projected
onto their orthogonal complement after backward: g ← g − Σ_v ⟨g, v⟩ v, so to first order a step
leaves the stored outputs f_y(x) unchanged.

The directions live in a (``max_directions`` × number of parameters) buffer whose first ``count``
rows are used; the stream must fit: (experiences − 1) × ``directions_per_task`` ≤ ``max_directions``
(no directions are stored after the last experience). A direction whose norm Gram–Schmidt reduces
below 1e-10 of its own is dependent on the stored ones and skipped.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from genlab.classifiers.continual.experience import Experience
from genlab.classifiers.continual.methods.base import METHODS, ExperienceContext, Method
from genlab.classifiers.continual.per_sample import flat, per_sample_grads
from genlab.errors import ConfigError
from genlab.utils import checks

#: a direction is kept when Gram–Schmidt leaves at least this fraction of its norm
INDEPENDENCE = 1e-10


def ground_truth_logit(logits: Tensor, y: Tensor) -> Tensor:
    """f_y(x) of one example: its logit of the true class."""
    return logits.gather(1, y[:, None]).sum()


def orthonormalise(stored: Tensor, new: Tensor) -> Tensor:
    """The rows of ``new`` (n, P) made orthonormal to the rows of ``stored`` (k, P) and to each
    other by Gram–Schmidt (each projection done twice); dependent rows dropped. float64."""
    basis = stored
    kept = []
    for v in new:
        norm0 = v.norm()
        for _ in range(2):  # re-orthogonalise once: "twice is enough" for floating point
            v = v - basis.T @ (basis @ v)
        norm = v.norm()
        if norm > INDEPENDENCE * norm0 and norm > 0:
            v = v / norm
            kept.append(v)
            basis = torch.cat([basis, v[None]], dim=0)
    return torch.stack(kept) if kept else new[:0]


@METHODS.register("ogd")
class OGD(Method):
    """Gradients projected away from the stored output gradients of earlier experiences."""

    def __init__(self, directions_per_task: int = 100, max_directions: int = 1000) -> None:
        super().__init__()
        checks.at_least("directions_per_task", directions_per_task, 1)
        checks.at_least("max_directions", max_directions, 1)
        self.directions_per_task, self.max_directions = directions_per_task, max_directions

    def attach(self, learner: nn.Module) -> None:
        size = sum(p.numel() for p in learner.network.parameters())
        dtype = next(learner.network.parameters()).dtype
        self.register_buffer("directions", torch.zeros(self.max_directions, size, dtype=dtype))  # (capacity, P)
        self.register_buffer("count", torch.zeros((), dtype=torch.long))

    def stored(self) -> Tensor:
        return self.directions[: int(self.count)]  # (k, P)

    def before_experience(self, learner: nn.Module, experience: Experience, context: ExperienceContext) -> None:
        need = self.directions_per_task * (context.n_experiences - 1)
        if need > self.max_directions:
            raise ConfigError(f"a stream of {context.n_experiences} experiences stores up to {need} directions; "
                              f"raise max_directions to {need} or lower directions_per_task",
                              key="family.method.max_directions")

    @torch.no_grad()
    def project(self, learner: nn.Module) -> None:
        v = self.stored()  # (k, P)
        if len(v) == 0:
            return
        params = list(learner.network.parameters())
        g = torch.cat([(torch.zeros_like(p) if p.grad is None else p.grad).reshape(-1) for p in params])  # (P,)
        g = g - v.T @ (v @ g)
        start = 0
        for p in params:
            piece = g[start:start + p.numel()].reshape(p.shape)
            if p.grad is None:
                p.grad = piece.clone()
            else:
                p.grad.copy_(piece)
            start += p.numel()

    @torch.no_grad()
    def after_experience(self, learner: nn.Module, experience: Experience, context: ExperienceContext) -> None:
        if context.is_last:
            return
        generator = torch.Generator().manual_seed(context.seed)
        indices = torch.randperm(len(experience.train), generator=generator)[: self.directions_per_task]
        x, y = learner.examples(experience.train, indices)
        grads = torch.cat([flat(g) for g in per_sample_grads(learner, x, y, ground_truth_logit)])  # (n, P)
        new = orthonormalise(self.stored().double(), grads.double())  # (n', P)
        k = int(self.count)
        if k + len(new) > self.max_directions:
            raise ConfigError(f"{k + len(new)} directions do not fit", key="family.method.max_directions")
        self.directions[k:k + len(new)] = new.to(self.directions.dtype)
        self.count.fill_(k + len(new))
