"""PFGM (Xu et al. 2022): regress the normalised empirical Poisson field of the batch in the
augmented space, sample with the backward ODE from the z = z_max plane.

Loss (Algorithm 1): ‖f_θ(x̃) - ν(x̃)‖² with ν = -sqrt(N) E/(‖E‖ + γ) the field of the
current data batch (:meth:`PFGMProcess.normalized_field`). The network sees x and
t = t(z) (:mod:`genlab.generative.processes.time`) and returns ν_x in the state's shape plus ν_z in
``out.parts["aux"]`` — build it with ``aux_dim: 1``.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor, nn

from genlab.errors import ConfigError
from genlab.generative.families.base import Family, SampleResult, module_device, pick
from genlab.modalities.base import Modality, State
from genlab.generative.processes.pfgm import PFGMProcess
from genlab.generative.samplers.ode import check_ode_settings, ode_sample
from genlab.utils.broadcast import expand_like


class PFGMFamily(Family):
    """``PFGMFamily(modality, process, network, ode_method, sample_steps, rtol, atol)``."""

    def __init__(self, modality: Modality, process: PFGMProcess, network: nn.Module,
                 ode_method: str = "dopri5", sample_steps: int = 100, rtol: float = 1e-4,
                 atol: float = 1e-4) -> None:
        super().__init__(modality)
        self.process, self.network = process, network
        self.ode_method, self.sample_steps, self.rtol, self.atol = ode_method, sample_steps, rtol, atol
        check_ode_settings(ode_method, sample_steps, rtol, atol)
        self._samplers = {"ode": self._ode}

    def field_model(self, x: State, t: Tensor) -> tuple[State, Tensor]:
        """(ν_x like x, ν_z (B,)) predicted at (x, z(t)); the network sees c_in(z) x and t."""
        c_in = self.process.input_scale(self.process.z_of(t))  # (B,)
        out = self.network(x.map(lambda v: expand_like(c_in, v) * v), t)
        if "aux" not in out.parts:
            raise ConfigError("PFGM needs the network's z output: set network.aux_dim: 1", key="network.aux_dim")
        parts = dict(out.parts)
        nu_z = parts.pop("aux")[:, 0]  # (B,)
        return self.modality.project(out.with_parts(parts)), nu_z

    def velocity_model(self, x: State, t: Tensor) -> State:
        """Backward-ODE drift dx/dt = z(t) log(z_max/z_min) ν_x/ν_z."""
        nu_x, nu_z = self.field_model(x, t)
        return nu_x.map(lambda v, x_: self.process.velocity(v, nu_z, t, x_), x)

    def forward(self, batch: Any) -> tuple[Tensor, dict[str, float]]:
        y = self.modality.encode(batch).to(module_device(self))
        B, dev = y.batch_size, y.device
        dims = self.modality.dims(y)  # (B,) N
        eps_x, u_x = self.modality.noise(y).flatten(), self.modality.noise(y).flatten()  # (B, D)
        eps_z, u_z = torch.randn(B, device=dev), torch.randn(B, device=dev)  # (B,)
        m = torch.rand(B, device=dev) * self.process.m_max  # (B,)
        y_flat = y.flatten()  # (B, D)
        x_flat, z = self.process.perturb(y_flat, eps_x, eps_z, u_x, u_z, m)  # (B, D), (B,)
        x_flat = self.modality.project(y.unflatten(x_flat)).flatten()
        nu_x, nu_z = self.process.normalized_field(x_flat, z, y_flat, dims)  # (B, D), (B,)
        pred_x, pred_z = self.field_model(y.unflatten(x_flat), self.process.t_of(z))
        sq = ((pred_x.flatten() - nu_x) ** 2).sum(1) + (pred_z - nu_z) ** 2  # (B,)
        loss = (sq / (dims.to(sq) + 1)).mean()
        return loss, {"loss": loss.detach().item()}

    def _ode(self, x_1: State, steps: int | None, generator: torch.Generator | None):
        return ode_sample(self.velocity_model, x_1, self.modality, method=self.ode_method,
                          steps=steps or self.sample_steps, rtol=self.rtol, atol=self.atol)

    @torch.no_grad()
    def sample(self, n: int, *, sampler: str | None = None, steps: int | None = None,
               generator: torch.Generator | None = None) -> SampleResult:
        name = sampler or "ode"
        run = pick(self._samplers, name, "sampler")
        device = module_device(self)
        template = self.modality.prior_template(n, device=device, generator=generator)
        g = self.modality.noise(template, generator)
        dev = device if generator is None else generator.device
        n_z = torch.randn(n, generator=generator, device=dev).to(device)  # (n,)
        x_1 = g.map(lambda v: self.process.prior(v, n_z))
        out = run(x_1, steps, generator)
        return SampleResult(samples=self.modality.decode(out.x), nfe=out.nfe, extras={"sampler": name})
