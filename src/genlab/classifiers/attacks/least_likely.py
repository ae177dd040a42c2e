"""Steps towards the least likely class (Kurakin et al. 2017, "Adversarial examples in the physical
world", §2.1, "iter. l.l."; the one-step form is their "step l.l." of "Adversarial machine
learning at scale", §2).

With y_LL = argmin_k p(k | x), the class the model finds least likely for the clean input
(computed once), the attack descends the cross-entropy towards it:

    x⁰ = x,   x^{k+1} = Clip_{x,ε}( x^k − α · sign(∇_x L(x^k, y_LL)) ),

Clip_{x,ε} keeping every coordinate within ε of x and inside the box. The one-step form is
x − ε · sign(∇_x L(x, y_LL)), clipped to the box. The labels y are not used: the target is the
model's own least likely class.
"""

from __future__ import annotations

import torch
from torch import Tensor

from genlab.classifiers.attacks.base import Model, loss_gradient
from genlab.classifiers.attacks.pgd import BIM, FGSM


def least_likely_class(model: Model, x: Tensor) -> Tensor:
    """argmin_k of the model's logits per input, (B,)."""
    with torch.no_grad():
        return model(x).argmin(1)


class _TowardsLeastLikely:
    """Replaces the labels by y_LL and climbs −∇_x L(x, y_LL) in the PGD loop it is mixed into."""

    def perturb(self, model: Model, x: Tensor, y: Tensor, bounds, generator) -> Tensor:
        return super().perturb(model, x, least_likely_class(model, x), bounds, generator)

    def _ascent(self, model: Model, x_adv: Tensor, y_ll: Tensor) -> Tensor:
        grad, _ = loss_gradient(model, x_adv, y_ll)
        return -grad


class LeastLikely(_TowardsLeastLikely, FGSM):
    """``LeastLikely(eps)``: x − ε sign(∇_x L(x, y_LL)), clipped to the box."""


class IterativeLeastLikely(_TowardsLeastLikely, BIM):
    """``IterativeLeastLikely(eps, alpha, steps)``: ``steps`` sign steps of ``alpha`` (default
    ε / steps) towards y_LL, each clipped to the ε-ball around x and the box."""
