"""DDPM (Ho et al. 2020): ε- or x_0-prediction on a discrete schedule; ancestral and DDIM sampling.

``prediction`` chooses what the network outputs:

* ``eps``: ε_θ, with the loss of eq. 14 (L_simple):
  E_{i, x_0, ε} ‖ε - ε_θ(sqrt(ᾱ_i) x_0 + sqrt(1 - ᾱ_i) ε, i)‖²;
* ``x0``: an estimate of the clean data trained with the modality's ``denoiser_loss`` (squared
  error for continuous data, cross-entropy over atom and bond classes for molecular graphs), read
  as ε̂ = (x_t - sqrt(ᾱ) x̂_0) / sqrt(1 - ᾱ) — eq. 4 solved for ε
  (:mod:`genlab.generative.families.x0_parameterisation`). Both samplers then run unchanged.

The network sees t = i/N (:mod:`genlab.generative.processes.time`).
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor, nn

from genlab.generative.families.prior_sampling import per_dim_sq_error, sample_from_prior
from genlab.generative.families.base import Family, SampleResult, module_device, pick
from genlab.generative.families.x0_parameterisation import PredictionChoice
from genlab.modalities.base import Modality, State
from genlab.generative.processes.ddpm import DDPMProcess
from genlab.generative.samplers.ddpm import ddim, ddpm_ancestral
from genlab.utils import checks


class DDPMFamily(PredictionChoice, Family):
    """``DDPMFamily(modality, process, network, prediction, loss_weights, sampler, sample_steps,
    eta, variance)``.

    ``prediction``: ``eps`` | ``x0`` (see the module docstring; ``loss_weights`` weights the
    components of the x0 loss, e.g. ``{adj: 5.0}``). ``sampler``: ``ancestral`` (Algorithm 2;
    ``variance`` beta | beta_tilde) or ``ddim`` (η = ``eta``); ``sample_steps``: None = all N
    steps, fewer respaces the lattice.
    """

    def __init__(self, modality: Modality, process: DDPMProcess, network: nn.Module,
                 prediction: str = "eps", loss_weights: dict[str, float] | None = None,
                 sampler: str = "ancestral", sample_steps: int | None = None, eta: float = 0.0,
                 variance: str = "beta") -> None:
        super().__init__(modality)
        checks.non_negative("eta", eta)
        if sample_steps is not None:
            checks.at_most("sample_steps", sample_steps, process.n_steps, bound="the process's n_steps")
        self.process, self.network = process, network
        self.sampler, self.sample_steps, self.eta, self.variance = sampler, sample_steps, eta, variance
        if sample_steps is not None and sample_steps < 1:
            raise ValueError(f"sample_steps must be at least 1, got {sample_steps}")
        self._samplers = {"ancestral": self._ancestral, "ddim": self._ddim}
        pick(self._samplers, sampler, "sampler")
        self.choose_prediction(prediction, loss_weights, "eps", (self._eps_loss, self._eps_output), self._eps_from_x0)

    def eps_model(self, x_t: State, t: Tensor) -> State:
        """ε_θ(x_t, t), whatever the network predicts, projected onto the modality's valid subspace."""
        return self._model(x_t, t)

    def _eps_output(self, x_t: State, t: Tensor) -> State:
        return self.modality.project(self.network(x_t, t))

    def _eps_from_x0(self, x_t: State, t: Tensor) -> State:
        """ε̂ = (x_t - sqrt(ᾱ) x̂_0) / sqrt(1 - ᾱ) (Ho et al. eq. 4); t > 0 on every sampling grid."""
        return self.modality.project(self.x0_estimate(x_t, t).eps)

    def _eps_loss(self, x_t: State, t: Tensor, x_0: State, eps: State) -> Tensor:
        return per_dim_sq_error(self._eps_output(x_t, t), eps, self.modality)  # (B,)

    def forward(self, batch: Any) -> tuple[Tensor, dict[str, float]]:
        x_0 = self.modality.encode(batch).to(module_device(self))
        t = self.process.sample_times(x_0.batch_size, device=x_0.device)  # (B,)
        eps = self.modality.noise(x_0)
        x_t = x_0.map(lambda v, e: self.process.path(v, e, t).x_t, eps)
        loss = self._loss(x_t, t, x_0, eps).mean()
        return loss, {"loss": loss.detach().item()}

    def _ancestral(self, x_1: State, steps: int | None, generator: torch.Generator | None):
        return ddpm_ancestral(self.eps_model, self.process, x_1, self.modality, steps=steps,
                              variance=self.variance, generator=generator)

    def _ddim(self, x_1: State, steps: int | None, generator: torch.Generator | None):
        return ddim(self.eps_model, self.process, x_1, self.modality, steps=steps, eta=self.eta,
                    generator=generator)

    @torch.no_grad()
    def sample(self, n: int, *, sampler: str | None = None, steps: int | None = None,
               generator: torch.Generator | None = None) -> SampleResult:
        return sample_from_prior(self, self._samplers, sampler or self.sampler, n, steps or self.sample_steps,
                                 generator)
