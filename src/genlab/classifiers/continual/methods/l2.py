"""L2 to the previous weights: later tasks minimise L(θ) + (λ/2) ‖θ − θ*‖², θ* the weights after
the previous experience (EWC with the Fisher replaced by the identity; the "L2" baseline of
Kirkpatrick et al. 2017, Fig. 2A). Keys: ``lam`` (λ)."""

from __future__ import annotations

import torch
from torch import Tensor, nn

from genlab.classifiers.continual.experience import Experience
from genlab.classifiers.continual.methods.base import METHODS, ExperienceContext, Method, ParameterBuffers
from genlab.classifiers.continual.methods.ewc import quadratic_penalty
from genlab.utils import checks


@METHODS.register("l2")
class L2(Method):
    """A unit-weight quadratic around the last experience's weights (none before the first ends)."""

    def __init__(self, lam: float = 1.0) -> None:
        super().__init__()
        checks.non_negative("lam", lam)
        checks.finite("lam", lam)
        self.lam = lam

    def attach(self, learner: nn.Module) -> None:
        self.weight = ParameterBuffers(learner.network)  # 0 before the first experience ends, then 1
        self.anchor = ParameterBuffers(learner.network)  # θ*

    def penalty(self, learner: nn.Module) -> Tensor:
        return quadratic_penalty(learner.network, self.weight, self.anchor, self.lam)

    @torch.no_grad()
    def after_experience(self, learner: nn.Module, experience: Experience, context: ExperienceContext) -> None:
        for name, p in learner.network.named_parameters():
            self.weight[name].fill_(1.0)
            self.anchor[name].copy_(p)
