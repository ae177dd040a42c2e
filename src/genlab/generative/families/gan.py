"""Generative adversarial networks (Goodfellow et al. 2014; WGAN, Arjovsky et al. 2017;
WGAN-GP, Gulrajani et al. 2017): one family, the objective chosen from
:data:`genlab.generative.families.gan_objectives.GAN_OBJECTIVES`.

The generator is a decoder network z (B, L) -> State (``n_params: 1``), z ~ N(0, I); the critic
is an encoder network State -> features plus a linear head to one score per sample. Neither
knows the modality, so the same family trains on points, images and (with graph networks)
molecular graphs. Each training iteration (the trainer's adversarial contract):

1. critic step (optimizer 1) on a data batch and fresh samples: objective.critic_loss +
   objective.penalty; then objective.after_critic_step (WGAN's weight clipping);
2. every ``n_critic`` iterations, a generator step (optimizer 0) on objective.generator_loss.
"""

from __future__ import annotations

from typing import Any, Iterator, Mapping

import torch
from torch import Tensor, nn

from genlab.errors import ConfigError
from genlab.generative.families._shared import module_device
from genlab.generative.families.base import AdversarialLoss, Family, SampleResult
from genlab.generative.families.gan_objectives import GAN_OBJECTIVES
from genlab.modalities.base import Modality, State



class GANFamily(Family):
    """``GANFamily(modality, generator, critic, objective, n_critic)``; ``objective`` is a mapping
    ``{name: non_saturating | wgan | wgan_gp, ...its keys}`` (e.g. ``clip_value``, ``gp_weight``)."""

    n_optimizers = 2

    def __init__(self, modality: Modality, generator: nn.Module, critic: nn.Module,
                 objective: Mapping[str, Any] = {"name": "non_saturating"}, n_critic: int = 1) -> None:
        super().__init__(modality)
        if getattr(generator, "n_params", 1) != 1:
            raise ConfigError("a GAN generator emits one value per entry; set network.generator.n_params: 1",
                              key="network.generator.n_params")
        if n_critic < 1:
            raise ConfigError(f"must be at least 1, got {n_critic}", key="family.n_critic")
        self.generator, self.critic = generator, critic
        self.critic_head = nn.Linear(critic.out_dim, 1)
        self.objective = GAN_OBJECTIVES.build(dict(objective))
        self.latent_dim, self.n_critic = generator.latent_dim, n_critic

    def optimizer_parameters(self) -> list[list[nn.Parameter]]:
        return [list(self.generator.parameters()), self.critic_parameters()]

    def critic_parameters(self) -> list[nn.Parameter]:
        return [*self.critic.parameters(), *self.critic_head.parameters()]

    def score(self, x: State) -> Tensor:
        """Critic scores D(x), (B,)."""
        return self.critic_head(self.critic(x)).squeeze(1)

    def generate(self, n: int, generator: torch.Generator | None = None) -> State:
        """G(z), z ~ N(0, I_L): a state of n samples in model units."""
        device = module_device(self)
        dev = device if generator is None else generator.device
        z = torch.randn(n, self.latent_dim, generator=generator, device=dev).to(device)  # (n, L)
        return self.modality.project(self.generator(z).map(lambda v: v[:, 0]))  # parts (n, *shape)

    def adversarial_losses(self, batch: Any, step: int) -> Iterator[AdversarialLoss]:
        x_real = self.modality.encode(batch).to(module_device(self))
        x_fake = self.generate(x_real.batch_size).map(lambda v: v.detach())
        d_real, d_fake = self.score(x_real), self.score(x_fake)  # (B,), (B,)
        d_loss = self.objective.critic_loss(d_real, d_fake)
        penalty = self.objective.penalty(self.score, x_real, x_fake)
        yield AdversarialLoss(optimizer=1, loss=d_loss + penalty,
                              metrics={"d_loss": d_loss.item(), "penalty": penalty.item(),
                                       "d_real": d_real.mean().item(), "d_fake": d_fake.mean().item()})
        self.objective.after_critic_step(self.critic_parameters())
        if step % self.n_critic == 0:
            g_loss = self.objective.generator_loss(self.score(self.generate(x_real.batch_size)))
            yield AdversarialLoss(optimizer=0, loss=g_loss, metrics={"g_loss": g_loss.item()})

    def forward(self, batch: Any) -> tuple[Tensor, dict[str, float]]:
        """The critic loss on a batch and fresh samples, without penalty (what validation reports;
        for the WGANs, minus the critic's estimate of the Wasserstein distance)."""
        x_real = self.modality.encode(batch).to(module_device(self))
        loss = self.objective.critic_loss(self.score(x_real), self.score(self.generate(x_real.batch_size)))
        return loss, {"loss": loss.item()}

    @torch.no_grad()
    def sample(self, n: int, *, sampler: str | None = None, steps: int | None = None,
               generator: torch.Generator | None = None) -> SampleResult:
        """G(z) for n prior draws: one generator pass."""
        return SampleResult(samples=self.modality.decode(self.generate(n, generator)), nfe=1,
                            extras={"sampler": "generator"})
