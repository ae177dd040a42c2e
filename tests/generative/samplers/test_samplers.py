"""Each sampler, driven by the exact score / ε / velocity of a 2D Gaussian mixture instead of a
network, recovers the mixture's weights, means and covariances."""

from __future__ import annotations

import pytest
import torch

from genlab.modalities.base import State
from genlab.modalities.points import PointsModality
from genlab.generative.processes.analytic import GaussianMixture
from genlab.generative.processes.ddpm import DDPMProcess
from genlab.generative.processes.flow_matching import FlowMatchingProcess
from genlab.generative.processes.ncsn import NCSNProcess
from genlab.generative.processes.pfgm import PFGMProcess
from genlab.generative.processes.sde import VESDE, VPSDE, SubVPSDE
from genlab.generative.samplers.ddpm import ddim, ddpm_ancestral
from genlab.generative.samplers.langevin import annealed_langevin
from genlab.generative.samplers.ode import ode_sample
from genlab.generative.samplers.pc import pc_sample

torch.set_num_threads(1)  # the suite runs on shared CPUs; this module is small-tensor bound
N = 3000
MODALITY = PointsModality(dim=2)
MIXTURE = GaussianMixture(
    weights=torch.tensor([0.3, 0.3, 0.4]),
    means=torch.tensor([[-2.0, 0.0], [2.0, 0.0], [0.0, 2.5]]),
    covs=torch.tensor([[[0.30, 0.10], [0.10, 0.20]], [[0.10, 0.0], [0.0, 0.40]], [[0.25, -0.08], [-0.08, 0.15]]]),
)


def prior(std: float, seed: int = 0, n: int = N) -> tuple[State, torch.Generator]:
    g = torch.Generator().manual_seed(seed)
    x = MODALITY.noise(MODALITY.prior_template(n), g)
    return x.map(lambda v: std * v), g


def check_mixture(x: torch.Tensor, weight_tol: float = 0.04, mean_tol: float = 0.1, cov_tol: float = 0.08) -> None:
    """Assign each sample to its most likely component and compare moments with the truth."""
    assert torch.isfinite(x).all()
    x = x.double()
    comp, _ = MIXTURE._components(x, torch.ones(len(x)), torch.zeros(len(x)))
    k = comp.argmax(1)
    for j in range(3):
        xs = x[k == j]
        assert abs(len(xs) / len(x) - float(MIXTURE.weights[j])) < weight_tol, (j, len(xs) / len(x))
        assert torch.allclose(xs.mean(0), MIXTURE.means[j], atol=mean_tol), (j, xs.mean(0))
        assert torch.allclose(torch.cov(xs.T), MIXTURE.covs[j], atol=cov_tol), (j, torch.cov(xs.T))


def eps_fn(process):
    return lambda x, t: x.with_parts({"x": MIXTURE.eps(process, x.parts["x"], t).float()})


def score_fn(process):
    return lambda x, t: x.with_parts({"x": MIXTURE.score(process, x.parts["x"], t).float()})


def test_ddpm_ancestral_recovers_mixture():
    process = DDPMProcess(schedule="linear", n_steps=1000)
    x_1, g = prior(1.0)
    out = ddpm_ancestral(eps_fn(process), process, x_1, MODALITY, generator=g)
    assert out.nfe == 1000
    check_mixture(out.x.parts["x"])


def test_ddpm_ancestral_respaced_cosine():
    process = DDPMProcess(schedule="cosine", n_steps=1000)
    x_1, g = prior(1.0, seed=1)
    out = ddpm_ancestral(eps_fn(process), process, x_1, MODALITY, steps=250, variance="beta_tilde", generator=g)
    assert out.nfe == 250
    check_mixture(out.x.parts["x"])


def test_ddim_deterministic_recovers_mixture():
    process = DDPMProcess(schedule="linear", n_steps=1000)
    x_1, g = prior(1.0, seed=2)
    out = ddim(eps_fn(process), process, x_1, MODALITY, steps=100, eta=0.0)
    assert out.nfe == 100
    check_mixture(out.x.parts["x"])


def test_annealed_langevin_recovers_mixture():
    process = NCSNProcess(sigma_min=0.05, sigma_max=5.0, n_levels=10)
    x_1, g = prior(process.sigma_max, seed=3)
    out = annealed_langevin(score_fn(process), process.sigmas, process.level_times, x_1, MODALITY,
                            n_steps_each=60, step_lr=5e-3, denoise=True, generator=g)
    assert out.nfe == 10 * 60 + 1
    check_mixture(out.x.parts["x"])


@pytest.mark.parametrize("sde,predictor,corrector", [
    (VPSDE(), "reverse_diffusion", "langevin"),
    (VESDE(sigma_min=0.01, sigma_max=10.0), "reverse_diffusion", "langevin"),
    (SubVPSDE(), "euler_maruyama", "none"),
])
def test_pc_recovers_mixture(sde, predictor, corrector):
    x_1, g = prior(sde.prior_std, seed=4)
    out = pc_sample(score_fn(sde), sde, x_1, MODALITY, predictor=predictor, corrector=corrector,
                    steps=400, snr=0.16, generator=g)
    assert out.nfe == 400 * (1 + (corrector != "none"))
    check_mixture(out.x.parts["x"])


@pytest.mark.parametrize("method,steps,nfe", [("dopri5", None, None), ("rk4", 25, 100), ("euler", 400, 400)])
def test_probability_flow_ode_recovers_mixture(method, steps, nfe):
    sde = VPSDE()
    x_1, _ = prior(1.0, seed=5)
    velocity = lambda x, t: x.map(lambda v, s: sde.reverse_drift(v, t, s, probability_flow=True), score_fn(sde)(x, t))
    out = ode_sample(velocity, x_1, MODALITY, method=method, steps=steps or 1, t_end=1e-3, rtol=1e-4, atol=1e-4)
    if nfe is not None:
        assert out.nfe == nfe
    check_mixture(out.x.parts["x"])


@pytest.mark.parametrize("method,steps", [("dopri5", 1), ("euler", 100)])
def test_flow_matching_ode_recovers_mixture(method, steps):
    process = FlowMatchingProcess()
    x_1, _ = prior(1.0, seed=6)
    velocity = lambda x, t: x.with_parts({"x": MIXTURE.velocity(process, x.parts["x"], t).float()})
    out = ode_sample(velocity, x_1, MODALITY, method=method, steps=steps, rtol=1e-4, atol=1e-4)
    check_mixture(out.x.parts["x"])


def test_pfgm_backward_ode_with_the_exact_empirical_field_recovers_mixture():
    """With the exact Poisson field of a large sample of the mixture in place of a network, the
    backward ODE from the z = z_max plane lands on the sample's distribution (Xu et al. 2022, §3)."""
    process = PFGMProcess(z_min=1e-3, z_max=40.0, gamma=0.0)
    charges = MIXTURE.sample(1000, torch.Generator().manual_seed(7)).float()
    n = 1000
    g = torch.Generator().manual_seed(8)
    x_1 = MODALITY.noise(MODALITY.prior_template(n), g)
    n_z = torch.randn(n, generator=g)
    x_1 = x_1.map(lambda v: process.prior(v, n_z))
    dims = torch.full((n,), 2)

    def velocity(x, t):
        nu_x, nu_z = process.normalized_field(x.parts["x"], process.z_of(t), charges, dims)
        return x.with_parts({"x": process.velocity(nu_x, nu_z, t)})

    out = ode_sample(velocity, x_1, MODALITY, method="dopri5", rtol=1e-3, atol=1e-3)
    check_mixture(out.x.parts["x"], weight_tol=0.05, mean_tol=0.12, cov_tol=0.1)
