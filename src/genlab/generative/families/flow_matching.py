"""Flow matching (Lipman et al. 2023; rectified flow, Liu et al. 2023; OT-CFM, Tong et al. 2023).

Loss (Lipman et al. eq. 9, conditional FM): E_{t, (x_0, x_1) ~ π} ‖v_θ(x_t, t) - u_t(x_t | x_0, x_1)‖²
with t ~ U(0, 1) and the coupling π of the process (independent or minibatch OT). Sampling
integrates dx/dt = v_θ from t = 1 (noise) to t = 0 (data) with torchdiffeq.

``prediction`` chooses what the network outputs:

* ``velocity``: v_θ(x_t, t) directly, regressed on u_t (the loss above);
* ``x0``: an estimate of the clean data, trained with the modality's ``denoiser_loss`` (squared
  error for continuous data; cross-entropy over atom and bond classes for molecular graphs, the
  categorical x_0-parameterisation of Dieleman et al. 2022 and Campbell et al. 2024). The velocity
  of the Gaussian path x_t = m(t) x_0 + s(t) x_1 then follows from x̂_0 = E[x_0 | x_t]:
  x̂_1 = (x_t - m x̂_0) / s and v = ṁ x̂_0 + ṡ x̂_1 — for the linear path, (x_t - x̂_0) / t.

**Self-conditioning** (Chen, Zhang & Hinton 2023, "Analog bits", §3.2), when the network was
built with ``self_condition: true`` (x0-prediction only): in training, half of the batches first
estimate x̂_0 without gradient and feed it back as the network's third input; in sampling each
step is conditioned on the previous step's x̂_0 (the first on zeros). The velocity then depends
on the sampling history, so it is meant for fixed-grid solvers, and ``log_likelihood`` refuses it.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor, nn

from genlab.generative.families.prior_sampling import per_dim_sq_error, sample_from_prior
from genlab.generative.families.base import Family, SampleResult, module_device
from genlab.generative.families.x0_parameterisation import PredictionChoice, estimate_x0
from genlab.modalities.base import Modality, State
from genlab.generative.processes.flow_matching import FlowMatchingProcess
from genlab.generative.processes.time import uniform_times
from genlab.generative.samplers.likelihood import LikelihoodResult, gaussian_log_prob, ode_log_likelihood
from genlab.generative.samplers.ode import check_ode_settings, ode_sample

#: smallest t at which an x_0-prediction is turned into a velocity (v divides by s(t) ~ t)
T_MIN_X0 = 1e-4


class FlowMatchingFamily(PredictionChoice, Family):
    """``FlowMatchingFamily(modality, process, network, prediction, loss_weights, ode_method,
    sample_steps, rtol, atol)``."""

    def __init__(self, modality: Modality, process: FlowMatchingProcess, network: nn.Module,
                 prediction: str = "velocity", loss_weights: dict[str, float] | None = None,
                 ode_method: str = "dopri5", sample_steps: int = 100, rtol: float = 1e-5,
                 atol: float = 1e-5) -> None:
        super().__init__(modality)
        self.process, self.network = process, network
        self.ode_method, self.sample_steps, self.rtol, self.atol = ode_method, sample_steps, rtol, atol
        check_ode_settings(ode_method, sample_steps, rtol, atol)
        self._samplers = {"ode": self._ode}
        self.choose_prediction(prediction, loss_weights, "velocity", (self._velocity_loss, self._velocity_output),
                               self._velocity_from_x0)
        self.self_condition = bool(getattr(network, "self_condition", False))
        if self.self_condition and prediction != "x0":
            raise ValueError("a self-conditioned network needs prediction: x0")

    def velocity_model(self, x_t: State, t: Tensor) -> State:
        """v_θ(x_t, t), whatever the network predicts."""
        return self._model(x_t, t)

    def _velocity_output(self, x_t: State, t: Tensor) -> State:
        return self.modality.project(self.network(x_t, t))

    def _velocity_from_x0(self, x_t: State, t: Tensor, cond: State | None = None) -> State:
        return self._x0_velocity(x_t, t, cond)[0]

    def _x0_velocity(self, x_t: State, t: Tensor, cond: State | None) -> tuple[State, State]:
        """(v, x̂_0) from the x_0-network, conditioned on ``cond`` when self-conditioned."""
        t = t.clamp(min=T_MIN_X0)  # (B,)
        network = (lambda x, tt: self.network(x, tt, cond)) if self.self_condition else self.network
        estimate = estimate_x0(network, self.modality, self.process, x_t, t)  # x̂_0 and x̂_1 = ε̂
        dm, ds = self.process.marginal_rates(t)  # (B,), (B,)
        return self.modality.project(estimate.velocity(dm, ds)), estimate.x0

    def _self_conditioned_velocity(self):
        """A velocity function that feeds each call the x̂_0 of the call before (sampling only)."""
        previous: list[State | None] = [None]

        def velocity(x_t: State, t: Tensor) -> State:
            v, previous[0] = self._x0_velocity(x_t, t, previous[0])
            return v

        return velocity

    def _velocity_loss(self, x_t: State, t: Tensor, x_0: State, u_t: State) -> Tensor:
        return per_dim_sq_error(self._velocity_output(x_t, t), u_t, self.modality)  # (B,)

    def _x0_loss(self, x_t: State, t: Tensor, x_0: State, u_t: State) -> Tensor:
        if not self.self_condition:
            return super()._x0_loss(x_t, t, x_0, u_t)  # (B,)
        cond = None
        if torch.rand(()) < 0.5:  # half of the batches see their own first estimate
            with torch.no_grad():
                cond = self.modality.denoiser_mean(self.network(x_t, t))
        return self.modality.denoiser_loss(self.network(x_t, t, cond), x_0, self.loss_weights)  # (B,)

    def forward(self, batch: Any) -> tuple[Tensor, dict[str, float]]:
        x_0 = self.modality.encode(batch).to(module_device(self))
        x_1 = self.modality.noise(x_0)
        index = self.process.couple(x_0.flatten(), x_1.flatten())  # (B,)
        x_1 = self.modality.project(x_1.map(lambda v: v[index]))
        t = uniform_times(x_0.batch_size, device=x_0.device)  # (B,)
        paths = {k: self.process.path(x_0.parts[k], x_1.parts[k], t) for k in x_0.parts}
        x_t = x_0.with_parts({k: p.x_t for k, p in paths.items()})
        u_t = x_0.with_parts({k: p.target for k, p in paths.items()})
        loss = self._loss(x_t, t, x_0, u_t).mean()
        return loss, {"loss": loss.detach().item()}

    def _ode(self, x_1: State, steps: int | None, generator: torch.Generator | None):
        velocity = self._self_conditioned_velocity() if self.self_condition else self.velocity_model
        return ode_sample(velocity, x_1, self.modality, method=self.ode_method,
                          steps=steps or self.sample_steps, rtol=self.rtol, atol=self.atol)

    @torch.no_grad()
    def sample(self, n: int, *, sampler: str | None = None, steps: int | None = None,
               generator: torch.Generator | None = None) -> SampleResult:
        return sample_from_prior(self, self._samplers, sampler or "ode", n, steps, generator)

    def log_likelihood(self, batch: Any, *, exact_max_dims: int = 4,
                       generator: torch.Generator | None = None) -> LikelihoodResult:
        """log p_0 of a data batch through the learned ODE (change of variables)."""
        if self.self_condition:
            raise ValueError("a self-conditioned velocity depends on the sampling history: no ODE likelihood")
        x_0 = self.modality.encode(batch).to(module_device(self))
        return ode_log_likelihood(
            self.velocity_model, x_0, self.modality,
            prior_log_prob=lambda x: gaussian_log_prob(x, self.process.prior_std, self.modality.dims(x)),
            t_0=0.0, method=self.ode_method, steps=self.sample_steps, rtol=self.rtol, atol=self.atol,
            exact_max_dims=exact_max_dims, data_scale=self.modality.data_scale,
            generator=generator)
