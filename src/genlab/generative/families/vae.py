"""Variational autoencoder (Kingma & Welling 2014) with an importance-weighted NLL bound (Burda et
al. 2016).

Encoder features h(x) give a diagonal Gaussian posterior q(z | x) = N(μ(x), diag σ(x)²) through a
linear head; the decoder gives p(x | z) through an observation model
(:mod:`genlab.generative.families.observation`: Gaussian for points, discretised logistic or
dequantised Gaussian for digits, categorical slots for molecular graphs); the prior is
p(z) = N(0, I). Training maximises the ELBO (eq. 10)

    L(x) = E_{q(z|x)}[log p(x | z)] − β KL(q(z | x) ‖ p(z)),
    KL = ½ Σ_j (μ_j² + σ_j² − 1 − log σ_j²),

with one reparameterised sample z = μ + σ ⊙ ε (eq. 10's estimator with L = 1), per variable of x
(the observation model's ``dims``). β = ``kl_weight``; with ``kl_warmup`` > 0 it is multiplied by
min(1, i / kl_warmup) over the first training iterations i, and with ``free_bits`` = λ the KL is
replaced in training by Σ_j max(λ, E_batch KL_j) (Kingma et al. 2016, App. C.8) — the two remedies
of :mod:`genlab.generative.families.kl_schedule` against posterior collapse (on 8gaussians with a
learned decoder variance, and on molecular graphs, β = 1 from the start collapses the posterior
onto the prior). The iteration counter is a buffer, saved with the weights; reported ELBOs and
likelihoods always use β = 1 and the plain KL.

**Molecular graphs (MPGVAE, Flam-Shepherd, Wu & Aspuru-Guzik 2021)** are this family with
``likelihood: categorical``, the message-passing ``mpnn_encoder`` (reads the modality's state) and
``mpnn_decoder`` (emits logits of the slot view: K + 1 node classes per slot, "no atom" included,
C edge classes per pair). The likelihood compares slot i of the decoder with atom i of the data,
meaningful because genlab stores every molecule in one fixed atom order (the order of its
dataset SMILES, a depth-first traversal, so bonded atoms sit close and the decoder's GRU over
slots can learn it); the encoder is permutation invariant all the same, and no graph matching is
needed (GraphVAE, Simonovsky & Komodakis 2018, needs one because its targets have no fixed
order). ``sample_mean: true`` decodes the most likely graph (the paper's argmax), ``false`` one
draw per slot and pair.

:meth:`VAEFamily.log_likelihood` reports −log p(x) through the K-sample bound of Burda et al.
(eq. 8), L_K = log (1/K) Σ_k p(x, z_k) / q(z_k | x), which tightens as K grows.
"""

from __future__ import annotations

import math
from typing import Any, Mapping

import torch
from torch import Tensor, nn

from genlab.generative.families.base import Family, SampleResult, module_device
from genlab.generative.families.dequantization import bits_per_dim, dequantize
from genlab.generative.families.kl_schedule import free_bits_kl, gaussian_kl, training_beta
from genlab.generative.families.observation import build_observation, check_decoder
from genlab.modalities.base import Modality, State
from genlab.generative.samplers.likelihood import LikelihoodResult
from genlab.utils import checks


def standard_normal_log_prob(z: Tensor) -> Tensor:
    """log N(z; 0, I), summed over the last dimension."""
    return -0.5 * (z**2).sum(-1) - 0.5 * z.shape[-1] * math.log(2 * math.pi)


class VAEFamily(Family):
    """``VAEFamily(modality, encoder, decoder, likelihood, n_importance, sample_mean, dequantize,
    kl_warmup, kl_weight, free_bits)``; ``likelihood`` names an observation model (or is a mapping
    with its ``name`` and keys)."""

    def __init__(self, modality: Modality, encoder: nn.Module, decoder: nn.Module,
                 likelihood: str | Mapping[str, Any] = "gaussian", n_importance: int = 64,
                 sample_mean: bool = False, dequantize: bool = False, kl_warmup: int = 0,
                 kl_weight: float = 1.0, free_bits: float = 0.0) -> None:
        super().__init__(modality)
        checks.at_least("n_importance", n_importance, 1)
        for name, value in (("kl_warmup", kl_warmup), ("free_bits", free_bits), ("kl_weight", kl_weight)):
            checks.non_negative(name, value)
        self.encoder, self.decoder = encoder, decoder
        self.data_scale = modality.data_scale
        self.observation = build_observation(likelihood, modality)
        check_decoder(decoder, self.observation)
        self.latent_dim = decoder.latent_dim
        self.posterior_head = nn.Linear(encoder.out_dim, 2 * self.latent_dim)  # h -> (μ, log σ)
        self.n_importance, self.sample_mean, self.dequantize = n_importance, sample_mean, dequantize
        self.kl_warmup, self.kl_weight, self.free_bits = kl_warmup, kl_weight, free_bits
        self.register_buffer("iteration", torch.zeros((), dtype=torch.long))  # training forward calls

    def _data(self, batch: Any, generator: torch.Generator | None = None) -> tuple[State, State]:
        """(encoder input x, the observation model's target) of a data batch."""
        x = self.modality.encode(batch).to(module_device(self))
        x = dequantize(x, self.data_scale, generator) if self.dequantize else x
        return x, self.observation.target(batch, x)

    def posterior(self, x: State) -> tuple[Tensor, Tensor]:
        """(μ, log σ) of q(z | x), each (B, L)."""
        mu, log_sigma = self.posterior_head(self.encoder(x)).chunk(2, dim=1)
        return mu, log_sigma

    def elbo(self, x: State, target: State | None = None, n_samples: int = 1, beta: float = 1.0) -> Tensor:
        """E_q[log p(target | z)] − β KL per sample, (B,): analytic KL, ``n_samples``-sample
        reconstruction; ``target`` defaults to ``x`` (what a state-view observation model scores)."""
        target = x if target is None else target
        mu, log_sigma = self.posterior(x)  # (B, L)
        kl = gaussian_kl(mu, log_sigma).sum(1)  # (B,)
        recon = 0.0
        for _ in range(n_samples):
            z = mu + torch.exp(log_sigma) * torch.randn_like(mu)  # (B, L)
            recon = recon + self.observation.log_prob(self.decoder(z), target)
        return recon / n_samples - beta * kl

    def iwae_bound(self, x: State, target: State, k: int) -> Tensor:
        """L_K = log (1/K) Σ_k p(x | z_k) p(z_k) / q(z_k | x), z_k ~ q(z | x), (B,) (Burda et al., eq. 8)."""
        mu, log_sigma = self.posterior(x)  # (B, L)
        B, L = mu.shape
        eps = torch.randn(k, B, L, device=mu.device)
        z = mu + torch.exp(log_sigma) * eps  # (K, B, L)
        log_q = (-0.5 * eps**2 - log_sigma - 0.5 * math.log(2 * math.pi)).sum(-1)  # (K, B)
        target_rep = target.map(lambda v: v.unsqueeze(0).expand(k, *v.shape).reshape(k * B, *v.shape[1:]))
        log_px_z = self.observation.log_prob(self.decoder(z.reshape(k * B, L)), target_rep).reshape(k, B)
        log_w = log_px_z + standard_normal_log_prob(z) - log_q  # (K, B)
        return torch.logsumexp(log_w, dim=0) - math.log(k)

    def forward(self, batch: Any) -> tuple[Tensor, dict[str, float]]:
        x, target = self._data(batch)
        beta = self.kl_weight * training_beta(self.iteration, self.kl_warmup, self.training)
        mu, log_sigma = self.posterior(x)  # (B, L)
        kl_j = gaussian_kl(mu, log_sigma)  # (B, L)
        kl = kl_j.sum(1)  # (B,)
        z = mu + torch.exp(log_sigma) * torch.randn_like(mu)  # (B, L)
        recon = self.observation.log_prob(self.decoder(z), target)  # log p(x | z), (B,)
        dims = self.observation.dims(target).to(recon)  # (B,)
        objective = recon - beta * kl  # the (β-weighted) ELBO, (B,)
        if self.training and self.free_bits > 0:
            loss = (-recon / dims).mean() + beta * free_bits_kl(kl_j, self.free_bits) / dims.mean()
        else:
            loss = (-objective / dims).mean()
        return loss, {"loss": loss.item(), "beta": beta, "objective": objective.mean().item(),
                      "recon_nll": -recon.mean().item(), "kl": kl.mean().item(), "elbo": (recon - kl).mean().item()}

    def _bpd(self, nll: Tensor, target: State) -> Tensor:
        continuous_on_grid = self.dequantize and not self.observation.discrete
        return bits_per_dim(nll, self.observation.dims(target), self.data_scale if continuous_on_grid else 1.0)

    @torch.no_grad()
    def log_likelihood(self, batch: Any, *, n_importance: int | None = None,
                       generator: torch.Generator | None = None) -> LikelihoodResult:
        """−log p(x) bounded above by −L_K with K = ``n_importance`` (default: the family's)."""
        x, target = self._data(batch, generator)
        log_p = self.iwae_bound(x, target, n_importance or self.n_importance)
        prior = torch.zeros_like(log_p)  # not defined for a latent-variable model
        return LikelihoodResult(log_prob=log_p, nll_nats=-log_p, bits_per_dim=self._bpd(-log_p, target),
                                prior_log_prob=prior, nfe=n_importance or self.n_importance)

    @torch.no_grad()
    def reconstruct(self, batch: Any) -> Any:
        """The decoder's most likely reading of the posterior mean, in data space."""
        mu, _ = self.posterior(self._data(batch)[0])
        return self.observation.decode(self.observation.mean(self.decoder(mu)))

    @torch.no_grad()
    def sample(self, n: int, *, sampler: str | None = None, steps: int | None = None,
               generator: torch.Generator | None = None) -> SampleResult:
        """z ~ N(0, I), x ~ p(x | z) (its most likely value with ``sample_mean``): one decoder pass."""
        device = module_device(self)
        dev = device if generator is None else generator.device
        z = torch.randn(n, self.latent_dim, generator=generator, device=dev).to(device)  # (n, L)
        params = self.decoder(z)
        x = self.observation.mean(params) if self.sample_mean else self.observation.sample(params, generator)
        return SampleResult(samples=self.observation.decode(x), nfe=1, extras={"sampler": "ancestral"})
