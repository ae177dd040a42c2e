"""Observation models: how a decoder's or generator's output becomes data (VAE, AAE, GAN).

A model bound to a modality answers five questions about a network output ``params``:
``log_prob(params, target)`` (B,), ``sample(params)``, ``mean(params)`` (its most likely value),
``relax(params)`` (a differentiable draw an adversarial critic reads) and ``decode(x)`` (the
modality's samples); ``target(batch, x)`` is what it scores and ``dims(target)`` its number of
variables (losses are per variable). Each model reads one view of the modality (``view``), and the
network it reads must emit that view (:func:`check_decoder`).

``gaussian`` (state view, P = 2 values per entry: mean μ and log-scale log σ): log N(x; μ, σ²)
summed over entries, a density in model units (Kingma & Welling 2014, App. C.2). Points use it
as is; on quantised images train on dequantised data (``dequantize: true``) and convert with
:func:`genlab.generative.families.dequantization.bits_per_dim`.

``discretized_logistic`` (state view, P = 2: mean μ and log-scale log s): the probability of the
bin of width w around x under a logistic, with the edge bins taking the tails (Salimans et al.
2017, PixelCNN++, eq. 2, one mixture component), for data on a grid of step w = the modality's
``data_scale`` in [−1, 1] such as digits. It is a probability, so its NLL is already in bits of
the stored integers. (A Bernoulli decoder fits binarised data only; the 17-level digits are not
binary, and a Bernoulli on grey levels is not a normalised likelihood, so we do not offer it.)

``point`` (state view, P = 1): the output is the sample itself (a GAN generator); no likelihood.

``categorical`` (the molecules modality's slot view: logits over K + 1 node classes, "no atom"
first, per slot and over C edge classes per pair): independent categoricals per slot and per
unordered pair i < j, as in the one-shot graph models (GraphVAE, MPGVAE, MolGAN). Its NLL sums the
N slot and N(N−1)/2 pair cross-entropies; a draw is Gumbel-max, one Gumbel draw per unordered pair;
the relaxed draw for a critic is the Gumbel-softmax at temperature τ (Jang et al. 2017, eq. 1;
MolGAN, De Cao & Kipf 2018, §3), straight-through one-hot with ``hard``, the diagonal "no bond".
States of this view are scores: decoding takes the argmax per slot and per pair.
"""

from __future__ import annotations

import math
from typing import Any, Mapping

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from genlab.errors import ConfigError
from genlab.modalities.base import Modality, State
from genlab.modalities.molecules import mirror_upper
from genlab.registry import Registry
from genlab.utils import checks

LOG_SCALE_MIN = -7.0  # σ ≥ e^-7 ≈ 1e-3 keeps the first steps of training finite


class ObservationModel:
    """Base class, bound to a modality; subclasses are registered in :data:`OBSERVATIONS`."""

    #: values per data entry the network emits, parts (B, P, *shape); None: one State of scores
    n_params: int | None = 2
    #: True when log_prob is a probability of bins (no dequantisation correction for bits/dim)
    discrete: bool = False
    #: the modality view the network emits (:meth:`~genlab.modalities.base.Modality.view_shapes`)
    view: str = "state"

    def __init__(self, modality: Modality) -> None:
        if self.view not in modality.views:
            raise ValueError(f"the {self.view} view this observation model reads is not a view of "
                             f"{type(modality).__name__} (views: {', '.join(modality.views)})")
        self.modality = modality

    def target(self, batch: Any, x: State) -> State:
        """What :meth:`log_prob` scores for a data batch whose encoded state is ``x``."""
        return x

    def dims(self, target: State) -> Tensor:
        """Variables per sample, (B,): what losses are divided by."""
        return self.modality.dims(target)

    def decode(self, x: State) -> Any:
        """A sample of this model's view -> the modality's data (points, images, graphs)."""
        return self.modality.decode(x)

    def log_prob(self, params: State, x: State) -> Tensor:
        raise NotImplementedError

    def mean(self, params: State) -> State:
        return params.map(lambda p: p[:, 0])

    def sample(self, params: State, generator: torch.Generator | None = None) -> State:
        raise NotImplementedError

    def relax(self, params: State) -> State:
        """A draw a critic can differentiate through; the projected mean by default."""
        return self.modality.project(self.mean(params))


OBSERVATIONS: Registry[ObservationModel] = Registry("family.likelihood")


def _sum_entries(v: Tensor) -> Tensor:
    return v.reshape(v.shape[0], -1).sum(1)  # (B,)


def _noise_like(v: Tensor, generator: torch.Generator | None, uniform: bool = False) -> Tensor:
    dev = v.device if generator is None else generator.device
    draw = torch.rand if uniform else torch.randn
    return draw(v.shape, generator=generator, device=dev, dtype=v.dtype).to(v.device)


@OBSERVATIONS.register("gaussian")
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


@OBSERVATIONS.register("discretized_logistic")
class DiscretizedLogisticObservation(ObservationModel):
    """``DiscretizedLogisticObservation(modality, low, high)``: P(x | z) of the bin of x, bins of
    the modality's ``data_scale``."""

    discrete = True

    def __init__(self, modality: Modality, low: float = -1.0, high: float = 1.0) -> None:
        checks.less_than("low", low, high, bound="high")
        super().__init__(modality)
        self.bin_width, self.low, self.high = modality.data_scale, low, high

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


@OBSERVATIONS.register("point")
class PointObservation(ObservationModel):
    """The network's output is the sample (P = 1): a GAN generator. No likelihood."""

    n_params = 1

    def log_prob(self, params: State, x: State) -> Tensor:
        raise ConfigError("the point observation has no likelihood", key="family.likelihood")

    def sample(self, params: State, generator: torch.Generator | None = None) -> State:
        return self.mean(params)


@OBSERVATIONS.register("categorical")
class CategoricalSlots(ObservationModel):
    """``CategoricalSlots(modality, temperature, hard)``: independent categoricals per slot and per
    unordered pair of the slot view; ``temperature`` and ``hard`` shape :meth:`relax` only."""

    n_params = None
    discrete = True
    view = "slots"

    def __init__(self, modality: Modality, temperature: float = 1.0, hard: bool = False) -> None:
        super().__init__(modality)
        checks.positive("temperature", temperature)
        self.temperature, self.hard = temperature, hard

    def target(self, batch: Any, x: State) -> State:
        return self.modality.one_hot_slots(batch.to(x.device))  # {"x": (B, N, K+1), "adj": (B, N, N, C)}

    def dims(self, target: State) -> Tensor:
        """V = N + N(N−1)/2 categorical variables per graph, (B,)."""
        n = target.parts["x"].shape[1]
        return torch.full((target.batch_size,), n + n * (n - 1) // 2, device=target.device)

    def decode(self, x: State) -> Any:
        return self.modality.decode_slots(x)

    def nll(self, logits: State, target: State) -> tuple[Tensor, Tensor]:
        """(node NLL, edge NLL), each (B,): cross-entropy summed over the N slots and the pairs i < j."""
        n = target.parts["x"].shape[1]
        node = F.cross_entropy(logits.parts["x"].movedim(-1, 1), target.parts["x"].argmax(-1),
                               reduction="none").sum(1)  # (B,)
        upper = torch.triu(torch.ones(n, n, dtype=torch.bool, device=target.device), diagonal=1)  # (N, N)
        edge = F.cross_entropy(logits.parts["adj"].movedim(-1, 1), target.parts["adj"].argmax(-1),
                               reduction="none")  # (B, N, N)
        return node, (edge * upper).sum((1, 2))

    def log_prob(self, params: State, x: State) -> Tensor:
        node, edge = self.nll(params, x)
        return -(node + edge)

    def mean(self, params: State) -> State:
        """The most likely graph's scores: the logits themselves (decoded by argmax)."""
        return params

    def sample(self, params: State, generator: torch.Generator | None = None) -> State:
        """Gumbel-max: scores whose argmax is an exact draw, one Gumbel draw per unordered pair."""
        x, a = params.parts["x"], params.parts["adj"]
        return params.with_parts({"x": x + gumbel(tuple(x.shape), x.device, generator),
                                  "adj": a + mirror_upper(gumbel(tuple(a.shape), a.device, generator))})

    def relax(self, params: State) -> State:
        """Gumbel-softmax (X̃ (B, N, K+1), Ã (B, N, N, C)), symmetric, the diagonal "no bond"."""
        x, a = params.parts["x"], params.parts["adj"]
        x_soft = F.softmax((x + gumbel(tuple(x.shape), x.device)) / self.temperature, dim=-1)
        a_soft = F.softmax((a + mirror_upper(gumbel(tuple(a.shape), a.device))) / self.temperature, dim=-1)
        if self.hard:  # straight-through: one-hot forward, soft gradient
            x_soft = F.one_hot(x_soft.argmax(-1), x.shape[-1]).to(x) - x_soft.detach() + x_soft
            a_soft = F.one_hot(a_soft.argmax(-1), a.shape[-1]).to(a) - a_soft.detach() + a_soft
        n = a.shape[1]
        eye = torch.eye(n, dtype=torch.bool, device=a.device)[None, :, :, None]  # (1, N, N, 1)
        no_bond = F.one_hot(torch.zeros((), dtype=torch.long, device=a.device), a.shape[-1]).to(a)  # (C,)
        return params.with_parts({"x": x_soft, "adj": torch.where(eye, no_bond, a_soft)})


def gumbel(shape: tuple[int, ...], device: torch.device, generator: torch.Generator | None = None) -> Tensor:
    """Standard Gumbel noise −log(−log u), u ~ U(0, 1)."""
    dev = device if generator is None else generator.device
    u = torch.rand(shape, generator=generator, device=dev).to(device)
    return -torch.log(-torch.log(u.clamp(1e-10, 1.0 - 1e-7)))


def build_observation(likelihood: str | Mapping[str, Any], modality: Modality) -> ObservationModel:
    """``family.likelihood`` (a name, or a mapping with ``name`` and its keys) bound to ``modality``."""
    section = {"name": likelihood} if isinstance(likelihood, str) else dict(likelihood)
    return OBSERVATIONS.build(section, modality=modality)


def check_decoder(decoder: nn.Module, observation: ObservationModel, role: str = "decoder") -> None:
    """The network must emit the view the observation model reads, with as many values per entry."""
    view = getattr(decoder, "view", "state")
    if view != observation.view:
        raise ConfigError(f"the {type(observation).__name__} observation reads the modality's {observation.view} "
                          f"view; this network emits its {view} view", key=f"network.{role}.name")
    if observation.n_params is not None and getattr(decoder, "n_params", None) != observation.n_params:
        raise ConfigError(f"this likelihood reads {observation.n_params} values per entry; "
                          f"set network.{role}.n_params: {observation.n_params}", key=f"network.{role}.n_params")
