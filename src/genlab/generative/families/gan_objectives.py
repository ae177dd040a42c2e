"""GAN objectives: what the critic and the generator minimise, named in ``family.objective``.

With critic scores d_r = D(x) on data and d_f = D(G(z)) on samples:

``non_saturating`` (Goodfellow et al. 2014, eq. 1 and §3's −log D trick):
    critic    softplus(−d_r) + softplus(d_f)      (−log σ(d_r) − log(1 − σ(d_f)))
    generator softplus(−d_f)                      (−log σ(d_f))

``wgan`` (Arjovsky et al. 2017, Alg. 1): the critic estimates the Wasserstein-1 distance,
    critic    d_f − d_r,   generator −d_f,
and every critic weight is clipped to [−c, c] after each critic step (``clip_value`` c).

``wgan_gp`` (Gulrajani et al. 2017, Alg. 1, eq. 3): the WGAN losses plus the gradient penalty
    λ E_x̂ (‖∇_x̂ D(x̂)‖₂ − 1)²,  x̂ = ε x + (1 − ε) G(z), ε ~ U[0, 1] per sample,
instead of clipping (``gp_weight`` λ).

Every objective works on any modality: scores are (B,) and interpolation goes through the
state's components with :func:`~genlab.utils.broadcast.expand_like`.
"""

from __future__ import annotations

from typing import Callable, Iterable

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from genlab.modalities.base import State
from genlab.registry import Registry
from genlab.utils.broadcast import expand_like
from genlab.utils import checks

#: a critic: State -> scores (B,)
CriticFn = Callable[[State], Tensor]


class GANObjective:
    """Base class; subclasses are registered in :data:`GAN_OBJECTIVES`."""

    def critic_loss(self, d_real: Tensor, d_fake: Tensor) -> Tensor:
        raise NotImplementedError

    def generator_loss(self, d_fake: Tensor) -> Tensor:
        raise NotImplementedError

    def penalty(self, critic: CriticFn, x_real: State, x_fake: State) -> Tensor:
        """A regulariser added to the critic loss (none by default)."""
        return torch.zeros((), device=x_real.device)

    def after_critic_step(self, critic_parameters: Iterable[nn.Parameter]) -> None:
        """Called after each critic update (weight clipping)."""


GAN_OBJECTIVES: Registry[GANObjective] = Registry("gan objective")


@GAN_OBJECTIVES.register("non_saturating")
class NonSaturating(GANObjective):
    """``NonSaturating()``: the standard GAN with the generator's −log D(G(z)) loss."""

    def critic_loss(self, d_real: Tensor, d_fake: Tensor) -> Tensor:
        return (F.softplus(-d_real) + F.softplus(d_fake)).mean()

    def generator_loss(self, d_fake: Tensor) -> Tensor:
        return F.softplus(-d_fake).mean()


@GAN_OBJECTIVES.register("wgan")
class Wasserstein(GANObjective):
    """``Wasserstein(clip_value)``: WGAN with weight clipping."""

    def __init__(self, clip_value: float = 0.01) -> None:
        checks.positive("clip_value", clip_value)
        self.clip_value = clip_value

    def critic_loss(self, d_real: Tensor, d_fake: Tensor) -> Tensor:
        return (d_fake - d_real).mean()

    def generator_loss(self, d_fake: Tensor) -> Tensor:
        return -d_fake.mean()

    @torch.no_grad()
    def after_critic_step(self, critic_parameters: Iterable[nn.Parameter]) -> None:
        for p in critic_parameters:
            p.clamp_(-self.clip_value, self.clip_value)


@GAN_OBJECTIVES.register("wgan_gp")
class WassersteinGP(Wasserstein):
    """``WassersteinGP(gp_weight)``: WGAN with the gradient penalty instead of clipping."""

    def __init__(self, gp_weight: float = 10.0) -> None:
        checks.non_negative("gp_weight", gp_weight)
        self.gp_weight = gp_weight

    def penalty(self, critic: CriticFn, x_real: State, x_fake: State) -> Tensor:
        return self.gp_weight * gradient_penalty(critic, x_real, x_fake).mean()

    def after_critic_step(self, critic_parameters: Iterable[nn.Parameter]) -> None:
        pass


def gradient_penalty(critic: CriticFn, x_real: State, x_fake: State,
                     generator: torch.Generator | None = None) -> Tensor:
    """(‖∇_x̂ D(x̂)‖₂ − 1)² per sample, (B,), at x̂ = ε x_real + (1 − ε) x_fake, ε ~ U[0, 1]
    (Gulrajani et al. 2017, eq. 3); the gradient norm runs over all components of the state."""
    B = x_real.batch_size
    dev = x_real.device if generator is None else generator.device
    eps = torch.rand(B, generator=generator, device=dev).to(x_real.device)  # (B,)
    names = list(x_real.parts)
    with torch.enable_grad():
        parts = {k: (expand_like(eps, v) * v + (1 - expand_like(eps, v)) * x_fake.parts[k]).detach().requires_grad_(True)
                 for k, v in x_real.parts.items()}
        scores = critic(x_real.with_parts(parts))  # (B,)
        grads = torch.autograd.grad(scores.sum(), [parts[k] for k in names], create_graph=True)
    sq_norm = sum(g.reshape(B, -1).pow(2).sum(1) for g in grads)  # (B,)
    return (torch.sqrt(sq_norm + 1e-12) - 1) ** 2
