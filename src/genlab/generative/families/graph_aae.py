"""Adversarial autoencoder on molecular graphs (Makhzani et al. 2016, §2) with MPGVAE's
message-passing encoder and decoder (:mod:`genlab.networks.mpnn`).

A deterministic encoder z = E(G) (set2set features and a linear head) and the categorical graph
decoder p(G | z) of :mod:`genlab.generative.families.mpgvae` are trained to reconstruct; a discriminator
D(z) on latent vectors pushes the aggregated posterior q(z) = E_G[δ(z − E(G))] towards the prior
N(0, I). Each iteration has the paper's two phases (§2, "regularisation" and "reconstruction"):

1. discriminator (optimizer 1): softplus(−D(z_p)) + softplus(D(z_q)), z_p ~ N(0, I), z_q = E(G)
   held fixed (Goodfellow et al. 2014, eq. 1);
2. autoencoder (optimizer 0): [−log p(X | z_q) − log p(A | z_q)] / V + λ softplus(−D(z_q)),
   V = N + N(N−1)/2 categorical variables per graph, λ = ``adversarial_weight``.

The reconstruction needs no graph matching for the reason given in :mod:`genlab.generative.families.mpgvae`
(genlab's fixed per-molecule atom order). Samples decode prior draws. Why not the generic
:class:`~genlab.generative.families.aae.AAEFamily`: its decoder is read by a continuous observation model of
the modality's state, whereas a graph decoder here scores K+1 node classes ("no atom" included)
and C edge classes per pair, a different observation space than the modality's state; the two
phases are the same.
"""

from __future__ import annotations

from typing import Iterator

import torch
from torch import Tensor, nn

from genlab.generative.families._shared import module_device
from genlab.generative.families.base import AdversarialLoss, Family, SampleResult
from genlab.generative.families.latent_adversary import LatentAdversary
from genlab.generative.families.mpgvae import check_sample_mode, decode_latents, reconstruction_nll
from genlab.generative.families.registry import FAMILIES
from genlab.modalities.molecules import GraphBatch, MolecularGraphModality



class GraphAAEFamily(Family):
    """``GraphAAEFamily(modality, encoder, decoder, disc_hidden, disc_depth, adversarial_weight,
    sample_mode)``; networks ``mpnn_encoder`` and ``mpnn_decoder``."""

    n_optimizers = 2

    def __init__(self, modality: MolecularGraphModality, encoder: nn.Module, decoder: nn.Module,
                 disc_hidden: int = 256, disc_depth: int = 2, adversarial_weight: float = 1.0,
                 sample_mode: str = "argmax") -> None:
        super().__init__(modality)
        check_sample_mode(sample_mode)
        self.encoder, self.decoder = encoder, decoder
        self.latent_dim = decoder.latent_dim
        self.code_head = nn.Linear(encoder.out_dim, self.latent_dim)  # h -> z
        self.adversary = LatentAdversary(self.latent_dim, hidden=disc_hidden, depth=disc_depth)
        self.adversarial_weight, self.sample_mode = adversarial_weight, sample_mode

    def optimizer_parameters(self) -> list[list[nn.Parameter]]:
        autoencoder = [*self.encoder.parameters(), *self.code_head.parameters(), *self.decoder.parameters()]
        return [autoencoder, list(self.adversary.parameters())]

    def encode_latent(self, batch: GraphBatch) -> Tensor:
        return self.code_head(self.encoder(self.modality.encode(batch)))  # (B, L)

    def _reconstruction(self, batch: GraphBatch, z_q: Tensor) -> tuple[Tensor, Tensor]:
        """(−log p(G | z) / V, edge part), each (B,)."""
        node_nll, edge_nll = reconstruction_nll(self.decoder, z_q, batch)
        n = batch.atoms.shape[1]
        variables = n + n * (n - 1) // 2
        return (node_nll + edge_nll) / variables, edge_nll

    def adversarial_losses(self, batch: GraphBatch, step: int) -> Iterator[AdversarialLoss]:
        batch = batch.to(module_device(self))
        z_q = self.encode_latent(batch)  # (B, L)
        d_loss = self.adversary.discriminator_loss(z_q)
        yield AdversarialLoss(optimizer=1, loss=d_loss, metrics={"d_loss": d_loss.item()})
        recon, edge_nll = self._reconstruction(batch, z_q)
        g_loss = self.adversary.generator_loss(z_q)
        loss = recon.mean() + self.adversarial_weight * g_loss
        yield AdversarialLoss(optimizer=0, loss=loss, metrics={"recon": recon.mean().item(), "g_loss": g_loss.item(),
                                                               "edge_nll": edge_nll.mean().item()})

    def forward(self, batch: GraphBatch) -> tuple[Tensor, dict[str, float]]:
        """Held-out reconstruction loss per categorical variable (what validation reports)."""
        batch = batch.to(module_device(self))
        loss = self._reconstruction(batch, self.encode_latent(batch))[0].mean()
        return loss, {"loss": loss.item()}

    @torch.no_grad()
    def sample(self, n: int, *, sampler: str | None = None, steps: int | None = None,
               generator: torch.Generator | None = None) -> SampleResult:
        mode = sampler or self.sample_mode
        check_sample_mode(mode)
        return SampleResult(samples=decode_latents(self.decoder, self.adversary.prior(n, module_device(self), generator),
                                                   self.modality, mode, generator),
                            nfe=1, extras={"sampler": mode})


FAMILIES.register("graph_aae")(GraphAAEFamily)
