"""Elastic weight consolidation (Kirkpatrick et al. 2017, eq. 3 and its multi-task form).

After task t the learner remembers θ*_t and the diagonal Fisher F_t (:mod:`.fisher`); later
tasks minimise L(θ) + Σ_t (λ/2) Σ_i F_{t,i} (θ_i − θ*_{t,i})². A sum of diagonal quadratics is one
diagonal quadratic: with the precision P = Σ_t F_t and the precision-weighted mean
m = (Σ_t F_t θ*_t) / P the penalty is (λ/2) Σ_i P_i (θ_i − m_i)² plus a constant, with the same
gradient, so two buffers of the network's shape hold every earlier task (``precision``, ``mean``).
The penalty's value therefore differs from the sum of the per-task terms by that constant.

Keys: ``lam`` (λ; ``lambda`` is a Python keyword), ``fisher_samples`` (training examples the
Fisher is estimated on), ``fisher_labels`` (``empirical`` | ``true``, see :mod:`.fisher`).
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from genlab.classifiers.continual.experience import Experience
from genlab.classifiers.continual.methods.base import METHODS, ExperienceContext, Method, ParameterBuffers
from genlab.classifiers.continual.methods.fisher import FISHER_LABELS, fisher_of_experience
from genlab.utils import checks


def quadratic_penalty(network: nn.Module, weight: ParameterBuffers, centre: ParameterBuffers, lam: float) -> Tensor:
    """(λ/2) Σ_i w_i (θ_i − c_i)² over every parameter of ``network``."""
    terms = [(weight[name] * (p - centre[name]) ** 2).sum() for name, p in network.named_parameters()]
    return 0.5 * lam * torch.stack(terms).sum()


@METHODS.register("ewc")
class EWC(Method):
    """EWC with one precision-weighted anchor for all earlier tasks."""

    def __init__(self, lam: float = 100.0, fisher_samples: int = 1000, fisher_labels: str = "empirical") -> None:
        super().__init__()
        checks.non_negative("lam", lam)
        checks.finite("lam", lam)
        checks.at_least("fisher_samples", fisher_samples, 1)
        checks.one_of("fisher_labels", fisher_labels, FISHER_LABELS)
        self.lam, self.fisher_samples, self.fisher_labels = lam, fisher_samples, fisher_labels

    def attach(self, learner: nn.Module) -> None:
        self.precision = ParameterBuffers(learner.network)  # P = Σ_t F_t
        self.mean = ParameterBuffers(learner.network)  # m = Σ_t F_t θ*_t / P

    def penalty(self, learner: nn.Module) -> Tensor:
        return quadratic_penalty(learner.network, self.precision, self.mean, self.lam)

    def after_experience(self, learner: nn.Module, experience: Experience, context: ExperienceContext) -> None:
        fisher = fisher_of_experience(learner, experience, self.fisher_samples, self.fisher_labels, context.seed)
        anchor = {name: p.detach() for name, p in learner.network.named_parameters()}
        self.consolidate(anchor, fisher)

    @torch.no_grad()
    def consolidate(self, anchor: dict[str, Tensor], fisher: dict[str, Tensor]) -> None:
        """Add a task with optimum ``anchor`` and Fisher diagonal ``fisher`` (both per parameter)."""
        for name, f in fisher.items():
            p_old, m_old = self.precision[name], self.mean[name]
            p_new = p_old + f
            weighted = p_old * m_old + f * anchor[name]
            m_old.copy_(torch.where(p_new > 0, weighted / p_new.clamp_min(torch.finfo(p_new.dtype).tiny), anchor[name]))
            p_old.copy_(p_new)
