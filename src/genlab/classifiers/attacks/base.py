"""The attack contract: ``x_adv = attack(model, x, y, bounds=...)``.

``model`` maps a batch of inputs (B, ...) to logits (B, K); ``bounds`` is the box the inputs live
in ((0, 1) for images; ``None`` for unbounded inputs such as points), taken from the model's
``input_range`` when it has one (a :class:`~genlab.classifiers.classifier.Classifier` does) — never
assumed. Every attack

* works batch-wise and returns inputs inside ``bounds``;
* leaves the model as it found it: parameters, ``training`` mode and ``.grad`` untouched (input
  gradients come from ``torch.autograd.grad`` with respect to the inputs only), and its buffers
  too — a model in training mode with batch normalisation updates its running statistics on every
  forward pass, so :func:`buffers_kept` puts them back after the attack;
* works inside ``torch.no_grad`` and ``torch.inference_mode`` (Lightning evaluates under the
  latter): gradients are switched back on for the attack and inference-mode inputs copied out of
  inference mode. Other inputs are used as they are (detached), so :meth:`Attack.perturb` must
  never change x or y in place.
"""

from __future__ import annotations

import contextlib
from typing import Callable, Iterator

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from genlab.errors import GenlabError

#: logits (B, K) from inputs (B, ...)
Model = Callable[[Tensor], Tensor]
Bounds = "tuple[float, float] | None"


class Attack:
    """Base class; subclasses are registered in :data:`genlab.classifiers.attacks.registry.ATTACKS`
    and implement :meth:`perturb`."""

    def __call__(self, model: Model, x: Tensor, y: Tensor, *, bounds: tuple[float, float] | None | str = "model",
                 generator: torch.Generator | None = None) -> Tensor:
        """Adversarial inputs for ``(x, y)``, (B, ...), inside ``bounds`` (``"model"``: the model's
        ``input_range``)."""
        bounds = resolve_bounds(model, bounds)
        check_inputs(x, bounds)
        with gradients_on(), buffers_kept(model):
            x = x.clone() if x.is_inference() else x.detach()
            y = y.clone() if y.is_inference() else y.detach()
            return self.perturb(model, x, y, bounds, generator).detach()

    def perturb(self, model: Model, x: Tensor, y: Tensor, bounds: tuple[float, float] | None,
                generator: torch.Generator | None) -> Tensor:
        raise NotImplementedError


def resolve_bounds(model: Model, bounds: tuple[float, float] | None | str) -> tuple[float, float] | None:
    """``bounds`` itself, or the model's ``input_range`` for ``"model"``."""
    if not isinstance(bounds, str):
        return bounds
    if bounds != "model":
        raise GenlabError(f"bounds must be (low, high), None or 'model', got {bounds!r}")
    if not hasattr(model, "input_range"):
        raise GenlabError("the model declares no input_range; pass bounds=(low, high), or None "
                          "for unbounded inputs")
    return model.input_range


@contextlib.contextmanager
def buffers_kept(model: Model) -> Iterator[None]:
    """Restore the buffers (batch-norm running statistics, counters) of ``model`` — a module, or a
    module's bound method such as ``classifier.logits`` — when the block ends."""
    module = model if isinstance(model, nn.Module) else getattr(model, "__self__", None)
    if not isinstance(module, nn.Module):
        yield
        return
    saved = [(b, b.detach().clone()) for b in module.buffers()]
    try:
        yield
    finally:
        with torch.no_grad():
            for b, value in saved:
                b.copy_(value)


@contextlib.contextmanager
def gradients_on() -> Iterator[None]:
    """Autograd on, inference mode off, for the duration of an attack."""
    with torch.inference_mode(False), torch.enable_grad():
        yield


def check_inputs(x: Tensor, bounds: tuple[float, float] | None) -> None:
    """Inputs outside ``bounds`` mean the model and the attack disagree on the input range."""
    if bounds is None:
        return
    low, high = bounds
    if not low < high:
        raise GenlabError(f"an attack's bounds must satisfy low < high, got {bounds}")
    lo, hi = (float(v) for v in torch.aminmax(x.detach()))  # one pass
    tol = 1e-6 * (high - low)
    if lo < low - tol or hi > high + tol:
        raise GenlabError(f"inputs span [{lo:.4g}, {hi:.4g}], outside the attack's range [{low:g}, {high:g}]; "
                          "the model's inputs are not in the range the attack keeps them in")


def clip(x: Tensor, bounds: tuple[float, float] | None) -> Tensor:
    return x if bounds is None else x.clamp(*bounds)


def loss_gradient(model: Model, x: Tensor, y: Tensor, loss: Callable[[Tensor, Tensor], Tensor] | None = None) -> tuple[Tensor, Tensor]:
    """(∇_x L(model(x), y), logits) for the batch-mean loss (cross-entropy by default); the
    model's parameters get no gradient."""
    x = x.detach().requires_grad_(True)
    logits = model(x)
    value = F.cross_entropy(logits, y) if loss is None else loss(logits, y)
    (grad,) = torch.autograd.grad(value, [x])
    return grad, logits.detach()


def per_sample_norm(v: Tensor, p: float) -> Tensor:
    """‖v_i‖_p per sample, shaped (B, 1, ..., 1) to broadcast against v."""
    norms = v.flatten(1).norm(p=p, dim=1)  # (B,)
    return norms.view(-1, *([1] * (v.ndim - 1)))


def uniform(shape: torch.Size, low: float, high: float, like: Tensor, generator: torch.Generator | None) -> Tensor:
    dev = like.device if generator is None else generator.device
    return (torch.rand(shape, generator=generator, device=dev, dtype=like.dtype) * (high - low) + low).to(like.device)
