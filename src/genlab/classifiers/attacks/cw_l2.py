"""The Carlini–Wagner L2 attack (Carlini & Wagner 2017, "Towards evaluating the robustness of
neural networks", §V-A).

In a change of variables that keeps every input in the box [low, high],

    x' = low + (high − low) · (tanh(w) + 1) / 2        (x' = w for unbounded inputs),

Adam minimises, for every sample at once,

    ‖x' − x‖₂² + c · f(x'),    f(x') = max(Z_y(x') − max_{i≠y} Z_i(x'), −κ)

(the untargeted form of the paper's f₆ on the logits Z; κ is the confidence). An iterate succeeds
when max_{i≠y} Z_i − Z_y > κ. Each sample has its own c, found by a binary search: start at ``c``;
after each run of ``steps`` Adam steps, a sample that succeeded lowers its upper bound to c, one
that did not raises its lower bound to c; c becomes the mid-point, or ×10 while no upper bound is
known. The result is the successful iterate of smallest ‖x' − x‖₂ over all runs, and x itself for
a sample that never succeeded. With ``abort_early`` a run stops when the total loss has not
fallen by 0.01 % over a tenth of its steps (as in the authors' code).
"""

from __future__ import annotations

import math

import torch
from torch import Tensor

from genlab.classifiers.attacks.base import Attack, Model, clip
from genlab.utils import checks

#: keeps atanh finite at the ends of the box (the authors' code uses the same factor)
TANH_SHRINK = 0.999999


class CarliniWagnerL2(Attack):
    """``CarliniWagnerL2(c, kappa, steps, lr, binary_search_steps, abort_early)``: ``c`` is the
    initial constant of the binary search."""

    def __init__(self, c: float = 1e-3, kappa: float = 0.0, steps: int = 1000, lr: float = 0.01,
                 binary_search_steps: int = 9, abort_early: bool = True) -> None:
        checks.positive("c", c)
        checks.non_negative("kappa", kappa)
        checks.at_least("steps", steps, 1)
        checks.positive("lr", lr)
        checks.at_least("binary_search_steps", binary_search_steps, 1)
        self.c, self.kappa, self.steps, self.lr = c, kappa, steps, lr
        self.binary_search_steps, self.abort_early = binary_search_steps, abort_early

    def perturb(self, model: Model, x: Tensor, y: Tensor, bounds, generator) -> Tensor:
        b = x.shape[0]
        c = torch.full((b,), float(self.c), dtype=x.dtype, device=x.device)  # (B,)
        c_low = torch.zeros_like(c)
        c_high = torch.full_like(c, math.inf)
        best_l2 = torch.full_like(c, math.inf)
        best = x.clone()
        w_start = to_w(x, bounds)
        for _ in range(self.binary_search_steps):
            succeeded, best, best_l2 = self._minimise(model, x, y, w_start, c, best, best_l2, bounds)
            c_high = torch.where(succeeded, torch.minimum(c_high, c), c_high)
            c_low = torch.where(succeeded, c_low, torch.maximum(c_low, c))
            c = torch.where(torch.isfinite(c_high), (c_low + c_high) / 2, c * 10)
        return clip(best, bounds)

    def _minimise(self, model: Model, x: Tensor, y: Tensor, w_start: Tensor, c: Tensor, best: Tensor,
                  best_l2: Tensor, bounds) -> tuple[Tensor, Tensor, Tensor]:
        """One run of Adam at fixed c; returns (succeeded (B,), best inputs, their ‖x' − x‖₂²)."""
        w = w_start.clone().requires_grad_(True)
        adam = torch.optim.Adam([w], lr=self.lr)
        succeeded = torch.zeros_like(c, dtype=torch.bool)
        check_every = max(self.steps // 10, 1)
        previous = math.inf
        for step in range(self.steps):
            x_adv = from_w(w, bounds)  # (B, ...)
            logits = model(x_adv)  # (B, K)
            l2 = (x_adv - x).flatten(1).pow(2).sum(1)  # (B,)
            margin = true_minus_other(logits, y)  # (B,)
            loss = (l2 + c * margin.clamp(min=-self.kappa)).sum()
            (w.grad,) = torch.autograd.grad(loss, [w])
            with torch.no_grad():
                success = margin < -self.kappa
                better = success & (l2 < best_l2)
                best_l2 = torch.where(better, l2, best_l2)
                best = torch.where(better.view(-1, *([1] * (x.ndim - 1))), x_adv, best)
                succeeded |= success
            if self.abort_early and step % check_every == 0:
                value = loss.item()
                if value > previous * 0.9999:
                    break
                previous = value
            adam.step()
        return succeeded, best.detach(), best_l2.detach()


def true_minus_other(logits: Tensor, y: Tensor) -> Tensor:
    """Z_y − max_{i≠y} Z_i per sample, (B,)."""
    z_y = logits.gather(1, y[:, None]).squeeze(1)  # (B,)
    others = logits.scatter(1, y[:, None], -math.inf)  # (B, K), the true class masked out
    return z_y - others.max(1).values


def to_w(x: Tensor, bounds) -> Tensor:
    """The tanh variable of x (x itself for unbounded inputs)."""
    if bounds is None:
        return x.clone()
    low, high = bounds
    return torch.atanh((2 * (x - low) / (high - low) - 1) * TANH_SHRINK)


def from_w(w: Tensor, bounds) -> Tensor:
    """x' = low + (high − low)(tanh(w) + 1)/2, inside [low, high] for every w."""
    if bounds is None:
        return w
    low, high = bounds
    return low + (high - low) * (torch.tanh(w) + 1) / 2
