"""DDPM (Ho et al. 2020): ε-prediction on a discrete schedule; ancestral and DDIM sampling.

Loss (eq. 14, L_simple): E_{i, x_0, ε} ‖ε - ε_θ(sqrt(ᾱ_i) x_0 + sqrt(1 - ᾱ_i) ε, i)‖², with
t = i/N fed to the network (:mod:`genlab.processes.time`).
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor, nn

from genlab.families._shared import module_device, per_dim_sq_error, pick, sample_from_prior
from genlab.families.base import Family, SampleResult
from genlab.modalities.base import Modality, State
from genlab.processes.ddpm import DDPMProcess
from genlab.samplers.ddpm import ddim, ddpm_ancestral


class DDPMFamily(Family):
    """``DDPMFamily(modality, process, network, sampler, sample_steps, eta, variance)``.

    ``sampler``: ``ancestral`` (Algorithm 2; ``variance`` beta | beta_tilde) or ``ddim`` (η =
    ``eta``); ``sample_steps``: None = all N steps, fewer respaces the lattice.
    """

    def __init__(self, modality: Modality, process: DDPMProcess, network: nn.Module,
                 sampler: str = "ancestral", sample_steps: int | None = None, eta: float = 0.0,
                 variance: str = "beta") -> None:
        super().__init__(modality)
        self.process, self.network = process, network
        self.sampler, self.sample_steps, self.eta, self.variance = sampler, sample_steps, eta, variance
        if sample_steps is not None and sample_steps < 1:
            raise ValueError(f"sample_steps must be at least 1, got {sample_steps}")
        self._samplers = {"ancestral": self._ancestral, "ddim": self._ddim}
        pick(self._samplers, sampler, "sampler")

    def eps_model(self, x_t: State, t: Tensor) -> State:
        """ε_θ(x_t, t), projected onto the modality's valid subspace."""
        return self.modality.project(self.network(x_t, t))

    def forward(self, batch: Any) -> tuple[Tensor, dict[str, float]]:
        x_0 = self.modality.encode(batch).to(module_device(self))
        t = self.process.sample_times(x_0.batch_size, device=x_0.device)  # (B,)
        eps = self.modality.noise(x_0)
        x_t = x_0.map(lambda v, e: self.process.path(v, e, t).x_t, eps)
        loss = per_dim_sq_error(self.eps_model(x_t, t), eps, self.modality).mean()
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
