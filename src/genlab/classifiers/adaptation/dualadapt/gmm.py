"""Gaussian mixtures of features: how source-like or target-like a feature vector is.

DualAdapt (Yao et al., WACV 2022) describes each domain's features by a Gaussian mixture W: the
server fits W_S on source features, each client i fits W_T^i on its target features, and the
likelihoods weigh the losses (pseudo-labels on the client, the discrepancy on mix-up inputs on
the server). Here features h (D wide) are first reduced to ``dim`` principal components fitted
on the source features (scikit-learn ``PCA``), a projection every mixture of a run shares so their
densities are comparable; a mixture of ``components`` diagonal Gaussians is then fitted with
scikit-learn's ``GaussianMixture`` (EM, k-means initialisation, ``reg_covar`` 1e-6).

A :class:`FeatureGMM` module holds the projection and the mixture as buffers (so they travel in
state dicts and run weights) and evaluates log W(h) = log Σ_c π_c N(P(h − μ_P); m_c, diag v_c) in
torch. :func:`log_domain_posterior` turns two mixtures into the (log) probability that h comes
from the first domain under equal priors, σ(log W_a(h) − log W_b(h)) — the weight DualAdapt's
losses use, normalised over a batch by :func:`batch_weights`.
"""

from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F
from sklearn.decomposition import PCA
from sklearn.mixture import GaussianMixture
from torch import Tensor, nn

from genlab.utils.checks import at_least


class FeatureGMM(nn.Module):
    """``FeatureGMM(features, dim, components)``: a projection R^features -> R^dim and a mixture of
    ``components`` diagonal Gaussians there; all buffers, zero until :meth:`fit` or a state dict."""

    def __init__(self, features: int, dim: int, components: int) -> None:
        super().__init__()
        at_least("gmm_dim", dim, 1)
        at_least("gmm_components", components, 1)
        if dim > features:
            raise ValueError(f"gmm_dim {dim} exceeds the {features} features it reduces")
        self.register_buffer("centre", torch.zeros(features))  # (D,) μ_P
        self.register_buffer("projection", torch.zeros(dim, features))  # (d, D) P
        self.register_buffer("log_weights", torch.full((components,), -math.log(components)))  # (C,) log π
        self.register_buffer("means", torch.zeros(components, dim))  # (C, d)
        self.register_buffer("variances", torch.ones(components, dim))  # (C, d)

    def reduce(self, h: Tensor) -> Tensor:
        """(N, D) features -> (N, d) projected coordinates."""
        return (h - self.centre) @ self.projection.T

    def log_likelihood(self, h: Tensor) -> Tensor:
        """log W(h) of (N, D) features in the reduced space: (N,)."""
        z = self.reduce(h)[:, None, :]  # (N, 1, d)
        log_normal = -0.5 * (((z - self.means) ** 2 / self.variances)  # (N, C, d)
                             + self.variances.log() + math.log(2 * math.pi)).sum(-1)  # (N, C)
        return torch.logsumexp(self.log_weights + log_normal, dim=1)  # (N,)

    @torch.no_grad()
    def fit(self, h: Tensor, seed: int, projection_from: "FeatureGMM | None" = None) -> "FeatureGMM":
        """Fit to (N, D) features: the projection by PCA on ``h`` (or copied from
        ``projection_from``), then the mixture by EM; returns self."""
        data = h.detach().double().cpu().numpy()
        if projection_from is None:
            pca = PCA(n_components=self.projection.shape[0], random_state=seed).fit(data)
            self.centre.copy_(torch.from_numpy(pca.mean_))
            self.projection.copy_(torch.from_numpy(pca.components_))
        else:
            self.centre.copy_(projection_from.centre)
            self.projection.copy_(projection_from.projection)
        z = self.reduce(h.detach().to(self.centre)).double().cpu().numpy()  # (N, d)
        components = min(self.means.shape[0], len(z))
        mixture = GaussianMixture(components, covariance_type="diag", random_state=seed).fit(z)
        weights = np.full(self.means.shape[0], 1e-12)
        weights[:components] = mixture.weights_
        means = np.zeros(tuple(self.means.shape))
        means[:components] = mixture.means_
        variances = np.ones(tuple(self.variances.shape))
        variances[:components] = mixture.covariances_
        self.log_weights.copy_(torch.from_numpy(np.log(weights / weights.sum())))
        self.means.copy_(torch.from_numpy(means))
        self.variances.copy_(torch.from_numpy(variances))
        return self


def log_domain_posterior(h: Tensor, domain: FeatureGMM, other: FeatureGMM) -> Tensor:
    """log P(h from ``domain`` | h) with equal priors: log σ(log W_domain(h) − log W_other(h)), (N,)."""
    return F.logsigmoid(domain.log_likelihood(h) - other.log_likelihood(h))


def batch_weights(log_w: Tensor) -> Tensor:
    """Weights w_b / Σ_b w_b of a batch from log w (B,), computed as a softmax (no underflow when
    every w_b is tiny): what turns a weighted sum into a weighted mean."""
    return torch.softmax(log_w, dim=0)
