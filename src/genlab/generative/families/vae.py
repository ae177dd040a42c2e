"""Variational autoencoder (Kingma & Welling 2014) with an importance-weighted NLL bound (Burda et
al. 2016).

Encoder features h(x) give a diagonal Gaussian posterior q(z | x) = N(μ(x), diag σ(x)²) through a
linear head; the decoder gives p(x | z) through an observation model
(:mod:`genlab.generative.families.observation`: Gaussian for points, discretised logistic or dequantised
Gaussian for digits); the prior is p(z) = N(0, I). Training maximises the ELBO (eq. 10)

    L(x) = E_{q(z|x)}[log p(x | z)] − KL(q(z | x) ‖ p(z)),
    KL = ½ Σ_j (μ_j² + σ_j² − 1 − log σ_j²),

with one reparameterised sample z = μ + σ ⊙ ε (eq. 10's estimator with L = 1), per dimension of x.
With ``kl_warmup`` > 0 the KL term is weighted by β = min(1, i / kl_warmup) over the first training
iterations i (KL annealing, :mod:`genlab.generative.families.kl_schedule`): on 8gaussians with a learned
decoder variance, β = 1 from the start collapses the posterior onto the prior and the model onto
one broad Gaussian. The iteration counter is a buffer, saved with the weights; reported ELBOs and
likelihoods always use β = 1.
:meth:`VAEFamily.log_likelihood` reports −log p(x) through the K-sample bound of Burda et al.
(eq. 8), L_K = log (1/K) Σ_k p(x, z_k) / q(z_k | x), which tightens as K grows.
"""

from __future__ import annotations

import math
from typing import Any

import torch
from torch import Tensor, nn

from genlab.generative.families._shared import module_device, pick
from genlab.generative.families.base import Family, SampleResult
from genlab.generative.families.dequantization import bits_per_dim, dequantize
from genlab.generative.families.kl_schedule import gaussian_kl, training_beta
from genlab.generative.families.observation import OBSERVATIONS, check_decoder
from genlab.modalities.base import Modality, State
from genlab.generative.samplers.likelihood import LikelihoodResult


def standard_normal_log_prob(z: Tensor) -> Tensor:
    """log N(z; 0, I), summed over the last dimension."""
    return -0.5 * (z**2).sum(-1) - 0.5 * z.shape[-1] * math.log(2 * math.pi)


class VAEFamily(Family):
    """``VAEFamily(modality, encoder, decoder, likelihood, n_importance, sample_mean, dequantize,
    kl_warmup)``."""

    def __init__(self, modality: Modality, encoder: nn.Module, decoder: nn.Module, likelihood: str = "gaussian",
                 n_importance: int = 64, sample_mean: bool = False, dequantize: bool = False,
                 kl_warmup: int = 0) -> None:
        super().__init__(modality)
        self.encoder, self.decoder = encoder, decoder
        self.data_scale = getattr(modality, "data_scale", 1.0)
        self.observation = pick(OBSERVATIONS, likelihood, "likelihood")(self.data_scale)
        check_decoder(decoder, self.observation, likelihood)
        self.latent_dim = decoder.latent_dim
        self.posterior_head = nn.Linear(encoder.out_dim, 2 * self.latent_dim)  # h -> (μ, log σ)
        self.n_importance, self.sample_mean, self.dequantize = n_importance, sample_mean, dequantize
        self.kl_warmup = kl_warmup
        self.register_buffer("iteration", torch.zeros((), dtype=torch.long))  # training forward calls

    def _data(self, batch: Any, generator: torch.Generator | None = None) -> State:
        x = self.modality.encode(batch).to(module_device(self))
        return dequantize(x, self.data_scale, generator) if self.dequantize else x

    def posterior(self, x: State) -> tuple[Tensor, Tensor]:
        """(μ, log σ) of q(z | x), each (B, L)."""
        mu, log_sigma = self.posterior_head(self.encoder(x)).chunk(2, dim=1)
        return mu, log_sigma

    def elbo(self, x: State, n_samples: int = 1, beta: float = 1.0) -> Tensor:
        """E_q[log p(x | z)] − β KL per sample, (B,): analytic KL, ``n_samples``-sample reconstruction."""
        mu, log_sigma = self.posterior(x)  # (B, L)
        kl = gaussian_kl(mu, log_sigma).sum(1)  # (B,)
        recon = 0.0
        for _ in range(n_samples):
            z = mu + torch.exp(log_sigma) * torch.randn_like(mu)  # (B, L)
            recon = recon + self.observation.log_prob(self.decoder(z), x)
        return recon / n_samples - beta * kl

    def iwae_bound(self, x: State, k: int) -> Tensor:
        """L_K = log (1/K) Σ_k p(x | z_k) p(z_k) / q(z_k | x), z_k ~ q(z | x), (B,) (Burda et al., eq. 8)."""
        mu, log_sigma = self.posterior(x)  # (B, L)
        B, L = mu.shape
        eps = torch.randn(k, B, L, device=mu.device)
        z = mu + torch.exp(log_sigma) * eps  # (K, B, L)
        log_q = (-0.5 * eps**2 - log_sigma - 0.5 * math.log(2 * math.pi)).sum(-1)  # (K, B)
        x_rep = x.map(lambda v: v.unsqueeze(0).expand(k, *v.shape).reshape(k * B, *v.shape[1:]))
        log_px_z = self.observation.log_prob(self.decoder(z.reshape(k * B, L)), x_rep).reshape(k, B)
        log_w = log_px_z + standard_normal_log_prob(z) - log_q  # (K, B)
        return torch.logsumexp(log_w, dim=0) - math.log(k)

    def forward(self, batch: Any) -> tuple[Tensor, dict[str, float]]:
        x = self._data(batch)
        beta = training_beta(self.iteration, self.kl_warmup, self.training)
        objective = self.elbo(x, beta=beta)  # (B,)
        dims = self.modality.dims(x).to(objective)
        loss = (-objective / dims).mean()
        return loss, {"loss": loss.item(), "beta": beta, "objective": objective.mean().item()}

    def _bpd(self, nll: Tensor, x: State) -> Tensor:
        continuous_on_grid = self.dequantize and not self.observation.discrete
        return bits_per_dim(nll, self.modality.dims(x), self.data_scale if continuous_on_grid else 1.0)

    @torch.no_grad()
    def log_likelihood(self, batch: Any, *, n_importance: int | None = None,
                       generator: torch.Generator | None = None) -> LikelihoodResult:
        """−log p(x) bounded above by −L_K with K = ``n_importance`` (default: the family's)."""
        x = self._data(batch, generator)
        log_p = self.iwae_bound(x, n_importance or self.n_importance)
        prior = torch.zeros_like(log_p)  # not defined for a latent-variable model
        return LikelihoodResult(log_prob=log_p, nll_nats=-log_p, bits_per_dim=self._bpd(-log_p, x),
                                prior_log_prob=prior, nfe=n_importance or self.n_importance)

    @torch.no_grad()
    def sample(self, n: int, *, sampler: str | None = None, steps: int | None = None,
               generator: torch.Generator | None = None) -> SampleResult:
        """z ~ N(0, I), x ~ p(x | z) (its mean with ``sample_mean``): one decoder pass."""
        device = module_device(self)
        dev = device if generator is None else generator.device
        z = torch.randn(n, self.latent_dim, generator=generator, device=dev).to(device)  # (n, L)
        params = self.decoder(z)
        x = self.observation.mean(params) if self.sample_mean else self.observation.sample(params, generator)
        return SampleResult(samples=self.modality.decode(x), nfe=1, extras={"sampler": "ancestral"})
