"""The adversarial half of an adversarial autoencoder (Makhzani et al. 2016, §2).

A discriminator D tells codes z_q = E(x) from prior draws z_p ~ N(0, I); the encoder is trained to
fool it. With logits D(z) and the non-saturating GAN losses (Goodfellow et al. 2014):

    L_D = softplus(-D(z_p)) + softplus(D(z_q))      (the discriminator's step)
    L_G = softplus(-D(z_q))                          (added to the autoencoder's loss)

Shared by :class:`~genlab.generative.families.aae.AAEFamily` (points, images) and
:class:`~genlab.generative.families.graph_aae.GraphAAEFamily` (molecular graphs), which differ only in how
they encode and reconstruct.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from genlab.modalities.base import State
from genlab.networks.latent_maps import MLPEncoder


class LatentAdversary(nn.Module):
    """An MLP discriminator on latent codes of size ``latent_dim`` and the N(0, I) prior."""

    def __init__(self, latent_dim: int, hidden: int = 256, depth: int = 2) -> None:
        super().__init__()
        self.latent_dim = latent_dim
        self.discriminator = MLPEncoder({"z": (latent_dim,)}, hidden=hidden, depth=depth)
        self.head = nn.Linear(self.discriminator.out_dim, 1)

    def logits(self, z: Tensor) -> Tensor:
        """D(z), (B,)."""
        return self.head(self.discriminator(State({"z": z}))).squeeze(1)

    def prior(self, n: int, device: torch.device, generator: torch.Generator | None = None) -> Tensor:
        """z_p ~ N(0, I), (n, L); drawn on the generator's device, then moved."""
        dev = device if generator is None else generator.device
        return torch.randn(n, self.latent_dim, generator=generator, device=dev).to(device)

    def discriminator_loss(self, z_q: Tensor) -> Tensor:
        """L_D on a batch of codes (detached here) against as many prior draws, scalar."""
        z_p = self.prior(z_q.shape[0], z_q.device)
        return (F.softplus(-self.logits(z_p)) + F.softplus(self.logits(z_q.detach()))).mean()

    def generator_loss(self, z_q: Tensor) -> Tensor:
        """L_G: the encoder's loss for being told apart from the prior, scalar."""
        return F.softplus(-self.logits(z_q)).mean()
