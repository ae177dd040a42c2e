"""Networks with sparse activations for continual learning: ``logits = network(x)``.

``sparse_mlp`` honours the classifier-network contract of :mod:`genlab.networks.classifiers`
(constructor ``(shapes, classes, ...)``, (B, ...) -> (B, classes)): flatten, ``depth`` hidden
layers of ``hidden`` units, a linear output. Each hidden layer is a linear map followed by
:class:`KWinners`, the two mechanisms of Abbasi, Nooralinejad, Braverman, Pirsiavash & Kolouri
(2022, "Sparsity and Heterogeneous Dropout for Continual Learning in the Null Space of Neural
Activations", built on gradient projection memory):

* **k-winner-take-all**: of each example's pre-activations z only the ``k`` largest pass, through
  a ReLU; the others are 0. Sparse activations leave most of a layer's input space unused, so the
  bases GPM stores grow slowly and later tasks keep room to learn;
* **heterogeneous dropout** between tasks: while training, unit j is kept with probability
  p_j = exp(−ρ a_j / max_i a_i), a_j the number of times it was among the winners during earlier
  experiences (p = 1 on the first); a dropped unit cannot win, so a new task is pushed towards
  units the old ones used little, and the tasks' activation patterns overlap less. ``rho`` (ρ)
  sets the strength; ρ = 0 turns it off. No rescaling: it selects units, it is not a regulariser.

Win counts are buffers: ``current`` counts during training, and the continual learner calls the
``end_experience`` hook after each experience, which adds them to ``past``. In eval mode nothing
is dropped or counted.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn

from genlab.networks.classifiers import _input_shape
from genlab.networks.registry import NETWORKS
from genlab.utils.checks import ImpossibleValue, at_least, finite, non_negative


class KWinners(nn.Module):
    """``h = ReLU(z)`` on the ``k`` winners of each row of z (B, units), 0 elsewhere; while
    training, heterogeneous dropout of rate 1 − exp(−ρ a / max a) acts before the competition."""

    def __init__(self, units: int, k: int, rho: float = 0.0) -> None:
        super().__init__()
        self.k, self.rho = k, rho
        self.register_buffer("past", torch.zeros(units))  # a: wins in earlier experiences
        self.register_buffer("current", torch.zeros(units))  # wins in this experience so far

    def keep_probability(self) -> Tensor:
        """p (units,): the probability each unit takes part in the competition while training."""
        top = self.past.max()
        if self.rho == 0 or top <= 0:
            return torch.ones_like(self.past)
        return torch.exp(-self.rho * self.past / top)

    def forward(self, z: Tensor) -> Tensor:
        scores = z
        if self.training:
            keep = torch.bernoulli(self.keep_probability().expand_as(z)).bool()  # (B, units)
            scores = z.masked_fill(~keep, float("-inf"))
        winners = torch.zeros_like(z, dtype=torch.bool).scatter(1, scores.topk(self.k, dim=1).indices, True)
        if self.training:
            winners &= keep
            with torch.no_grad():
                self.current += (winners & (z > 0)).sum(0).to(self.current)
        return torch.relu(z) * winners  # (B, units)

    @torch.no_grad()
    def end_experience(self) -> None:
        """Add this experience's wins to the earlier ones and start counting afresh."""
        self.past += self.current
        self.current.zero_()


@NETWORKS.register("sparse_mlp")
class SparseMLP(nn.Module):
    """``SparseMLP(shapes, classes, hidden, depth, k, rho)``: flattened input -> ``depth`` layers
    of ``hidden`` k-winner units -> ``classes`` logits."""

    def __init__(self, shapes: dict[str, tuple[int, ...]], classes: int = 10, hidden: int = 100, depth: int = 2,
                 k: int = 20, rho: float = 0.0) -> None:
        super().__init__()
        at_least("classes", classes, 2)
        at_least("hidden", hidden, 1)
        at_least("depth", depth, 1)
        at_least("k", k, 1)
        if k > hidden:
            raise ImpossibleValue("k", f"must be at most hidden ({hidden})", k)
        non_negative("rho", rho)
        finite("rho", rho)
        width = math.prod(_input_shape(shapes, "sparse_mlp"))
        layers: list[nn.Module] = [nn.Flatten()]
        for _ in range(depth):
            layers += [nn.Linear(width, hidden), KWinners(hidden, k, rho)]
            width = hidden
        layers.append(nn.Linear(width, classes))
        self.layers = nn.Sequential(*layers)

    def forward(self, x: Tensor) -> Tensor:
        return self.layers(x)  # (B, ...) -> (B, classes)
