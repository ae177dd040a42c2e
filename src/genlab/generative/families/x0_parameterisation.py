"""x_0-prediction on a Gaussian path: one denoiser output, read as ε, a score or a velocity.

Every Gaussian-path process perturbs data as x_t = m(t) x_0 + s(t) ε (:mod:`genlab.generative.processes.base`).
A network that estimates the clean data, x̂_0 = E[x_0 | x_t] — through the modality's
``denoiser_mean``: the projected output itself for points and images, scale·(2 softmax − 1) of
atom and bond class logits for molecular graphs — fixes every other quantity a sampler needs,
because conditional expectations keep the path's linear relation:

    ε̂ = E[ε | x_t] = (x_t − m x̂_0) / s          Ho et al. (2020), eq. 4 solved for ε
    ∇ log p_t(x_t) = −ε̂ / s = −(x_t − m x̂_0) / s²    Tweedie's formula on the kernels
                                                   N(m x_0, s² I) of Song et al. (2021), App. B
    v = E[ṁ x_0 + ṡ ε | x_t] = ṁ x̂_0 + ṡ ε̂        flow matching (Lipman et al. 2023)

With the exact posterior mean each of these is exact (tested against a Gaussian mixture). The
training loss is the modality's ``denoiser_loss`` (squared error for continuous data;
cross-entropy over classes for molecular graphs, the categorical x_0-parameterisation of
Dieleman et al. 2022 and Campbell et al. 2024). DDPM, score SDE, NCSN and flow matching offer it
as ``prediction: x0``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from torch import Tensor, nn

from genlab.generative.families.base import pick
from genlab.generative.processes.base import GaussianPath
from genlab.modalities.base import Modality, State
from genlab.utils.broadcast import expand_like


@dataclass
class X0Estimate:
    """x̂_0 from a denoiser and the noise it implies on the path x_t = m x_0 + s ε."""

    x0: State  # x̂_0 = E[x_0 | x_t], shaped like x_t
    eps: State  # ε̂ = (x_t − m x̂_0) / s, shaped like x_t
    s: Tensor  # s(t), (B,)

    def score(self) -> State:
        """∇ log p_t(x_t) = −ε̂ / s = −(x_t − m x̂_0) / s²."""
        return self.eps.map(lambda e: -e / expand_like(self.s, e))

    def velocity(self, dm: Tensor, ds: Tensor) -> State:
        """dx_t/dt = ṁ x̂_0 + ṡ ε̂, with (ṁ, ṡ) each (B,)."""
        return self.eps.map(lambda e, x0: expand_like(dm, x0) * x0 + expand_like(ds, e) * e, self.x0)


def estimate_x0(network: nn.Module, modality: Modality, process: GaussianPath, x_t: State,
                t: Tensor) -> X0Estimate:
    """x̂_0 = ``modality.denoiser_mean(network(x_t, t))`` and ε̂ = (x_t − m(t) x̂_0)/s(t); t (B,).

    s(t) must be positive: callers evaluate at t > 0 (flow matching clamps t, the others never
    reach the data end of their grids).
    """
    x0_hat = modality.denoiser_mean(network(x_t, t))
    m, s = process.marginal_coeffs(t)  # (B,), (B,)
    eps = x_t.map(lambda x, x0: (x - expand_like(m, x) * x0) / expand_like(s, x), x0_hat)
    return X0Estimate(x0=x0_hat, eps=eps, s=s)


class PredictionChoice:
    """The ``prediction`` setting every Gaussian-path family shares (a mixin for a
    :class:`~genlab.generative.families.base.Family` with ``network``, ``process`` and ``modality``):
    the family's native target (ε, score, velocity) or ``x0``, each a pair (loss, model function).
    """

    def choose_prediction(self, prediction: str, loss_weights: dict[str, float] | None, native: str,
                          native_fns: tuple[Callable, Callable], x0_model: Callable) -> None:
        """Set ``self._loss(x_t, t, x_0, target) -> (B,)`` and ``self._model(x_t, t) -> State``."""
        self.loss_weights = dict(loss_weights or {})
        self._loss, self._model = pick({native: native_fns, "x0": (self._x0_loss, x0_model)}, prediction, "prediction")
        self.prediction = prediction

    def _x0_loss(self, x_t: State, t: Tensor, x_0: State, target: State) -> Tensor:
        """The modality's denoiser loss of the network's x̂_0 (squared error or class cross-entropy), (B,)."""
        return self.modality.denoiser_loss(self.network(x_t, t), x_0, self.loss_weights)

    def x0_estimate(self, x_t: State, t: Tensor) -> X0Estimate:
        return estimate_x0(self.network, self.modality, self.process, x_t, t)
