"""Generative adversarial networks (Goodfellow et al. 2014; WGAN, Arjovsky et al. 2017;
WGAN-GP, Gulrajani et al. 2017): one family, the objective chosen from
:data:`genlab.generative.families.gan_objectives.GAN_OBJECTIVES`.

The generator is a network z (B, L) -> State, z ~ N(0, I); the critic is an encoder network
State -> features plus a linear head to one score per sample. What the generator's output means
is the observation model's (``observation``, :mod:`genlab.generative.families.observation`):

* ``point`` (default): the output is the sample (``network.generator.n_params: 1``), projected
  onto the modality's valid subspace; points, images, molecular-graph states;
* ``categorical``: logits of the molecules modality's slot view (K + 1 node classes, "no atom"
  first, C edge classes per pair). The critic reads data as exact one-hot slots and samples as
  their Gumbel-softmax relaxation at temperature τ, straight-through with ``hard`` — MolGAN
  without the reward network (De Cao & Kipf 2018, §3; the "pure GAN" row of its Table 2) with
  ``graph_generator`` and the R-GCN ``rgcn_critic``, WGAN-GP, λ = 10, n_critic = 5.

Samples are one generator pass: the output itself, or for categorical outputs an exact draw
(Gumbel-max per slot and unordered pair) or, with ``sample_mean``, the most likely graph. Each
training iteration (the trainer's adversarial contract):

1. critic step (optimizer 1) on a data batch and fresh samples: objective.critic_loss +
   objective.penalty; then objective.after_critic_step (WGAN's weight clipping);
2. every ``n_critic`` iterations, a generator step (optimizer 0) on objective.generator_loss.
"""

from __future__ import annotations

from typing import Any, Iterator, Mapping

import torch
from torch import Tensor, nn

from genlab.errors import ConfigError
from genlab.generative.families.base import Family, SampleResult, module_device
from genlab.generative.families.gan_objectives import GAN_OBJECTIVES
from genlab.generative.families.observation import build_observation, check_decoder
from genlab.modalities.base import Modality, State
from genlab.trainable import AdversarialLoss



class GANFamily(Family):
    """``GANFamily(modality, generator, critic, objective, n_critic, observation, sample_mean)``;
    ``objective`` is a mapping ``{name: non_saturating | wgan | wgan_gp, ...its keys}`` (e.g.
    ``clip_value``, ``gp_weight``), ``observation`` a name or a mapping (``{name: categorical,
    temperature: 1.0, hard: false}``)."""

    n_optimizers = 2

    def __init__(self, modality: Modality, generator: nn.Module, critic: nn.Module,
                 objective: Mapping[str, Any] = {"name": "non_saturating"}, n_critic: int = 1,
                 observation: str | Mapping[str, Any] = "point", sample_mean: bool = False) -> None:
        super().__init__(modality)
        if n_critic < 1:
            raise ConfigError(f"must be at least 1, got {n_critic}", key="family.n_critic")
        self.observation = build_observation(observation, modality)
        check_decoder(generator, self.observation, role="generator")
        self.generator, self.critic = generator, critic
        self.critic_head = nn.Linear(critic.out_dim, 1)
        self.objective = GAN_OBJECTIVES.build(dict(objective))
        self.latent_dim, self.n_critic, self.sample_mean = generator.latent_dim, n_critic, sample_mean

    def optimizer_parameters(self) -> list[list[nn.Parameter]]:
        return [list(self.generator.parameters()), self.critic_parameters()]

    def critic_parameters(self) -> list[nn.Parameter]:
        return [*self.critic.parameters(), *self.critic_head.parameters()]

    def score(self, x: State) -> Tensor:
        """Critic scores D(x), (B,)."""
        return self.critic_head(self.critic(x)).squeeze(1)

    def _params(self, n: int, generator: torch.Generator | None = None) -> State:
        """G(z), z ~ N(0, I_L): the generator's output for n prior draws."""
        device = module_device(self)
        dev = device if generator is None else generator.device
        z = torch.randn(n, self.latent_dim, generator=generator, device=dev).to(device)  # (n, L)
        return self.generator(z)

    def generate(self, n: int) -> State:
        """n samples as the critic reads them (relaxed for categorical outputs), differentiable."""
        return self.observation.relax(self._params(n))

    def _real(self, batch: Any) -> State:
        """A data batch as the critic reads it."""
        x = self.modality.encode(batch).to(module_device(self))
        return self.observation.target(batch, x)

    def adversarial_losses(self, batch: Any, step: int) -> Iterator[AdversarialLoss]:
        x_real = self._real(batch)
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
        x_real = self._real(batch)
        loss = self.objective.critic_loss(self.score(x_real), self.score(self.generate(x_real.batch_size)))
        return loss, {"loss": loss.item()}

    @torch.no_grad()
    def sample(self, n: int, *, sampler: str | None = None, steps: int | None = None,
               generator: torch.Generator | None = None) -> SampleResult:
        """One generator pass: an exact draw, or the most likely sample with ``sample_mean``."""
        params = self._params(n, generator)
        x = self.observation.mean(params) if self.sample_mean else self.observation.sample(params, generator)
        x = self.modality.project(x) if self.observation.view == "state" else x
        return SampleResult(samples=self.observation.decode(x), nfe=1, extras={"sampler": "generator"})
