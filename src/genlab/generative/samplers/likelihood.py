"""Log-likelihood through the probability-flow ODE (Song et al. 2021, §4.3 and App. D.2; the
instantaneous change of variables of Chen et al. 2018, Thm. 1; FFJORD's Hutchinson estimator,
Grathwohl et al. 2019).

Along dx/dt = v(x, t) the density obeys d log p_t(x_t)/dt = -∇·v(x_t, t), so integrating from the
data (t_0 ≈ 0) to the prior (t = 1):

    log p_0(x_0) = log p_1(x_1) + ∫_{t_0}^{1} ∇·v(x_t, t) dt.

The divergence is exact (D backward passes) when the state has at most ``exact_max_dims``
dimensions, else Hutchinson's estimate εᵀ (∂v/∂x) ε with one Rademacher ε per sample held fixed
over the solve.

Units. ``nll_nats = -log p_0(x_0)`` in the model's continuous units. If the model's x relates to
stored integer levels y by x = a·y + b (``data_scale`` a: 1/8 for 17-level digits mapped to
[-1, 1], 2/255 for uint8), the density over dequantised y (bins of width 1) is p_y = p_x · a^D,
so -log p_y = nll_nats - D log a and

    bits/dim = nll_nats / (D ln 2) - log2(a),

e.g. + 7 bits for a = 1/128 (the "+7" of score_sde for data in [-1, 1]). Points use a = 1 (no
correction: continuous data, nats per dimension reported as they are). Uniform dequantisation
noise is the caller's choice; this function evaluates the density at the given x_0.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable

import torch
from torch import Tensor
from torchdiffeq import odeint

from genlab.modalities.base import Modality, State
from genlab.generative.samplers.base import CountedFn, ModelFn
from genlab.generative.samplers.ode import ADAPTIVE_METHODS, FIXED_GRID_METHODS
from genlab.utils.checks import at_least, in_unit_interval, non_negative, one_of, positive


@dataclass
class LikelihoodResult:
    log_prob: Tensor  # log p_0(x_0) in nats, (B,)
    nll_nats: Tensor  # -log p_0(x_0), (B,)
    bits_per_dim: Tensor  # in data units after the data_scale correction, (B,)
    prior_log_prob: Tensor  # log p_1(x_1), (B,)
    nfe: int


def gaussian_log_prob(x: State, std: float, dims: Tensor) -> Tensor:
    """log N(x; 0, std² I) over ``dims`` free dimensions per sample (masked entries are 0), (B,)."""
    sq = (x.flatten() ** 2).sum(1)  # (B,)
    return -0.5 * sq / std**2 - 0.5 * dims.to(sq) * math.log(2 * math.pi * std**2)


def divergence_exact(v: Tensor, x: Tensor, create_graph: bool = False) -> Tensor:
    """∇·v = Σ_i ∂v_i/∂x_i by one backward pass per dimension; v, x: (B, D) -> (B,).

    ``create_graph=True`` keeps the graph, so the divergence can itself be differentiated (training
    a CNF with the exact trace, FFJORD's low-dimensional setting)."""
    div = torch.zeros(v.shape[0], dtype=v.dtype, device=v.device)
    if not v.requires_grad:  # v does not depend on x (e.g. a constant field)
        return div
    D = v.shape[1]
    for i in range(D):
        (grad,) = torch.autograd.grad(v[:, i].sum(), x, retain_graph=create_graph or i < D - 1,
                                      create_graph=create_graph)
        div = div + grad[:, i]
    return div


def divergence_hutchinson(v: Tensor, x: Tensor, probe: Tensor, create_graph: bool = False) -> Tensor:
    """Hutchinson's estimate εᵀ (∂v/∂x) ε of ∇·v (Grathwohl et al. 2019, eq. 7); v, x, ε: (B, D)
    -> (B,). Unbiased when E[ε εᵀ] = I (Rademacher or standard normal ε)."""
    if not v.requires_grad:
        return torch.zeros(v.shape[0], dtype=v.dtype, device=v.device)
    (vjp,) = torch.autograd.grad((v * probe).sum(), x, create_graph=create_graph)  # εᵀ ∂v/∂x, (B, D)
    return (vjp * probe).sum(1)  # (B,)


def ode_log_likelihood(velocity_fn: ModelFn, x_0: State, modality: Modality,
                       prior_log_prob: Callable[[State], Tensor], t_0: float = 1e-5, method: str = "dopri5",
                       steps: int = 100, rtol: float = 1e-5, atol: float = 1e-5, exact_max_dims: int = 4,
                       data_scale: float = 1.0, generator: torch.Generator | None = None) -> LikelihoodResult:
    """log p_0(x_0) by integrating (x, ∫∇·v) from ``t_0`` to 1 with torchdiffeq."""
    in_unit_interval("t_0", t_0, closed_high=False)
    one_of("method", method, FIXED_GRID_METHODS + ADAPTIVE_METHODS)
    at_least("steps", steps, 1)
    positive("rtol", rtol)
    positive("atol", atol)
    non_negative("exact_max_dims", exact_max_dims)
    positive("data_scale", data_scale)
    counted = CountedFn(velocity_fn)
    flat0 = x_0.flatten().detach()  # (B, D)
    B, D = flat0.shape
    exact = D <= exact_max_dims
    if not exact:
        dev = flat0.device if generator is None else generator.device
        probe = (torch.randint(0, 2, flat0.shape, generator=generator, device=dev).to(flat0) * 2 - 1)  # (B, D)
        probe = modality.project(x_0.unflatten(probe)).flatten()  # no probing of padded entries

    def func(t: Tensor, y: tuple[Tensor, Tensor]) -> tuple[Tensor, Tensor]:
        flat, _ = y
        with torch.enable_grad():
            flat = flat.detach().requires_grad_(True)
            t_b = t.reshape(()).clamp(t_0, 1.0).expand(B)  # adaptive stages may probe past 1
            v = modality.project(counted(x_0.unflatten(flat), t_b)).flatten()  # (B, D)
            div = divergence_exact(v, flat) if exact else divergence_hutchinson(v, flat, probe)
        return v.detach(), div.detach()

    options = {}
    if method in FIXED_GRID_METHODS:
        grid = torch.linspace(t_0, 1.0, steps + 1, device=flat0.device)
    else:
        grid = torch.tensor([t_0, 1.0], device=flat0.device)
        options["step_t"] = grid[1:]
    y0 = (flat0, torch.zeros(B, device=flat0.device, dtype=flat0.dtype))
    flats, integrals = odeint(func, y0, grid, method=method, rtol=rtol, atol=atol, options=options)
    x_1 = x_0.unflatten(flats[-1])
    prior = prior_log_prob(x_1)  # (B,)
    log_prob = prior + integrals[-1]  # (B,)
    dims = modality.dims(x_0).to(log_prob)
    nll = -log_prob
    bpd = nll / (dims * math.log(2)) - math.log2(data_scale)
    return LikelihoodResult(log_prob=log_prob, nll_nats=nll, bits_per_dim=bpd, prior_log_prob=prior, nfe=counted.nfe)
