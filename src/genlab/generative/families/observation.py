"""Observation models p(x | z): how decoder outputs become a likelihood (VAE, AAE; reusable by
graph decoders). A decoder emits ``n_params`` values per data entry, parts (B, P, *shape).

``gaussian`` (P = 2: mean μ and log-scale log σ): log N(x; μ, σ²) summed over entries, a density
in model units (Kingma & Welling 2014, App. C.2). Points use it as is; on quantised images train
on dequantised data (``dequantize: true``) and convert with
:func:`genlab.generative.families.dequantization.bits_per_dim`.

``discretized_logistic`` (P = 2: mean μ and log-scale log s): the probability of the bin of width
w around x under a logistic, with the edge bins taking the tails (Salimans et al. 2017,
PixelCNN++, eq. 2, one mixture component), for data on a grid of step w in [low, high] such as
digits (w = 1/8 in [−1, 1]). It is a probability, so its NLL is already in bits of the stored
integers. (A Bernoulli decoder fits binarised data only; the 17-level digits are not binary, and a
Bernoulli on grey levels is not a normalised likelihood, so we do not offer it.)
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from genlab.errors import ConfigError
from genlab.modalities.base import State

LOG_SCALE_MIN = -7.0  # σ ≥ e^-7 ≈ 1e-3 keeps the first steps of training finite


class ObservationModel:
    """Base class: ``log_prob(params, x) -> (B,)``, ``sample(params)``, ``mean(params)``."""

    n_params: int = 2
    #: True when log_prob is a probability of bins (no dequantisation correction for bits/dim)
    discrete: bool = False

    def log_prob(self, params: State, x: State) -> Tensor:
        raise NotImplementedError

    def mean(self, params: State) -> State:
        return params.map(lambda p: p[:, 0])

    def sample(self, params: State, generator: torch.Generator | None = None) -> State:
        raise NotImplementedError


def _sum_entries(v: Tensor) -> Tensor:
    return v.reshape(v.shape[0], -1).sum(1)  # (B,)


def _noise_like(v: Tensor, generator: torch.Generator | None, uniform: bool = False) -> Tensor:
    dev = v.device if generator is None else generator.device
    draw = torch.rand if uniform else torch.randn
    return draw(v.shape, generator=generator, device=dev, dtype=v.dtype).to(v.device)


class GaussianObservation(ObservationModel):
    """p(x | z) = N(x; μ(z), diag σ(z)²)."""

    def log_prob(self, params: State, x: State) -> Tensor:
        total = 0.0
        for k, v in x.parts.items():
            mu, log_sigma = params.parts[k][:, 0], params.parts[k][:, 1].clamp(min=LOG_SCALE_MIN)  # (B, *shape)
            log_n = -0.5 * ((v - mu) * torch.exp(-log_sigma)) ** 2 - log_sigma - 0.5 * math.log(2 * math.pi)
            total = total + _sum_entries(log_n)
        return total  # (B,)

    def sample(self, params: State, generator: torch.Generator | None = None) -> State:
        def draw(p: Tensor) -> Tensor:
            mu, log_sigma = p[:, 0], p[:, 1].clamp(min=LOG_SCALE_MIN)
            return mu + torch.exp(log_sigma) * _noise_like(mu, generator)

        return params.map(draw)


class DiscretizedLogisticObservation(ObservationModel):
    """``DiscretizedLogisticObservation(bin_width, low, high)``: P(x | z) of the bin of x."""

    discrete = True

    def __init__(self, bin_width: float, low: float = -1.0, high: float = 1.0) -> None:
        self.bin_width, self.low, self.high = bin_width, low, high

    def log_prob(self, params: State, x: State) -> Tensor:
        half = self.bin_width / 2
        total = 0.0
        for k, v in x.parts.items():
            mu, log_s = params.parts[k][:, 0], params.parts[k][:, 1].clamp(min=LOG_SCALE_MIN)  # (B, *shape)
            inv_s = torch.exp(-log_s)
            plus, minus = inv_s * (v - mu + half), inv_s * (v - mu - half)
            log_cdf_plus = plus - F.softplus(plus)  # log σ(plus): lowest bin takes (−∞, x + w/2]
            log_sf_minus = -F.softplus(minus)  # log (1 − σ(minus)): highest bin takes [x − w/2, ∞)
            delta = torch.sigmoid(plus) - torch.sigmoid(minus)
            mid = inv_s * (v - mu)
            log_density_mid = mid - log_s - 2 * F.softplus(mid) + math.log(self.bin_width)  # tiny bins
            log_mid = torch.where(delta > 1e-5, torch.log(delta.clamp(min=1e-12)), log_density_mid)
            log_p = torch.where(v < self.low + half, log_cdf_plus,
                                torch.where(v > self.high - half, log_sf_minus, log_mid))
            total = total + _sum_entries(log_p)
        return total  # (B,)

    def sample(self, params: State, generator: torch.Generator | None = None) -> State:
        def draw(p: Tensor) -> Tensor:
            mu, log_s = p[:, 0], p[:, 1].clamp(min=LOG_SCALE_MIN)
            u = _noise_like(mu, generator, uniform=True).clamp(1e-5, 1 - 1e-5)
            x = mu + torch.exp(log_s) * (torch.log(u) - torch.log1p(-u))  # logistic draw
            steps = torch.round((x.clamp(self.low, self.high) - self.low) / self.bin_width)
            return self.low + steps * self.bin_width  # on the data grid

        return params.map(draw)


#: config ``family.likelihood`` -> a constructor taking the data's bin width
OBSERVATIONS = {
    "gaussian": lambda bin_width: GaussianObservation(),
    "discretized_logistic": lambda bin_width: DiscretizedLogisticObservation(bin_width),
}


def check_decoder(decoder: nn.Module, observation: ObservationModel, likelihood: str) -> None:
    """The decoder must emit as many values per entry as the observation model reads."""
    if getattr(decoder, "n_params", None) != observation.n_params:
        raise ConfigError(f"likelihood '{likelihood}' reads {observation.n_params} values per entry; "
                          f"set network.decoder.n_params: {observation.n_params}", key="network.decoder.n_params")
