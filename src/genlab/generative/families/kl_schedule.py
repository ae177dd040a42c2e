"""The KL term of a Gaussian-posterior VAE and the two remedies for posterior collapse that
genlab's VAEs share: KL warm-up and free bits.

For q(z | x) = N(μ, diag σ²) and p(z) = N(0, I) the KL per latent dimension j is

    KL_j = ½ (μ_j² + σ_j² − 1 − log σ_j²)                     (Kingma & Welling 2014, App. B).

**Warm-up** (Bowman et al. 2016, §3.1; Sønderby et al. 2016, §2.3) weights the KL by
β_i = min(1, i / W) over the first W training iterations i (``kl_warmup`` = W; W = 0: β = 1),
so that the encoder becomes informative before the KL term can pull q(z | x) onto the prior.

**Free bits** (Kingma et al. 2016, "Improved variational inference with inverse autoregressive
flow", App. C.8) replace the KL by

    Σ_j max(λ, E_x[KL_j]),

the expectation taken over the minibatch: a dimension whose average KL is below λ nats costs a
constant λ and gets no gradient from the KL term, so the optimiser has nothing to gain from
collapsing it further (``free_bits`` = λ; λ = 0: the plain KL). Reported ELBOs always use the
plain KL with β = 1.
"""

from __future__ import annotations

from torch import Tensor


def gaussian_kl(mu: Tensor, log_sigma: Tensor) -> Tensor:
    """KL(N(μ, diag σ²) ‖ N(0, I)) per latent dimension, (B, L)."""
    return 0.5 * (mu**2 + (2 * log_sigma).exp() - 1 - 2 * log_sigma)


def warmup_beta(iteration: int, kl_warmup: int) -> float:
    """β_i = min(1, i / W); 1 when W ≤ 0."""
    return 1.0 if kl_warmup <= 0 else min(1.0, iteration / kl_warmup)


def free_bits_kl(kl: Tensor, free_bits: float) -> Tensor:
    """Σ_j max(λ, mean_b KL_bj) for ``kl`` (B, L): a scalar, the minibatch's KL term."""
    return kl.mean(0).clamp(min=free_bits).sum()


def training_beta(iteration: Tensor, kl_warmup: int, training: bool) -> float:
    """β for this forward call: ``warmup_beta`` of the counter ``iteration`` (a () long buffer of
    the family, saved with its weights) while training with warm-up, which then advances it; else 1."""
    if not training or kl_warmup <= 0:
        return 1.0
    beta = warmup_beta(int(iteration), kl_warmup)
    iteration += 1
    return beta
