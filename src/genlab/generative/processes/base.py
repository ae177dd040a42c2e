"""Gaussian probability paths: the shared shape of DDPM, NCSN, the SDEs and flow matching.

Each of these processes perturbs data x_0 as

    x_t = m(t) x_0 + s(t) z,    z ~ N(0, I) drawn by the modality,

so ``q(x_t | x_0) = N(m(t) x_0, s(t)^2 I)`` and its score is ``-z / s(t)``. A process only
supplies the scalar curves m(t), s(t) of shape (B,); broadcasting to any tensor rank goes through
:func:`~genlab.utils.broadcast.expand_like`.
"""

from __future__ import annotations

from dataclasses import dataclass

from torch import Tensor

from genlab.utils.broadcast import expand_like


@dataclass
class PathSample:
    """A perturbed sample and the quantity a network regresses at it."""

    x_t: Tensor  # same shape as x_0
    target: Tensor  # same shape as x_0: ε (DDPM), a score (NCSN/SDE) or a velocity (flow matching)


class GaussianPath:
    """Base class of processes with Gaussian conditionals ``x_t = m(t) x_0 + s(t) z``."""

    #: standard deviation of the prior at t = 1 (the prior is N(0, prior_std^2 I))
    prior_std: float = 1.0

    def marginal_coeffs(self, t: Tensor) -> tuple[Tensor, Tensor]:
        """(m(t), s(t)), each (B,)."""
        raise NotImplementedError

    def perturb(self, x_0: Tensor, z: Tensor, t: Tensor) -> Tensor:
        """x_t = m(t) x_0 + s(t) z."""
        m, s = self.marginal_coeffs(t)  # (B,), (B,)
        return expand_like(m, x_0) * x_0 + expand_like(s, x_0) * z

    def conditional_score(self, z: Tensor, t: Tensor) -> Tensor:
        """∇_{x_t} log q(x_t | x_0) = -z / s(t) (the denoising score-matching target)."""
        _, s = self.marginal_coeffs(t)
        return -z / expand_like(s, z)
