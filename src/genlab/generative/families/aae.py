"""Adversarial autoencoder (Makhzani et al. 2016, §2): an autoencoder whose aggregated posterior
q(z) = E_x q(z | x) is matched to the prior p(z) = N(0, I) by a GAN on the latent codes.

A deterministic encoder z = W h(x) + b (§2, "deterministic" q) and a decoder with an observation
model p(x | z) are trained together; a discriminator D(z) on latent vectors tells prior draws
from codes. Each training iteration has the paper's two phases, as two optimizers:

1. regularisation, discriminator (optimizer 1): minimise softplus(−D(z_p)) + softplus(D(z_q)),
   z_p ~ p(z), z_q = E(x) held fixed (the GAN loss of Goodfellow et al. 2014, eq. 1);
2. reconstruction + regularisation, autoencoder (optimizer 0): minimise
   −log p(x | E(x)) / D + λ · softplus(−D(E(x))) (the non-saturating generator loss), with
   λ = ``adversarial_weight``.

The reconstruction is divided by the observation model's number of variables. Samples decode
prior draws, x ~ p(x | z), z ~ N(0, I). The discriminator is an
:class:`~genlab.networks.latent_maps.MLPEncoder` on the latent vector plus a linear head.

On molecular graphs this is the graph AAE: ``likelihood: categorical`` with MPGVAE's
``mpnn_encoder`` and ``mpnn_decoder`` (see :mod:`genlab.generative.families.vae` for why the
categorical reconstruction needs no graph matching).
"""

from __future__ import annotations

from typing import Any, Iterator, Mapping

import torch
from torch import Tensor, nn

from genlab.generative.families.base import Family, SampleResult, module_device
from genlab.generative.families.latent_adversary import LatentAdversary
from genlab.generative.families.observation import build_observation, check_decoder
from genlab.modalities.base import Modality, State
from genlab.trainable import AdversarialLoss
from genlab.utils import checks



class AAEFamily(Family):
    """``AAEFamily(modality, encoder, decoder, likelihood, disc_hidden, disc_depth,
    adversarial_weight, sample_mean)``."""

    n_optimizers = 2

    def __init__(self, modality: Modality, encoder: nn.Module, decoder: nn.Module,
                 likelihood: str | Mapping[str, Any] = "gaussian", disc_hidden: int = 256, disc_depth: int = 2,
                 adversarial_weight: float = 1.0, sample_mean: bool = False) -> None:
        super().__init__(modality)
        checks.at_least("disc_hidden", disc_hidden, 1)
        checks.at_least("disc_depth", disc_depth, 0)
        checks.non_negative("adversarial_weight", adversarial_weight)
        self.encoder, self.decoder = encoder, decoder
        self.observation = build_observation(likelihood, modality)
        check_decoder(decoder, self.observation)
        self.latent_dim = decoder.latent_dim
        self.code_head = nn.Linear(encoder.out_dim, self.latent_dim)  # h -> z
        self.adversary = LatentAdversary(self.latent_dim, hidden=disc_hidden, depth=disc_depth)
        self.adversarial_weight, self.sample_mean = adversarial_weight, sample_mean

    def optimizer_parameters(self) -> list[list[nn.Parameter]]:
        autoencoder = [*self.encoder.parameters(), *self.code_head.parameters(), *self.decoder.parameters()]
        return [autoencoder, list(self.adversary.parameters())]

    def encode_latent(self, x: State) -> Tensor:
        return self.code_head(self.encoder(x))  # (B, L)

    def _data(self, batch: Any) -> tuple[State, State]:
        """(encoder input x, the observation model's target) of a data batch."""
        x = self.modality.encode(batch).to(module_device(self))
        return x, self.observation.target(batch, x)

    def _reconstruction(self, target: State, z_q: Tensor) -> Tensor:
        """−log p(x | z) per variable, (B,)."""
        return -self.observation.log_prob(self.decoder(z_q), target) / self.observation.dims(target).float()

    def adversarial_losses(self, batch: Any, step: int) -> Iterator[AdversarialLoss]:
        x, target = self._data(batch)
        z_q = self.encode_latent(x)  # (B, L)
        d_loss = self.adversary.discriminator_loss(z_q)
        yield AdversarialLoss(optimizer=1, loss=d_loss, metrics={"d_loss": d_loss.item()})
        recon = self._reconstruction(target, z_q).mean()
        g_loss = self.adversary.generator_loss(z_q)
        loss = recon + self.adversarial_weight * g_loss
        yield AdversarialLoss(optimizer=0, loss=loss, metrics={"recon": recon.item(), "g_loss": g_loss.item()})

    def forward(self, batch: Any) -> tuple[Tensor, dict[str, float]]:
        """Held-out reconstruction loss −log p(x | E(x)) per variable (what validation reports)."""
        x, target = self._data(batch)
        loss = self._reconstruction(target, self.encode_latent(x)).mean()
        return loss, {"loss": loss.item()}

    @torch.no_grad()
    def sample(self, n: int, *, sampler: str | None = None, steps: int | None = None,
               generator: torch.Generator | None = None) -> SampleResult:
        """x ~ p(x | z), z ~ N(0, I) (its most likely value with ``sample_mean``)."""
        params = self.decoder(self.adversary.prior(n, module_device(self), generator))
        x = self.observation.mean(params) if self.sample_mean else self.observation.sample(params, generator)
        return SampleResult(samples=self.observation.decode(x), nfe=1, extras={"sampler": "ancestral"})
