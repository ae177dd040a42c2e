"""Projected gradient descent on the loss (Madry et al. 2018, eq. 2.1 and §2.1) and its one- and
many-step special cases.

With the cross-entropy L and the threat model B_p(x, ε) ∩ [low, high]^D,

    x⁰ = x  (+ a uniform draw from the ε-ball with ``random_start``)
    x^{k+1} = Π_{B_p(x, ε) ∩ box}( x^k + α · step_p(∇_x L(θ, x^k, y)) ),

step_∞(g) = sign(g) and step_2(g) = g / ‖g‖₂; Π clips the perturbation to the ball (L∞: clamp
to [−ε, ε]; L2: rescale to norm ≤ ε), then the input to the box. ``restarts`` runs the whole
attack from fresh random starts and keeps, per sample, the first adversarial input that fools
the model (else the last).

* FGSM (Goodfellow et al. 2015, eq. 3): one L∞ step of size ε from x, no random start.
* BIM / iterative FGSM (Kurakin et al. 2017, §2.1): L∞ steps of α from x, no random start —
  PGD without random start.
"""

from __future__ import annotations

import torch
from torch import Tensor

from genlab.classifiers.attacks.base import Attack, Model, clip, loss_gradient, per_sample_norm, uniform
from genlab.utils import checks

NORMS = ("linf", "l2")


class PGD(Attack):
    """``PGD(eps, alpha, steps, norm, random_start, restarts)``: ``alpha`` defaults to 2.5 ε / steps
    (Madry et al.'s rule)."""

    def __init__(self, eps: float = 0.3, alpha: float | None = None, steps: int = 40, norm: str = "linf",
                 random_start: bool = True, restarts: int = 1) -> None:
        checks.non_negative("eps", eps)
        checks.at_least("steps", steps, 1)
        checks.at_least("restarts", restarts, 1)
        checks.one_of("norm", norm, NORMS)
        self.eps, self.steps, self.norm = eps, steps, norm
        self.alpha = 2.5 * eps / steps if alpha is None else alpha
        checks.non_negative("alpha", self.alpha)
        self.random_start, self.restarts = random_start, restarts

    def perturb(self, model: Model, x: Tensor, y: Tensor, bounds, generator) -> Tensor:
        best = None
        for _ in range(self.restarts):
            x_adv = self._run(model, x, y, bounds, generator)
            if self.restarts == 1:
                return x_adv
            with torch.no_grad():
                fooled = model(x_adv).argmax(1) != y  # (B,)
            if best is None:
                best, done = x_adv, fooled
            else:
                take = fooled & ~done
                best = torch.where(take.view(-1, *([1] * (x.ndim - 1))), x_adv, best)
                done = done | fooled
        return best

    def _start(self, x: Tensor, bounds, generator) -> Tensor:
        if not self.random_start or self.eps == 0:
            return x
        if self.norm == "linf":
            delta = uniform(x.shape, -self.eps, self.eps, x, generator)
        else:  # uniform in the L2 ball: a Gaussian direction, radius ε·u^(1/D)
            dev = x.device if generator is None else generator.device
            direction = torch.randn(x.shape, generator=generator, device=dev, dtype=x.dtype).to(x.device)
            direction = direction / per_sample_norm(direction, 2).clamp(min=1e-12)
            d = x[0].numel()
            radius = uniform((x.shape[0],), 0.0, 1.0, x, generator) ** (1.0 / d) * self.eps
            delta = direction * radius.view(-1, *([1] * (x.ndim - 1)))
        return clip(x + delta, bounds).detach()

    def _ascent(self, model: Model, x_adv: Tensor, y: Tensor) -> Tensor:
        """The direction the attack climbs at x_adv: ∇_x L(x_adv, y)."""
        grad, _ = loss_gradient(model, x_adv, y)
        return grad

    def _run(self, model: Model, x: Tensor, y: Tensor, bounds, generator) -> Tensor:
        x_adv = self._start(x, bounds, generator)
        for _ in range(self.steps):
            grad = self._ascent(model, x_adv, y)
            if self.norm == "linf":
                x_adv = x_adv.detach() + self.alpha * grad.sign()
                delta = torch.clamp(x_adv - x, min=-self.eps, max=self.eps)
            else:
                x_adv = x_adv.detach() + self.alpha * grad / per_sample_norm(grad, 2).clamp(min=1e-12)
                delta = x_adv - x
                delta = delta * (self.eps / per_sample_norm(delta, 2).clamp(min=1e-12)).clamp(max=1.0)
            x_adv = clip(x + delta, bounds).detach()
        return x_adv


class BIM(PGD):
    """``BIM(eps, alpha, steps)``: iterative FGSM — L∞ PGD from x without random start."""

    def __init__(self, eps: float = 0.3, alpha: float | None = None, steps: int = 10) -> None:
        checks.at_least("steps", steps, 1)  # before ε / steps
        super().__init__(eps=eps, alpha=eps / steps if alpha is None else alpha, steps=steps, norm="linf",
                         random_start=False)


class FGSM(PGD):
    """``FGSM(eps)``: x + ε sign(∇_x L), clipped to the box."""

    def __init__(self, eps: float = 0.3) -> None:
        super().__init__(eps=eps, alpha=eps, steps=1, norm="linf", random_start=False)

    def perturb(self, model: Model, x: Tensor, y: Tensor, bounds, generator) -> Tensor:
        # x + ε·sign(g) directly: through the projection, (x + εs) − x + x can differ from x + εs
        # in the last bit
        return clip(x + self.eps * self._ascent(model, x, y).sign(), bounds)
