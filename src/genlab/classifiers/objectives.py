"""Training objectives of a classifier: what ``loss`` the trainer minimises on a labelled batch.

``standard``: the cross-entropy of the clean inputs.

``pgd`` (adversarial training, Madry et al. 2018, eq. 2.1): the cross-entropy at the inputs an
L∞ PGD attack (random start) finds inside B(x, ε) ∩ box — the inner maximisation of the saddle
point problem min_θ E max_{δ ∈ S} L(θ, x + δ, y), solved approximately by PGD as in §3.

``fast`` (FGSM with a random start, "fast adversarial training", Wong, Rice & Kolter 2020,
Alg. 3): δ ~ U(−ε, ε), one signed-gradient step of size α (1.25 ε by default) taken at x + δ, δ
projected to [−ε, ε] and x + δ to the box; the cross-entropy at x + δ.

``trades`` (Zhang et al. 2019, eq. 5 and Alg. 1): CE(f(x), y) + β · KL(f(x) ‖ f(x')), where x'
maximises the KL term by L∞ PGD steps from x + 0.001·N(0, I), projected to B(x, ε) ∩ box.

``mixed`` (the clean-plus-adversarial loss of Goodfellow et al. 2015, eq. 6, with any attack):
(1 − λ) CE(f(x), y) + λ CE(f(x_adv), y), x_adv from a named attack of
:data:`~genlab.classifiers.attacks.registry.ATTACKS`.

Every objective reports the accuracy of the inputs it trains on (``accuracy``) and, when those are
adversarial, the clean accuracy too (``clean_accuracy``). Each works under ``torch.no_grad`` and
``torch.inference_mode`` (Lightning validates under the latter): the attacks switch gradients
back on for themselves. None changes the network's ``training`` mode.
"""

from __future__ import annotations

from typing import Any, Mapping

import torch
import torch.nn.functional as F
from torch import Tensor

from genlab.classifiers.attacks.base import buffers_kept, check_inputs, clip, gradients_on, loss_gradient
from genlab.classifiers.attacks.pgd import PGD
from genlab.classifiers.attacks.registry import ATTACKS
from genlab.errors import ConfigError
from genlab.registry import Registry
from genlab.utils import checks


class Objective:
    """Base class: ``loss, metrics = objective(classifier, x, y)`` with x in the classifier's
    input range, (B, ...), and labels y (B,); ``objective.adversarial(classifier, x, y)`` is the
    perturbed input it trains on (x itself for ``standard``)."""

    def __call__(self, classifier: Any, x: Tensor, y: Tensor) -> tuple[Tensor, dict[str, float]]:
        """``classifier``: a :class:`~genlab.classifiers.classifier.Classifier` (its ``logits`` and
        ``input_range``)."""
        raise NotImplementedError

    def adversarial(self, classifier: Any, x: Tensor, y: Tensor) -> Tensor:
        return x


OBJECTIVES: Registry[Objective] = Registry("family.objective")


def accuracy(logits: Tensor, y: Tensor) -> float:
    return (logits.argmax(1) == y).float().mean().item()


@OBJECTIVES.register("standard")
class Standard(Objective):
    """``Standard()``: cross-entropy of the clean inputs."""

    def __call__(self, classifier, x, y):
        logits = classifier.logits(x)
        loss = F.cross_entropy(logits, y)
        return loss, {"loss": loss.item(), "accuracy": accuracy(logits, y)}


class AttackTraining(Objective):
    """Cross-entropy at the inputs of :meth:`adversarial` (by default those of :attr:`attack`);
    what ``pgd`` and ``fast`` share."""

    attack: PGD

    def adversarial(self, classifier, x, y):
        return self.attack(classifier.logits, x, y, bounds=classifier.input_range)

    def __call__(self, classifier, x, y):
        x_adv = self.adversarial(classifier, x, y)
        logits = classifier.logits(x_adv)
        loss = F.cross_entropy(logits, y)
        with torch.no_grad():
            clean = accuracy(classifier.logits(x), y)
        return loss, {"loss": loss.item(), "accuracy": accuracy(logits, y), "clean_accuracy": clean}


@OBJECTIVES.register("pgd")
class PGDTraining(AttackTraining):
    """``PGDTraining(eps, alpha, steps)``: cross-entropy at L∞ PGD inputs with a random start."""

    def __init__(self, eps: float = 0.3, alpha: float = 0.01, steps: int = 40) -> None:
        self.attack = PGD(eps=eps, alpha=alpha, steps=steps, norm="linf", random_start=True)


@OBJECTIVES.register("fast")
class FastTraining(AttackTraining):
    """``FastTraining(eps, alpha)``: FGSM from a uniform random start in [−ε, ε] (Wong et al. 2020,
    Alg. 3); ``alpha`` defaults to 1.25 ε, their choice.

    As in the algorithm (and the authors' MNIST code) the start x + δ is not clipped to the box: the
    gradient is taken there, and only the final x + δ is projected to the ball and the box. Clipping
    the start first would put every background pixel whose gradient points up at the ball's corner,
    taking away the randomness that keeps single-step training from overfitting to FGSM.
    """

    def __init__(self, eps: float = 0.3, alpha: float | None = None) -> None:
        checks.non_negative("eps", eps)
        alpha = 1.25 * eps if alpha is None else alpha
        checks.non_negative("alpha", alpha)
        self.eps, self.alpha = eps, alpha

    def adversarial(self, classifier, x, y):
        bounds = classifier.input_range
        check_inputs(x, bounds)
        with gradients_on(), buffers_kept(classifier.logits):
            x, y = x.detach().clone(), y.detach().clone()
            delta = (2 * torch.rand_like(x) - 1) * self.eps  # δ ~ U(−ε, ε), (B, ...)
            grad, _ = loss_gradient(classifier.logits, x + delta, y)
            delta = (delta + self.alpha * grad.sign()).clamp(-self.eps, self.eps)
            return clip(x + delta, bounds).detach()


@OBJECTIVES.register("trades")
class TRADES(Objective):
    """``TRADES(beta, eps, alpha, steps, start_std)``: CE(f(x), y) + β KL(f(x) ‖ f(x')); x' from
    ``steps`` L∞ steps of size ``alpha`` on the KL term, started at x + ``start_std``·N(0, I)."""

    def __init__(self, beta: float = 1.0, eps: float = 0.3, alpha: float = 0.01, steps: int = 40,
                 start_std: float = 0.001) -> None:
        checks.non_negative("beta", beta)
        checks.non_negative("eps", eps)
        checks.non_negative("alpha", alpha)
        checks.at_least("steps", steps, 1)
        checks.non_negative("start_std", start_std)
        self.beta, self.eps, self.alpha, self.steps, self.start_std = beta, eps, alpha, steps, start_std

    def adversarial(self, classifier: Any, x: Tensor, y: Tensor | None = None) -> Tensor:
        """x' = argmax over B(x, ε) ∩ box of KL(f(x) ‖ f(x')), by projected signed-gradient ascent;
        the model's parameters get no gradient and its buffers are put back, as attacks do."""
        bounds = classifier.input_range
        check_inputs(x, bounds)
        with gradients_on(), buffers_kept(classifier.logits):
            x = x.detach().clone()
            with torch.no_grad():
                p_clean = F.softmax(classifier.logits(x), dim=1)  # (B, K), the fixed target
            x_adv = self._project(x + self.start_std * torch.randn_like(x), x, bounds)
            for _ in range(self.steps):
                x_adv.requires_grad_(True)
                kl = F.kl_div(F.log_softmax(classifier.logits(x_adv), dim=1), p_clean, reduction="sum")
                (grad,) = torch.autograd.grad(kl, [x_adv])
                x_adv = self._project(x_adv.detach() + self.alpha * grad.sign(), x, bounds)
        return x_adv.detach()

    def _project(self, x_adv: Tensor, x: Tensor, bounds: tuple[float, float] | None) -> Tensor:
        return clip(x + (x_adv - x).clamp(-self.eps, self.eps), bounds)

    def __call__(self, classifier, x, y):
        x_adv = self.adversarial(classifier, x)
        logits = classifier.logits(x)  # (B, K)
        logits_adv = classifier.logits(x_adv)  # (B, K)
        natural = F.cross_entropy(logits, y)
        robust = F.kl_div(F.log_softmax(logits_adv, dim=1), F.softmax(logits, dim=1), reduction="batchmean")
        loss = natural + self.beta * robust
        return loss, {"loss": loss.item(), "natural_loss": natural.item(), "robust_kl": robust.item(),
                      "accuracy": accuracy(logits_adv, y), "clean_accuracy": accuracy(logits, y)}


@OBJECTIVES.register("mixed")
class Mixed(Objective):
    """``Mixed(attack, adversarial_weight)``: (1 − λ) CE(x) + λ CE(x_adv) with λ =
    ``adversarial_weight``; ``attack`` is an attack's name (``fgsm``) or a mapping with its keys
    (``{name: pgd, eps: 0.3, steps: 10}``)."""

    def __init__(self, attack: str | Mapping[str, Any] = "fgsm", adversarial_weight: float = 0.5) -> None:
        checks.in_unit_interval("adversarial_weight", adversarial_weight)
        section = {"name": attack} if isinstance(attack, str) else dict(attack)
        try:
            self.attack = ATTACKS.build(section)
        except TypeError as exc:  # an attack that needs an object no config holds (transfer's surrogate)
            raise ConfigError(f"the {section['name']} attack cannot train a model: {exc}",
                              key="family.objective.attack") from None
        self.adversarial_weight = adversarial_weight

    def adversarial(self, classifier, x, y):
        return self.attack(classifier.logits, x, y, bounds=classifier.input_range)

    def __call__(self, classifier, x, y):
        x_adv = self.adversarial(classifier, x, y)
        logits, logits_adv = classifier.logits(x), classifier.logits(x_adv)  # (B, K) each
        lam = self.adversarial_weight
        loss = (1 - lam) * F.cross_entropy(logits, y) + lam * F.cross_entropy(logits_adv, y)
        return loss, {"loss": loss.item(), "accuracy": accuracy(logits_adv, y),
                      "clean_accuracy": accuracy(logits, y)}
