"""Universal adversarial perturbations (Moosavi-Dezfooli et al. 2017, Algorithm 1): one
perturbation v, fitted on a data set, that changes the model's decision on most of its inputs.

    v ← 0
    while fooling rate on X < 1 − δ and passes < max_passes:
        for each x_i in X:
            if k̂(x_i + v) = k̂(x_i):
                Δv_i ← DeepFool(x_i + v)           (the smallest L2 step that changes k̂)
                v ← P_{p,ξ}(v + Δv_i)

k̂ is the model's predicted class, the fooling rate the fraction of inputs whose prediction
changes, P_{p,ξ} the projection onto the ℓ_p ball of radius ξ (L∞: clamp to [−ξ, ξ]; L2:
rescale to ‖v‖₂ ≤ ξ). The inner step is DeepFool (Moosavi-Dezfooli et al. 2016, Algorithm 2) in
L2 for both norms, as in the authors' code, with overshoot η: repeat
r ← r + (|f'_l| + 10⁻⁴) / ‖w'_l‖₂² · w'_l at x + (1 + η) r, where f'_k = Z_k − Z_k̂,
w'_k = ∇f'_k and l = argmin_{k≠k̂} |f'_k| / ‖w'_k‖₂, until k̂ changes; the step is (1 + η) r.

Batch-wise: the points of one batch of ``batch_size`` take their DeepFool steps at the same v
(one model call per DeepFool iteration), then v takes those steps one after another, each
projected. With ``batch_size=1`` this is Algorithm 1 exactly. The model sees x + v clipped to the
box; :meth:`UniversalPerturbation.perturb` applies v to any batch the same way.
"""

from __future__ import annotations

from typing import Any, Iterable, Iterator

import torch
from torch import Tensor

from genlab.classifiers.attacks.base import (Attack, Model, buffers_kept, check_inputs, clip, gradients_on,
                                             resolve_bounds)
from genlab.errors import GenlabError
from genlab.modalities.base import LabelledBatch
from genlab.utils import checks

NORMS = ("linf", "l2")


class UniversalPerturbation(Attack):
    """``UniversalPerturbation(xi, norm, delta, max_passes, overshoot, deepfool_steps, batch_size)``;
    :meth:`fit` it on data, then call it on any batch."""

    def __init__(self, xi: float = 0.3, norm: str = "linf", delta: float = 0.2, max_passes: int = 10,
                 overshoot: float = 0.02, deepfool_steps: int = 10, batch_size: int = 32) -> None:
        checks.non_negative("xi", xi)
        checks.one_of("norm", norm, NORMS)
        checks.in_unit_interval("delta", delta)
        checks.at_least("max_passes", max_passes, 1)
        checks.non_negative("overshoot", overshoot)
        checks.at_least("deepfool_steps", deepfool_steps, 1)
        checks.at_least("batch_size", batch_size, 1)
        self.xi, self.norm, self.delta, self.max_passes = xi, norm, delta, max_passes
        self.overshoot, self.deepfool_steps, self.batch_size = overshoot, deepfool_steps, batch_size
        #: the fitted perturbation, shaped like one input; None before :meth:`fit`
        self.v: Tensor | None = None
        #: fraction of the fitting data whose prediction v changes, and the passes it took
        self.fooling_rate: float | None = None
        self.passes = 0

    def fit(self, model: Model, data: Tensor | Iterable[Any], bounds: tuple[float, float] | None | str = "model",
            generator: torch.Generator | None = None) -> "UniversalPerturbation":
        """Fit v on ``data``: a tensor of inputs (N, ...) in the model's input view (visited in a
        fresh random order each pass), or an iterable of batches — tensors, (inputs, labels) pairs
        or :class:`~genlab.modalities.base.LabelledBatch` — visited in its own order."""
        bounds = resolve_bounds(model, bounds)
        with gradients_on(), buffers_kept(model):
            v = None
            self.passes = 0
            while self.passes < self.max_passes:
                self.passes += 1
                for x in self._batches(data, generator):
                    check_inputs(x, bounds)
                    v = torch.zeros_like(x[0]) if v is None else v
                    with torch.no_grad():
                        k_clean = model(x).argmax(1)  # (b,)
                        todo = model(clip(x + v, bounds)).argmax(1) == k_clean
                    if not todo.any():
                        continue
                    steps = deepfool(model, clip(x[todo] + v, bounds), k_clean[todo], bounds,
                                     self.deepfool_steps, self.overshoot)  # (b', ...)
                    for step in steps:
                        v = self._project(v + step)
                if v is None:
                    raise GenlabError("a universal perturbation needs data to fit on; got no inputs")
                self.fooling_rate = self._fooling_rate(model, data, v, bounds)
                if self.fooling_rate >= 1 - self.delta:
                    break
            self.v = v.detach()
        return self

    def perturb(self, model: Model, x: Tensor, y: Tensor, bounds, generator) -> Tensor:
        if self.v is None:
            raise GenlabError("the universal perturbation is not fitted; call fit(model, data) first")
        if self.v.shape != x.shape[1:]:
            raise GenlabError(f"the universal perturbation has shape {tuple(self.v.shape)}, "
                              f"the inputs {tuple(x.shape[1:])}")
        return clip(x + self.v.to(x), bounds)

    def _project(self, v: Tensor) -> Tensor:
        if self.norm == "linf":
            return v.clamp(-self.xi, self.xi)
        return v * (self.xi / v.norm().clamp(min=1e-12)).clamp(max=1.0)

    def _fooling_rate(self, model: Model, data, v: Tensor, bounds) -> float:
        fooled = total = 0
        with torch.no_grad():
            for x in self._batches(data, None, shuffle=False):
                fooled += int((model(clip(x + v, bounds)).argmax(1) != model(x).argmax(1)).sum())
                total += x.shape[0]
        return fooled / total

    def _batches(self, data, generator: torch.Generator | None, shuffle: bool = True) -> Iterator[Tensor]:
        if isinstance(data, Tensor):
            data = data.detach().clone()  # out of inference mode
            if shuffle:
                dev = data.device if generator is None else generator.device
                data = data[torch.randperm(data.shape[0], generator=generator, device=dev).to(data.device)]
            for start in range(0, data.shape[0], self.batch_size):
                yield data[start:start + self.batch_size]
            return
        for batch in data:
            x = batch.inputs if isinstance(batch, LabelledBatch) else batch
            x = x[0] if isinstance(x, (tuple, list)) else x
            for start in range(0, x.shape[0], self.batch_size):
                yield x[start:start + self.batch_size].detach().clone()


def deepfool(model: Model, x: Tensor, k_clean: Tensor, bounds, steps: int, overshoot: float) -> Tensor:
    """DeepFool's L2 steps (B, ...) that move each input of x off its class k_clean (or as far as
    ``steps`` iterations get it); the model is evaluated at x + (1 + η) r clipped to the box."""
    b = x.shape[0]
    rows = torch.arange(b, device=x.device)
    r = torch.zeros_like(x)
    for _ in range(steps):
        x_i = clip(x + (1 + overshoot) * r, bounds).detach().requires_grad_(True)
        logits = model(x_i)  # (B, K)
        active = logits.argmax(1) == k_clean  # (B,)
        if not active.any():
            break
        grads = torch.stack([torch.autograd.grad(logits[:, k].sum(), [x_i], retain_graph=True)[0]
                             for k in range(logits.shape[1])], 1)  # (B, K, ...)
        w = (grads - grads[rows, k_clean].unsqueeze(1)).flatten(2)  # (B, K, D): w'_k
        f = (logits - logits[rows, k_clean].unsqueeze(1)).detach()  # (B, K): f'_k
        w_norm = w.norm(dim=2).clamp(min=1e-12)  # (B, K)
        distance = (f.abs() / w_norm).scatter(1, k_clean[:, None], float("inf"))  # (B, K)
        l = distance.argmin(1)  # (B,)
        w_l = w[rows, l]  # (B, D)
        step = (f[rows, l].abs() + 1e-4) / w_norm[rows, l].pow(2)  # (B,)
        r = r + (active.to(x.dtype) * step).unsqueeze(1).mul(w_l).view_as(x)
    return (1 + overshoot) * r.detach()
