"""FFJORD (Grathwohl et al. 2019): a continuous normalizing flow trained by maximum likelihood.

A time-conditioned network v(x, t) (any network of :mod:`genlab.networks.registry`) defines
dx/dt = v(x, t) from the data at t = 0 to the prior N(0, I) at t = 1 (genlab's time convention).
By the instantaneous change of variables (Chen et al. 2018, Thm. 1),

    log p_0(x_0) = log N(x_1; 0, I) + ∫_0^1 ∇·v(x_t, t) dt,

integrated jointly with x_t by torchdiffeq. Training back-propagates through the solve with the
adjoint method (``odeint_adjoint``, Chen et al. 2018, §2) and estimates ∇·v with Hutchinson's
trace estimator εᵀ(∂v/∂x)ε, one Rademacher ε per sample fixed over the solve (Grathwohl et al.
2019, eq. 7), or with the exact trace (``trace: exact``, D backward passes: low dimension only).
Evaluation (:meth:`FFJORDFamily.log_likelihood`) uses
:func:`genlab.generative.samplers.likelihood.ode_log_likelihood`, exact up to ``exact_max_dims``
dimensions. Sampling integrates from t = 1 back to t = 0.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor, nn
from torchdiffeq import odeint, odeint_adjoint

from genlab.errors import ConfigError
from genlab.generative.families.base import Family, SampleResult, module_device, pick
from genlab.generative.families.dequantization import bits_per_dim, dequantize
from genlab.modalities.base import Modality, State
from genlab.generative.samplers.likelihood import (LikelihoodResult, divergence_exact, divergence_hutchinson,
                                        gaussian_log_prob, ode_log_likelihood)
from genlab.generative.samplers.ode import FIXED_GRID_METHODS, ode_sample
from genlab.utils import checks


class CNFDynamics(nn.Module):
    """torchdiffeq's ``func(t, (x, ℓ))`` = (v(x, t), ∇·v(x, t)) on flattened states (B, D).

    An ``nn.Module`` so that ``odeint_adjoint`` finds the network's parameters. The divergence
    keeps its graph (``create_graph``), so the loss reaches the parameters through it."""

    def __init__(self, network: nn.Module, modality: Modality, like: State, probe: Tensor | None) -> None:
        super().__init__()
        self.network, self.modality, self.like, self.probe = network, modality, like, probe

    def forward(self, t: Tensor, y: tuple[Tensor, Tensor]) -> tuple[Tensor, Tensor]:
        x, _ = y  # (B, D)
        keep_graph = torch.is_grad_enabled()  # False in the adjoint's forward solve: no graph needed
        with torch.enable_grad():
            if not x.requires_grad:
                x = x.detach().requires_grad_(True)
            t_b = t.reshape(()).clamp(0.0, 1.0).expand(x.shape[0])  # (B,)
            v = self.modality.project(self.network(self.like.unflatten(x), t_b)).flatten()  # (B, D)
            if self.probe is None:
                div = divergence_exact(v, x, create_graph=keep_graph)
            else:
                div = divergence_hutchinson(v, x, self.probe, create_graph=keep_graph)  # (B,)
        if not keep_graph:
            return v.detach(), div.detach()
        return v, div


class FFJORDFamily(Family):
    """``FFJORDFamily(modality, network, trace, adjoint, train_method, train_steps, rtol, atol,
    ode_method, sample_steps, eval_rtol, eval_atol, exact_max_dims, dequantize)``."""

    def __init__(self, modality: Modality, network: nn.Module, trace: str = "hutchinson", adjoint: bool = True,
                 train_method: str = "dopri5", train_steps: int = 20, rtol: float = 1e-5, atol: float = 1e-5,
                 ode_method: str = "dopri5", sample_steps: int = 100, eval_rtol: float = 1e-5,
                 eval_atol: float = 1e-5, exact_max_dims: int = 4, dequantize: bool = False) -> None:
        super().__init__(modality)
        for name, value in (("rtol", rtol), ("atol", atol), ("eval_rtol", eval_rtol), ("eval_atol", eval_atol)):
            checks.positive(name, value)
        checks.at_least("train_steps", train_steps, 1)
        checks.at_least("exact_max_dims", exact_max_dims, 1)
        if trace not in ("hutchinson", "exact"):
            raise ConfigError(f"trace must be 'hutchinson' or 'exact', got {trace!r}", key="family.trace")
        self.network = network
        self.trace, self.adjoint = trace, adjoint
        self.train_method, self.train_steps, self.rtol, self.atol = train_method, train_steps, rtol, atol
        self.ode_method, self.sample_steps = ode_method, sample_steps
        self.eval_rtol, self.eval_atol, self.exact_max_dims = eval_rtol, eval_atol, exact_max_dims
        self.dequantize = dequantize
        self.data_scale = modality.data_scale
        self._samplers = {"ode": self._ode}

    def velocity_model(self, x_t: State, t: Tensor) -> State:
        return self.modality.project(self.network(x_t, t))

    def _data(self, batch: Any, generator: torch.Generator | None = None) -> State:
        x = self.modality.encode(batch).to(module_device(self))
        return dequantize(x, self.data_scale, generator) if self.dequantize else x

    def forward(self, batch: Any) -> tuple[Tensor, dict[str, float]]:
        x_0 = self._data(batch)
        flat0 = x_0.flatten()  # (B, D)
        probe = None
        if self.trace == "hutchinson":
            probe = torch.randint(0, 2, flat0.shape, device=flat0.device).to(flat0) * 2 - 1  # Rademacher ε
            probe = self.modality.project(x_0.unflatten(probe)).flatten()
        dynamics = CNFDynamics(self.network, self.modality, x_0, probe)
        options = {}
        if self.train_method in FIXED_GRID_METHODS:
            grid = torch.linspace(0.0, 1.0, self.train_steps + 1, device=flat0.device)
        else:
            grid = torch.tensor([0.0, 1.0], device=flat0.device)
        y0 = (flat0, torch.zeros(flat0.shape[0], device=flat0.device, dtype=flat0.dtype))
        if self.adjoint:
            xs, integrals = odeint_adjoint(dynamics, y0, grid, method=self.train_method, rtol=self.rtol,
                                           atol=self.atol, options=options,
                                           adjoint_params=tuple(self.network.parameters()),
                                           adjoint_options={"norm": "seminorm"})
        else:
            xs, integrals = odeint(dynamics, y0, grid, method=self.train_method, rtol=self.rtol,
                                   atol=self.atol, options=options)
        x_1 = x_0.unflatten(xs[-1])
        dims = self.modality.dims(x_0)
        log_p = gaussian_log_prob(x_1, 1.0, dims) + integrals[-1]  # (B,)
        loss = (-log_p / dims.to(log_p)).mean()
        scale = self.data_scale if self.dequantize else 1.0
        return loss, {"loss": loss.item(), "nll": -log_p.mean().item(),
                      "bits_per_dim": bits_per_dim(-log_p, dims, scale).mean().item()}

    def log_likelihood(self, batch: Any, *, generator: torch.Generator | None = None) -> LikelihoodResult:
        """log p_0 of a batch through the learned ODE (exact trace up to ``exact_max_dims``)."""
        x_0 = self._data(batch, generator)
        return ode_log_likelihood(
            self.velocity_model, x_0, self.modality,
            prior_log_prob=lambda x: gaussian_log_prob(x, 1.0, self.modality.dims(x)),
            t_0=0.0, method=self.ode_method, steps=self.sample_steps, rtol=self.eval_rtol,
            atol=self.eval_atol, exact_max_dims=self.exact_max_dims,
            data_scale=self.data_scale if self.dequantize else 1.0, generator=generator)

    def _ode(self, x_1: State, steps: int | None):
        return ode_sample(self.velocity_model, x_1, self.modality, method=self.ode_method,
                          steps=steps or self.sample_steps, rtol=self.eval_rtol, atol=self.eval_atol)

    @torch.no_grad()
    def sample(self, n: int, *, sampler: str | None = None, steps: int | None = None,
               generator: torch.Generator | None = None) -> SampleResult:
        name = sampler or "ode"
        run = pick(self._samplers, name, "sampler")
        template = self.modality.prior_template(n, device=module_device(self), generator=generator)
        out = run(self.modality.noise(template, generator), steps)
        return SampleResult(samples=self.modality.decode(out.x), nfe=out.nfe, extras={"sampler": name})
