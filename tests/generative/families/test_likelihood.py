"""Known answers for the ODE log-likelihood: under an exact model (the closed-form velocity or
score of Gaussian data) the change-of-variables integral reproduces the Gaussian's log density."""

from __future__ import annotations

import math

import pytest
import torch

from genlab.modalities.base import State
from genlab.modalities.images import ImagesModality
from genlab.modalities.points import PointsModality
from genlab.generative.processes.analytic import GaussianMixture
from genlab.generative.processes.flow_matching import FlowMatchingProcess
from genlab.generative.processes.sde import VPSDE
from genlab.generative.samplers.likelihood import gaussian_log_prob, ode_log_likelihood

torch.set_num_threads(1)


def standard_normal_log_prob(x: torch.Tensor) -> torch.Tensor:
    return -0.5 * (x**2).sum(1) - 0.5 * x.shape[1] * math.log(2 * math.pi)


def fm_velocity(mixture: GaussianMixture, process: FlowMatchingProcess):
    return lambda x, t: x.with_parts({"x": mixture.velocity(process, x.parts["x"], t).to(x.parts["x"].dtype)})


def standard_gaussian(dim: int) -> GaussianMixture:
    return GaussianMixture(torch.ones(1), torch.zeros(1, dim), torch.eye(dim)[None])


@pytest.mark.parametrize("method", ["dopri5", "rk4"])
def test_standard_gaussian_exact_divergence(method):
    """Flow matching's marginal path for N(0, I) data is N(0, ((1-t)² + t²) I); with its exact
    velocity, log p_0(x) must equal log N(x; 0, I) (D = 2: exact divergence)."""
    modality, process = PointsModality(2), FlowMatchingProcess()
    x = torch.randn(64, 2, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    res = ode_log_likelihood(fm_velocity(standard_gaussian(2), process), State({"x": x}), modality,
                             prior_log_prob=lambda s: gaussian_log_prob(s, 1.0, modality.dims(s)),
                             t_0=0.0, method=method, steps=50, rtol=1e-7, atol=1e-7)
    assert torch.allclose(res.log_prob, standard_normal_log_prob(x), atol=1e-4)
    assert torch.allclose(res.nll_nats, -standard_normal_log_prob(x), atol=1e-4)
    assert res.nfe > 0


def test_correlated_gaussian_through_the_vp_probability_flow():
    """VP PF-ODE with the exact score of N(μ, Σ): log p_{t_0}(x) equals the closed-form density of
    the perturbed Gaussian N(m μ, m² Σ + s² I) at t_0."""
    modality, sde = PointsModality(2), VPSDE()
    gauss = GaussianMixture(torch.ones(1), torch.tensor([[1.0, -0.5]]), torch.tensor([[[0.5, 0.2], [0.2, 0.3]]]))
    x = gauss.sample(32, torch.Generator().manual_seed(1))

    def velocity(state, t):
        v = state.parts["x"]
        return state.with_parts({"x": sde.reverse_drift(v, t, gauss.score(sde, v, t), probability_flow=True)})

    t_0 = 1e-3
    res = ode_log_likelihood(velocity, State({"x": x}), modality,
                             prior_log_prob=lambda s: gauss.log_prob(sde, s.parts["x"], torch.ones(s.batch_size)),
                             t_0=t_0, method="dopri5", rtol=1e-7, atol=1e-7)
    exact = gauss.log_prob(sde, x, torch.full((32,), t_0, dtype=torch.float64))
    assert torch.allclose(res.log_prob, exact, atol=1e-4)


def test_hutchinson_estimate_in_higher_dimension():
    """D = 6 > 4 switches to Hutchinson's estimator: unbiased, so the batch mean matches the
    closed form, and each sample is within a few tenths of a nat; forcing the exact divergence
    gives the closed form to solver precision."""
    D = 6
    modality, process = PointsModality(D), FlowMatchingProcess()
    x = torch.randn(400, D, generator=torch.Generator().manual_seed(2), dtype=torch.float64)
    exact = standard_normal_log_prob(x)
    kwargs = dict(prior_log_prob=lambda s: gaussian_log_prob(s, 1.0, modality.dims(s)), t_0=0.0,
                  method="rk4", steps=20)
    res = ode_log_likelihood(fm_velocity(standard_gaussian(D), process), State({"x": x}), modality,
                             generator=torch.Generator().manual_seed(3), **kwargs)
    assert abs(float(res.log_prob.mean() - exact.mean())) < 0.05
    assert float((res.log_prob - exact).abs().max()) < 1.0
    res_exact = ode_log_likelihood(fm_velocity(standard_gaussian(D), process), State({"x": x[:20]}), modality,
                                   exact_max_dims=D, **kwargs)
    assert torch.allclose(res_exact.log_prob, exact[:20], atol=1e-4)


def test_bits_per_dim_data_scaling_correction():
    """bpd = nll/(D ln 2) - log2(a): for a = 1/128 exactly 7 bits are added (score_sde's [-1, 1])."""
    modality = ImagesModality(channels=1, height=2, width=2, levels=256)
    x = torch.randn(8, 1, 2, 2, generator=torch.Generator().manual_seed(4), dtype=torch.float64)
    zero = lambda s, t: s.map(torch.zeros_like)  # identity flow: log p_0 = log p_1
    prior = lambda s: gaussian_log_prob(s, 1.0, modality.dims(s))
    base = ode_log_likelihood(zero, State({"x": x}), modality, prior, method="euler", steps=2, data_scale=1.0)
    scaled = ode_log_likelihood(zero, State({"x": x}), modality, prior, method="euler", steps=2,
                                data_scale=1 / 128)
    flat = x.flatten(1)
    assert torch.allclose(base.log_prob, standard_normal_log_prob(flat))
    assert torch.allclose(base.bits_per_dim, -standard_normal_log_prob(flat) / (4 * math.log(2)))
    assert torch.allclose(scaled.bits_per_dim - base.bits_per_dim, torch.full((8,), 7.0, dtype=torch.float64))
    assert math.isclose(modality.data_scale, 2 / 255)
