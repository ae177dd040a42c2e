"""Online EWC (Schwarz et al. 2018, "Progress & Compress: a scalable framework for continual learning").

One running Fisher and one anchor instead of one per task: after task t

    F̃_t = γ F̃_{t−1} + F_t,        θ* = θ after task t,

and later tasks minimise L(θ) + (λ/2) Σ_i F̃_i (θ_i − θ*_i)². γ < 1 lets old tasks' importance
decay; γ = 1 keeps it. Keys: ``lam`` (λ), ``gamma`` (γ), ``fisher_samples``, ``fisher_labels``.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from genlab.classifiers.continual.experience import Experience
from genlab.classifiers.continual.methods.base import METHODS, ExperienceContext, Method, ParameterBuffers
from genlab.classifiers.continual.methods.ewc import quadratic_penalty
from genlab.classifiers.continual.methods.fisher import FISHER_LABELS, fisher_of_experience
from genlab.utils import checks


@METHODS.register("online_ewc")
class OnlineEWC(Method):
    """A running, decaying Fisher around the latest optimum."""

    def __init__(self, lam: float = 100.0, gamma: float = 1.0, fisher_samples: int = 1000,
                 fisher_labels: str = "empirical") -> None:
        super().__init__()
        checks.non_negative("lam", lam)
        checks.finite("lam", lam)
        checks.in_unit_interval("gamma", gamma)
        checks.at_least("fisher_samples", fisher_samples, 1)
        checks.one_of("fisher_labels", fisher_labels, FISHER_LABELS)
        self.lam, self.gamma = lam, gamma
        self.fisher_samples, self.fisher_labels = fisher_samples, fisher_labels

    def attach(self, learner: nn.Module) -> None:
        self.fisher = ParameterBuffers(learner.network)  # F̃
        self.anchor = ParameterBuffers(learner.network)  # θ*

    def penalty(self, learner: nn.Module) -> Tensor:
        return quadratic_penalty(learner.network, self.fisher, self.anchor, self.lam)

    @torch.no_grad()
    def after_experience(self, learner: nn.Module, experience: Experience, context: ExperienceContext) -> None:
        fisher = fisher_of_experience(learner, experience, self.fisher_samples, self.fisher_labels, context.seed)
        for name, p in learner.network.named_parameters():
            self.fisher[name].mul_(self.gamma).add_(fisher[name])
            self.anchor[name].copy_(p)
