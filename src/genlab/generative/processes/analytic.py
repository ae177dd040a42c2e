"""Closed-form marginals of Gaussian-mixture data under any Gaussian path: the known answers.

If x_0 ~ Σ_k w_k N(μ_k, Σ_k) and x_t = m(t) x_0 + s(t) z, then
p_t = Σ_k w_k N(m μ_k, m² Σ_k + s² I), whose score is exact. Tweedie's formula gives
the exact ε-prediction E[z | x_t] = -s ∇ log p_t, and with the per-component posterior means the
exact flow-matching velocity E[ṁ x_0 + ṡ z | x_t] = ṁ E[x_0 | x_t] + ṡ E[z | x_t].
Used by the tests and the samplers' known-answer checks in place of a trained network.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor

from genlab.generative.processes.base import GaussianPath


class GaussianMixture:
    """Weights (K,), means (K, D), covariances (K, D, D), in float64."""

    def __init__(self, weights: Tensor, means: Tensor, covs: Tensor) -> None:
        self.weights = torch.as_tensor(weights, dtype=torch.float64)
        self.weights = self.weights / self.weights.sum()
        self.means = torch.as_tensor(means, dtype=torch.float64)
        self.covs = torch.as_tensor(covs, dtype=torch.float64)

    @property
    def dim(self) -> int:
        return self.means.shape[1]

    def sample(self, n: int, generator: torch.Generator | None = None) -> Tensor:
        """(n, D) float64."""
        k = torch.multinomial(self.weights, n, replacement=True, generator=generator)  # (n,)
        chol = torch.linalg.cholesky(self.covs)  # (K, D, D)
        z = torch.randn(n, self.dim, generator=generator, dtype=torch.float64)
        return self.means[k] + (chol[k] @ z[..., None])[..., 0]

    def _components(self, x: Tensor, m: Tensor, s: Tensor) -> tuple[Tensor, Tensor]:
        """Per-component log densities (B, K) and C_k^{-1}(x - m μ_k) (B, K, D)."""
        x = x.double()
        m, s = m.double()[:, None, None], s.double()[:, None, None]  # (B, 1, 1)
        eye = torch.eye(self.dim, dtype=torch.float64)
        if bool((m == m[0]).all() and (s == s[0]).all()):  # one time for the batch: factor once
            m, s = m[:1], s[:1]
        cov = m[..., None] ** 2 * self.covs[None] + s[..., None] ** 2 * eye  # (B or 1, K, D, D)
        diff = x[:, None, :] - m * self.means[None]  # (B, K, D)
        precision = torch.linalg.inv(cov)  # (B or 1, K, D, D)
        sol = (precision @ diff[..., None])[..., 0]  # (B, K, D)
        maha = (diff * sol).sum(-1)  # (B, K)
        logdet = torch.linalg.slogdet(cov)[1]  # (B or 1, K)
        comp = -0.5 * (maha + logdet + self.dim * math.log(2 * math.pi)) + self.weights.log()[None]
        return comp, sol

    def log_prob_at(self, x: Tensor, m: Tensor, s: Tensor) -> Tensor:
        """log p_t(x) for x (B, D) with per-sample m, s (B,)."""
        comp, _ = self._components(x, m, s)
        return torch.logsumexp(comp, dim=1)  # (B,)

    def score_at(self, x: Tensor, m: Tensor, s: Tensor) -> Tensor:
        """∇_x log p_t(x) = -Σ_k r_k C_k^{-1}(x - m μ_k), (B, D) in x's dtype."""
        comp, sol = self._components(x, m, s)
        r = torch.softmax(comp, dim=1)  # (B, K) responsibilities
        return -(r[..., None] * sol).sum(1).to(x.dtype)

    def posterior_mean_at(self, x: Tensor, m: Tensor, s: Tensor) -> Tensor:
        """E[x_0 | x_t] = Σ_k r_k (μ_k + m Σ_k C_k^{-1}(x - m μ_k)), (B, D)."""
        comp, sol = self._components(x, m, s)
        r = torch.softmax(comp, dim=1)  # (B, K)
        cond = self.means[None] + m.double()[:, None, None] * (self.covs[None] @ sol[..., None])[..., 0]  # (B, K, D)
        return (r[..., None] * cond).sum(1).to(x.dtype)

    # -- process-aware helpers -------------------------------------------------------------
    def log_prob(self, process: GaussianPath, x: Tensor, t: Tensor) -> Tensor:
        m, s = process.marginal_coeffs(t)
        return self.log_prob_at(x, m, s)

    def score(self, process: GaussianPath, x: Tensor, t: Tensor) -> Tensor:
        m, s = process.marginal_coeffs(t)
        return self.score_at(x, m, s)

    def eps(self, process: GaussianPath, x: Tensor, t: Tensor) -> Tensor:
        """E[z | x_t] = -s(t) ∇ log p_t(x_t)."""
        _, s = process.marginal_coeffs(t)
        return -s[:, None] * self.score(process, x, t)

    def velocity(self, process: GaussianPath, x: Tensor, t: Tensor) -> Tensor:
        """Marginal velocity E[ṁ x_0 + ṡ z | x_t] of the path (needs ``process.marginal_rates``)."""
        m, s = process.marginal_coeffs(t)
        dm, ds = process.marginal_rates(t)
        x0_hat = self.posterior_mean_at(x, m, s)  # E[x_0 | x_t]
        z_hat = -s[:, None] * self.score_at(x, m, s)  # E[z | x_t]
        return dm[:, None] * x0_hat + ds[:, None] * z_hat
