"""NCSN (Song & Ermon 2019): denoising score matching over a σ ladder, annealed Langevin sampling.

``prediction`` chooses what the network outputs:

* ``score``: loss (eq. 6) (1/L) Σ_i λ(σ_i) · ½ E ‖s_θ(x̃, σ_i) + (x̃ - x)/σ_i²‖² with λ(σ) = σ².
  The network output is divided by σ (s_θ = net/σ, Song & Ermon 2020, Technique 3), so the loss
  reads ½ E ‖net + z‖².
* ``x0``: an estimate of the clean data trained with the modality's ``denoiser_loss`` (squared
  error for continuous data, cross-entropy over atom and bond classes for molecular graphs),
  averaged over the levels without λ, and read as the score of q_σ(x̃ | x) = N(x, σ² I) at x̂:
  s_θ = -(x̃ - x̂)/σ² (eq. 5; :mod:`genlab.generative.families.x0_parameterisation`). The final ``denoise``
  step x + σ_L² s_θ(x, σ_L) then returns x̂ itself.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor, nn

from genlab.generative.families.prior_sampling import per_dim_sq_error, sample_from_prior
from genlab.generative.families.base import Family, SampleResult, module_device
from genlab.generative.families.x0_parameterisation import PredictionChoice
from genlab.modalities.base import Modality, State
from genlab.generative.processes.ncsn import NCSNProcess
from genlab.generative.samplers.langevin import annealed_langevin
from genlab.utils.broadcast import expand_like
from genlab.utils import checks


class NCSNFamily(PredictionChoice, Family):
    """``NCSNFamily(modality, process, network, prediction, loss_weights, n_steps_each, step_lr,
    denoise)``; NFE of a sample is L · n_steps_each (+1 with ``denoise``).

    ``prediction``: ``score`` | ``x0`` (see the module docstring; ``loss_weights`` weights the
    components of the x0 loss, e.g. ``{adj: 5.0}``).
    """

    def __init__(self, modality: Modality, process: NCSNProcess, network: nn.Module,
                 prediction: str = "score", loss_weights: dict[str, float] | None = None,
                 n_steps_each: int = 100, step_lr: float = 2e-5, denoise: bool = True) -> None:
        super().__init__(modality)
        checks.at_least("n_steps_each", n_steps_each, 1)
        checks.positive("step_lr", step_lr)
        self.process, self.network = process, network
        self.n_steps_each, self.step_lr, self.denoise = n_steps_each, step_lr, denoise
        self._samplers = {"annealed_langevin": self._langevin}
        self.choose_prediction(prediction, loss_weights, "score", (self._score_loss, self._score_output),
                               self._score_from_x0)

    def score_model(self, x_t: State, t: Tensor) -> State:
        """s_θ(x, σ(t)), whatever the network predicts."""
        return self._model(x_t, t)

    def _score_output(self, x_t: State, t: Tensor) -> State:
        """s_θ(x, σ(t)) = net(x, t) / σ(t)."""
        sigma = self.process.sigma(t)  # (B,)
        return self.modality.project(self.network(x_t, t)).map(lambda v: v / expand_like(sigma, v))

    def _score_from_x0(self, x_t: State, t: Tensor) -> State:
        """s_θ(x, σ(t)) = -(x - x̂_0) / σ(t)² (m = 1, s = σ)."""
        return self.modality.project(self.x0_estimate(x_t, t).score())

    def forward(self, batch: Any) -> tuple[Tensor, dict[str, float]]:
        x_0 = self.modality.encode(batch).to(module_device(self))
        t = self.process.sample_levels(x_0.batch_size, device=x_0.device)  # (B,)
        z = self.modality.noise(x_0)
        paths = {k: self.process.path(x_0.parts[k], z.parts[k], t) for k in x_0.parts}
        x_t = x_0.with_parts({k: p.x_t for k, p in paths.items()})
        target = x_0.with_parts({k: p.target for k, p in paths.items()})  # -z/σ
        loss = self._loss(x_t, t, x_0, target).mean()
        return loss, {"loss": loss.detach().item()}

    def _score_loss(self, x_t: State, t: Tensor, x_0: State, target: State) -> Tensor:
        lam = self.process.weight(t)  # λ(σ) = σ², (B,)
        return 0.5 * lam * per_dim_sq_error(self._score_output(x_t, t), target, self.modality)  # (B,)

    def _langevin(self, x_1: State, steps: int | None, generator: torch.Generator | None):
        return annealed_langevin(self.score_model, self.process.sigmas, self.process.level_times, x_1,
                                 self.modality, n_steps_each=steps or self.n_steps_each,
                                 step_lr=self.step_lr, denoise=self.denoise, generator=generator)

    @torch.no_grad()
    def sample(self, n: int, *, sampler: str | None = None, steps: int | None = None,
               generator: torch.Generator | None = None) -> SampleResult:
        """``steps`` overrides ``n_steps_each`` (Langevin steps per noise level)."""
        return sample_from_prior(self, self._samplers, sampler or "annealed_langevin", n, steps, generator)
