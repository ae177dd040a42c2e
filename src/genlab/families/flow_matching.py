"""Flow matching (Lipman et al. 2023; rectified flow, Liu et al. 2023; OT-CFM, Tong et al. 2023).

Loss (Lipman et al. eq. 9, conditional FM): E_{t, (x_0, x_1) ~ π} ‖v_θ(x_t, t) - u_t(x_t | x_0, x_1)‖²
with t ~ U(0, 1) and the coupling π of the process (independent or minibatch OT). Sampling
integrates dx/dt = v_θ from t = 1 (noise) to t = 0 (data) with torchdiffeq.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor, nn

from genlab.families._shared import draw_prior, module_device, per_dim_sq_error, pick
from genlab.families.base import Family, SampleResult
from genlab.modalities.base import Modality, State
from genlab.processes.flow_matching import FlowMatchingProcess
from genlab.processes.time import uniform_times
from genlab.samplers.likelihood import LikelihoodResult, gaussian_log_prob, ode_log_likelihood
from genlab.samplers.ode import ode_sample


class FlowMatchingFamily(Family):
    """``FlowMatchingFamily(modality, process, network, ode_method, sample_steps, rtol, atol)``."""

    def __init__(self, modality: Modality, process: FlowMatchingProcess, network: nn.Module,
                 ode_method: str = "dopri5", sample_steps: int = 100, rtol: float = 1e-5,
                 atol: float = 1e-5) -> None:
        super().__init__(modality)
        self.process, self.network = process, network
        self.ode_method, self.sample_steps, self.rtol, self.atol = ode_method, sample_steps, rtol, atol
        self._samplers = {"ode": self._ode}

    def velocity_model(self, x_t: State, t: Tensor) -> State:
        return self.modality.project(self.network(x_t, t))

    def forward(self, batch: Any) -> tuple[Tensor, dict[str, float]]:
        x_0 = self.modality.encode(batch).to(module_device(self))
        x_1 = self.modality.noise(x_0)
        index = self.process.couple(x_0.flatten(), x_1.flatten())  # (B,)
        x_1 = self.modality.project(x_1.map(lambda v: v[index]))
        t = uniform_times(x_0.batch_size, device=x_0.device)  # (B,)
        paths = {k: self.process.path(x_0.parts[k], x_1.parts[k], t) for k in x_0.parts}
        x_t = x_0.with_parts({k: p.x_t for k, p in paths.items()})
        u_t = x_0.with_parts({k: p.target for k, p in paths.items()})
        loss = per_dim_sq_error(self.velocity_model(x_t, t), u_t, self.modality).mean()
        return loss, {"loss": loss.detach().item()}

    def _ode(self, x_1: State, steps: int | None, generator: torch.Generator | None):
        return ode_sample(self.velocity_model, x_1, self.modality, method=self.ode_method,
                          steps=steps or self.sample_steps, rtol=self.rtol, atol=self.atol)

    @torch.no_grad()
    def sample(self, n: int, *, sampler: str | None = None, steps: int | None = None,
               generator: torch.Generator | None = None) -> SampleResult:
        name = sampler or "ode"
        run = pick(self._samplers, name, "sampler")
        x_1 = draw_prior(self.modality, n, self.process.prior_std, module_device(self), generator)
        out = run(x_1, steps, generator)
        return SampleResult(samples=self.modality.decode(out.x), nfe=out.nfe, extras={"sampler": name})

    def log_likelihood(self, batch: Any, *, exact_max_dims: int = 4,
                       generator: torch.Generator | None = None) -> LikelihoodResult:
        """log p_0 of a data batch through the learned ODE (change of variables)."""
        x_0 = self.modality.encode(batch).to(module_device(self))
        return ode_log_likelihood(
            self.velocity_model, x_0, self.modality,
            prior_log_prob=lambda x: gaussian_log_prob(x, self.process.prior_std, self.modality.dims(x)),
            t_0=0.0, method=self.ode_method, steps=self.sample_steps, rtol=self.rtol, atol=self.atol,
            exact_max_dims=exact_max_dims, data_scale=getattr(self.modality, "data_scale", 1.0),
            generator=generator)
