"""Score SDE (Song et al. 2021): continuous-time denoising score matching for the VP, sub-VP
and VE SDEs; predictor–corrector and probability-flow ODE sampling; ODE likelihoods.

``prediction`` chooses what the network outputs:

* ``score``: loss (eq. 7) E_t λ(t) E ½ ‖s_θ(x_t, t) - ∇ log p_0t(x_t | x_0)‖², t ~ U(t_eps, 1),
  with λ(t) = s(t)² (``weighting: sigma2``) or g(t)² (``g2``, the likelihood weighting of Song
  et al. 2021b). The network output is divided by the kernel std: s_θ = net/s(t) (as in the
  authors' code), so with ``sigma2`` the loss is ½ ‖net + z‖².
* ``x0``: an estimate of the clean data trained with the modality's ``denoiser_loss`` (squared
  error for continuous data, cross-entropy over atom and bond classes for molecular graphs),
  unweighted in t (``weighting`` is not used), and read as the score of the Gaussian kernel
  N(m(t) x_0, s(t)² I) (App. B) at x̂_0: s_θ = -(x_t - m x̂_0) / s²
  (:mod:`genlab.generative.families.x0_parameterisation`). Every sampler then runs unchanged.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor, nn

from genlab.generative.families.prior_sampling import per_dim_sq_error, sample_from_prior
from genlab.generative.families.base import Family, SampleResult, module_device, pick
from genlab.generative.families.x0_parameterisation import PredictionChoice
from genlab.modalities.base import Modality, State
from genlab.generative.processes.sde import SDE, SDE_WEIGHTINGS
from genlab.generative.processes.time import uniform_times
from genlab.generative.samplers.likelihood import LikelihoodResult, gaussian_log_prob, ode_log_likelihood
from genlab.generative.samplers.ode import check_ode_settings, ode_sample
from genlab.generative.samplers.pc import CORRECTORS, PREDICTORS, pc_sample
from genlab.utils.broadcast import expand_like
from genlab.utils import checks


class ScoreSDEFamily(PredictionChoice, Family):
    """``ScoreSDEFamily(modality, process, network, prediction, loss_weights, weighting, t_eps,
    sampler, predictor, corrector, snr, n_corrector_steps, sample_steps, sample_t_eps,
    ode_method, rtol, atol)``.

    ``prediction``: ``score`` | ``x0`` (see the module docstring; ``loss_weights`` weights the
    components of the x0 loss, e.g. ``{adj: 5.0}``). ``sampler``: ``pc`` (NFE = sample_steps ×
    (1 + n_corrector_steps) with a Langevin corrector) or ``ode`` (probability-flow ODE; NFE from
    the solver: ``steps`` × stages for euler/rk4, adaptive for dopri5).
    """

    def __init__(self, modality: Modality, process: SDE, network: nn.Module, prediction: str = "score",
                 loss_weights: dict[str, float] | None = None, weighting: str = "sigma2",
                 t_eps: float = 1e-5, sampler: str = "pc", predictor: str = "reverse_diffusion",
                 corrector: str = "langevin", snr: float = 0.16, n_corrector_steps: int = 1,
                 sample_steps: int = 500, sample_t_eps: float = 1e-3, ode_method: str = "dopri5",
                 rtol: float = 1e-5, atol: float = 1e-5) -> None:
        super().__init__(modality)
        for name, value in (("t_eps", t_eps), ("sample_t_eps", sample_t_eps), ("snr", snr)):
            checks.positive(name, value)
        checks.at_least("n_corrector_steps", n_corrector_steps, 0)
        self.process, self.network = process, network
        self._weight = SDE_WEIGHTINGS.get(weighting)
        PREDICTORS.get(predictor), CORRECTORS.get(corrector)  # fail early on a misspelt name
        self.t_eps, self.sampler, self.predictor, self.corrector = t_eps, sampler, predictor, corrector
        self.snr, self.n_corrector_steps, self.sample_steps = snr, n_corrector_steps, sample_steps
        self.sample_t_eps, self.ode_method, self.rtol, self.atol = sample_t_eps, ode_method, rtol, atol
        check_ode_settings(ode_method, sample_steps, rtol, atol)
        self._samplers = {"pc": self._pc, "ode": self._ode}
        pick(self._samplers, sampler, "sampler")
        self.choose_prediction(prediction, loss_weights, "score", (self._score_loss, self._score_output),
                               self._score_from_x0)

    # -- model functions -------------------------------------------------------------------
    def score_model(self, x_t: State, t: Tensor) -> State:
        """s_θ(x_t, t), whatever the network predicts."""
        return self._model(x_t, t)

    def _score_output(self, x_t: State, t: Tensor) -> State:
        """s_θ(x_t, t) = net(x_t, t) / s(t)."""
        _, s = self.process.marginal_coeffs(t)  # (B,)
        return self.modality.project(self.network(x_t, t)).map(lambda v: v / expand_like(s, v))

    def _score_from_x0(self, x_t: State, t: Tensor) -> State:
        """s_θ(x_t, t) = -(x_t - m(t) x̂_0) / s(t)²; t ≥ sample_t_eps > 0 when sampling."""
        return self.modality.project(self.x0_estimate(x_t, t).score())

    def ode_velocity(self, x_t: State, t: Tensor) -> State:
        """Probability-flow drift f(t) x - ½ g(t)² s_θ(x_t, t) (eq. 13)."""
        score = self.score_model(x_t, t)
        return x_t.map(lambda v, s: self.process.reverse_drift(v, t, s, probability_flow=True), score)

    # -- training --------------------------------------------------------------------------
    def forward(self, batch: Any) -> tuple[Tensor, dict[str, float]]:
        x_0 = self.modality.encode(batch).to(module_device(self))
        t = uniform_times(x_0.batch_size, self.t_eps, device=x_0.device)  # (B,)
        z = self.modality.noise(x_0)
        paths = {k: self.process.path(x_0.parts[k], z.parts[k], t) for k in x_0.parts}
        x_t = x_0.with_parts({k: p.x_t for k, p in paths.items()})
        target = x_0.with_parts({k: p.target for k, p in paths.items()})  # -z/s(t)
        loss = self._loss(x_t, t, x_0, target).mean()
        return loss, {"loss": loss.detach().item()}

    def _score_loss(self, x_t: State, t: Tensor, x_0: State, target: State) -> Tensor:
        lam = self._weight(self.process, t)  # (B,)
        return 0.5 * lam * per_dim_sq_error(self._score_output(x_t, t), target, self.modality)  # (B,)

    # -- sampling --------------------------------------------------------------------------
    def _pc(self, x_1: State, steps: int | None, generator: torch.Generator | None):
        return pc_sample(self.score_model, self.process, x_1, self.modality, predictor=self.predictor,
                         corrector=self.corrector, steps=steps or self.sample_steps, snr=self.snr,
                         n_corrector_steps=self.n_corrector_steps, t_eps=self.sample_t_eps,
                         generator=generator)

    def _ode(self, x_1: State, steps: int | None, generator: torch.Generator | None):
        return ode_sample(self.ode_velocity, x_1, self.modality, method=self.ode_method,
                          steps=steps or self.sample_steps, rtol=self.rtol, atol=self.atol,
                          t_end=self.sample_t_eps)

    @torch.no_grad()
    def sample(self, n: int, *, sampler: str | None = None, steps: int | None = None,
               generator: torch.Generator | None = None) -> SampleResult:
        return sample_from_prior(self, self._samplers, sampler or self.sampler, n, steps, generator)

    def log_likelihood(self, batch: Any, *, exact_max_dims: int = 4,
                       generator: torch.Generator | None = None) -> LikelihoodResult:
        """log p_0 of a data batch through the probability-flow ODE (Song et al. 2021, §4.3)."""
        x_0 = self.modality.encode(batch).to(module_device(self))
        std = self.process.prior_std
        return ode_log_likelihood(
            self.ode_velocity, x_0, self.modality,
            prior_log_prob=lambda x: gaussian_log_prob(x, std, self.modality.dims(x)),
            t_0=self.t_eps, method=self.ode_method, steps=self.sample_steps, rtol=self.rtol,
            atol=self.atol, exact_max_dims=exact_max_dims,
            data_scale=self.modality.data_scale, generator=generator)
