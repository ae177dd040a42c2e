"""Known answers for the processes: for Gaussian data N(μ, Σ) every training target's conditional
expectation given x_t is the closed-form marginal quantity (score, ε, velocity), checked by an
exact least-squares regression of the target on (x_t, 1) (the truth is affine in x_t); plus exact
identities of the schedules, the SDEs, the OT coupling and the PFGM field and prior."""

from __future__ import annotations

import math

import pytest
import torch

from genlab.generative.processes.analytic import GaussianMixture
from genlab.generative.processes.ddpm import DDPMProcess
from genlab.generative.processes.flow_matching import FlowMatchingProcess
from genlab.generative.processes.ncsn import NCSNProcess
from genlab.generative.processes.pfgm import PFGMProcess
from genlab.generative.processes.registry import PROCESSES
from genlab.generative.processes.sde import VESDE, VPSDE, SubVPSDE
from genlab.errors import ConfigError

torch.set_num_threads(1)
MU = torch.tensor([1.0, -0.5], dtype=torch.float64)
SIGMA = torch.tensor([[0.5, 0.2], [0.2, 0.3]], dtype=torch.float64)
GAUSS = GaussianMixture(torch.ones(1), MU[None], SIGMA[None])
N = 200_000


def regress(x_t: torch.Tensor, target: torch.Tensor, x_eval: torch.Tensor) -> torch.Tensor:
    """Least-squares affine fit of target on x_t, evaluated at x_eval."""
    design = torch.cat([x_t, torch.ones(len(x_t), 1, dtype=x_t.dtype)], 1)  # (n, 3)
    coef = torch.linalg.lstsq(design, target).solution  # (3, 2)
    return torch.cat([x_eval, torch.ones(len(x_eval), 1, dtype=x_eval.dtype)], 1) @ coef


def draw(seed: int = 0):
    g = torch.Generator().manual_seed(seed)
    x_0 = GAUSS.sample(N, g)
    z = torch.randn(N, 2, generator=g, dtype=torch.float64)
    return x_0, z


GAUSSIAN_PATHS = [
    DDPMProcess("linear"), DDPMProcess("cosine"), NCSNProcess(0.01, 5.0, 10),
    VPSDE(), SubVPSDE(), VESDE(0.01, 10.0), FlowMatchingProcess(sigma_min=0.0),
    FlowMatchingProcess(sigma_min=0.1),
]


@pytest.mark.parametrize("process", GAUSSIAN_PATHS, ids=lambda p: type(p).__name__)
@pytest.mark.parametrize("t_value", [0.3, 0.6, 0.95])
def test_denoising_target_matches_marginal_score(process, t_value):
    """E[∇ log q(x_t | x_0) | x_t] = ∇ log p_t(x_t) with p_t = N(mμ, m²Σ + s²I) (Vincent 2011).

    The target -z/s has noise of size 1/s, so the fit's standard error is ≈ sqrt(3/N)/s; the
    tolerance is 2% of the score plus four standard errors."""
    x_0, z = draw(1)
    t = torch.full((N,), t_value, dtype=torch.float64)
    x_t = process.perturb(x_0, z, t)
    target = process.conditional_score(z, t)
    x_eval = x_t[:50]
    fitted = regress(x_t, target, x_eval)
    exact = GAUSS.score(process, x_eval, t[:50])
    s = float(process.marginal_coeffs(t[:1])[1])
    assert (fitted - exact).abs().max() < 0.02 * exact.abs().mean() + 4 * math.sqrt(3 / N) / s


@pytest.mark.parametrize("schedule", ["linear", "cosine"])
def test_ddpm_eps_target(schedule):
    process = DDPMProcess(schedule)
    x_0, eps = draw(2)
    t = torch.full((N,), 0.3, dtype=torch.float64)
    path = process.path(x_0, eps, t)
    assert torch.equal(path.target, eps)
    # score of q(x_t | x_0) by autograd equals -ε / sqrt(1 - ᾱ)
    m, s = process.marginal_coeffs(t[:10])
    x_t = path.x_t[:10].clone().requires_grad_(True)
    log_q = (-0.5 * ((x_t - m[:, None] * x_0[:10]) ** 2).sum(1) / s**2).sum()
    (grad,) = torch.autograd.grad(log_q, x_t)
    assert torch.allclose(grad, process.score_from_eps(eps[:10], t[:10]), atol=1e-5)
    # E[ε | x_t] = -sqrt(1 - ᾱ) ∇ log p_t(x_t)
    fitted = regress(path.x_t, eps, path.x_t[:50])
    exact = GAUSS.eps(process, path.x_t[:50], t[:50])
    assert (fitted - exact).abs().max() < 0.02


@pytest.mark.parametrize("sigma_min", [0.0, 0.05])
@pytest.mark.parametrize("t_value", [0.1, 0.5, 0.9])
def test_flow_matching_target_matches_marginal_velocity(sigma_min, t_value):
    """E[u_t(x_t | x_0, x_1) | x_t] = u_t(x_t), the marginal velocity (Lipman et al. 2023, eq. 8)."""
    process = FlowMatchingProcess(sigma_min=sigma_min)
    x_0, x_1 = draw(3)
    t = torch.full((N,), t_value, dtype=torch.float64)
    path = process.path(x_0, x_1, t)
    fitted = regress(path.x_t, path.target, path.x_t[:50])
    exact = GAUSS.velocity(process, path.x_t[:50], t[:50])
    assert (fitted - exact).abs().max() < 0.02


def test_ddpm_schedules_and_time_lattice():
    lin = DDPMProcess("linear", n_steps=1000, beta_min=1e-4, beta_max=0.02)
    i = torch.tensor([0, 1, 500, 1000])
    t = i.double() / 1000
    assert torch.equal(lin.index(t), i)
    ab = lin.alpha_bar(t)
    assert ab[0] == 1.0
    assert math.isclose(float(ab[1]), 1 - 1e-4, rel_tol=1e-6)
    betas = torch.linspace(1e-4, 0.02, 1000, dtype=torch.float64)
    assert math.isclose(float(ab[3]), float(torch.prod(1 - betas)), rel_tol=1e-5)
    cos = DDPMProcess("cosine", n_steps=1000, cosine_s=0.008)
    f = lambda u: math.cos((u + 0.008) / 1.008 * math.pi / 2) ** 2
    assert math.isclose(float(cos.alpha_bar(torch.tensor([0.25]))), f(0.25) / f(0), rel_tol=1e-4)
    assert float(cos.alpha_bar(torch.tensor([1.0]))) < 1e-6
    times = lin.times(4)
    assert torch.allclose(times, torch.tensor([1.0, 0.75, 0.5, 0.25, 0.0]))


def test_ncsn_ladder_is_geometric_and_on_the_time_grid():
    p = NCSNProcess(sigma_min=0.01, sigma_max=1.0, n_levels=10)
    sig = p.sigmas
    assert math.isclose(float(sig[0]), 1.0, rel_tol=1e-6) and math.isclose(float(sig[-1]), 0.01, rel_tol=1e-5)
    ratios = sig[:-1] / sig[1:]
    assert torch.allclose(ratios, ratios[0].expand(9), rtol=1e-5)
    assert torch.allclose(p.sigma(p.level_times), sig, rtol=1e-5)
    assert torch.allclose(p.weight(p.level_times), sig**2, rtol=1e-5)
    t = p.sample_levels(1000, generator=torch.Generator().manual_seed(0))
    assert set((t * 10).round().long().tolist()) == set(range(1, 11))


@pytest.mark.parametrize("sde", [VPSDE(), SubVPSDE(), VESDE(0.01, 50.0)], ids=lambda s: type(s).__name__)
def test_sde_kernels_solve_the_moment_equations(sde):
    """dm/dt = f m and d s²/dt = 2 f s² + g² (Särkkä & Solin eq. 5.51) for the kernel x_t = m x_0 + s z;
    VE's kernel s = σ(t) includes the σ_min² offset, which the derivative does not see."""
    t = torch.linspace(0.05, 0.95, 19, dtype=torch.float64)
    h = 1e-5
    m_p, s_p = sde.marginal_coeffs(t + h)
    m_m, s_m = sde.marginal_coeffs(t - h)
    m, s = sde.marginal_coeffs(t)
    f, g = sde.drift_coeff(t), sde.diffusion(t)
    assert torch.allclose((m_p - m_m) / (2 * h), f * m, rtol=1e-5, atol=1e-8)
    assert torch.allclose((s_p**2 - s_m**2) / (2 * h), 2 * f * s**2 + g**2, rtol=1e-4, atol=1e-6)


def test_reverse_drift_formulas():
    sde = VPSDE()
    x, score, t = torch.randn(4, 3), torch.randn(4, 3), torch.full((4,), 0.4)
    f, g2 = sde.drift(x, t), (sde.diffusion(t) ** 2)[:, None]
    assert torch.allclose(sde.reverse_drift(x, t, score), f - g2 * score)
    assert torch.allclose(sde.reverse_drift(x, t, score, probability_flow=True), f - 0.5 * g2 * score)
    # the same process code works for image-shaped tensors (no rank assumptions)
    xi = torch.randn(4, 1, 8, 8)
    assert sde.reverse_drift(xi, t, xi).shape == xi.shape
    assert sde.perturb(xi, xi, t).shape == xi.shape


def test_ot_coupling_recovers_a_permutation_and_lowers_cost():
    g = torch.Generator().manual_seed(0)
    x_0 = torch.randn(64, 3, generator=g)
    perm = torch.randperm(64, generator=g)
    x_1 = x_0[perm]
    p = FlowMatchingProcess(coupling="ot")
    assert torch.equal(x_1[p.couple(x_0, x_1)], x_0)
    noise = torch.randn(64, 3, generator=g)
    ot_cost = ((x_0 - noise[p.couple(x_0, noise)]) ** 2).sum()
    assert ot_cost <= ((x_0 - noise) ** 2).sum()
    ind = FlowMatchingProcess(coupling="independent")
    assert torch.equal(ind.couple(x_0, noise), torch.arange(64))


def test_pfgm_field_of_a_point_mass_is_radial():
    """One charge at y: E ∝ (x̃ - ỹ)/‖x̃ - ỹ‖^{N+1}, so ν = -sqrt(N) r̂ · r/(r + γ)."""
    N_dim, gamma = 3, 0.5
    p = PFGMProcess(gamma=gamma)
    y = torch.tensor([[0.3, -1.0, 2.0]]).expand(16, 3)  # the same charge 16 times
    g = torch.Generator().manual_seed(0)
    x, z = torch.randn(8, 3, generator=g) * 2, torch.rand(8, generator=g) + 0.1
    nu_x, nu_z = p.normalized_field(x, z, y, torch.full((8,), N_dim))
    d = torch.cat([x - y[:8], z[:, None]], 1)  # (8, 4)
    r = d.norm(dim=1, keepdim=True)
    expected = -math.sqrt(N_dim) * d / r * (r / (r + gamma))
    assert torch.allclose(torch.cat([nu_x, nu_z[:, None]], 1), expected, atol=1e-5)


def test_pfgm_field_far_from_a_large_batch_points_to_the_centre():
    """Far away (r ≫ data spread) the field of any charge distribution is that of a point charge
    at the data mean (multipole expansion): the direction is -x̃/‖x̃‖ up to O(spread/r)."""
    p = PFGMProcess(gamma=0.0)
    g = torch.Generator().manual_seed(1)
    y = torch.randn(4096, 2, generator=g) * 0.5
    x = torch.randn(32, 2, generator=g)
    x = 60 * x / x.norm(dim=1, keepdim=True)
    z = torch.rand(32, generator=g) * 40 + 1
    nu_x, nu_z = p.normalized_field(x, z, y, torch.full((32,), 2))
    nu = torch.cat([nu_x, nu_z[:, None]], 1)
    radial = -torch.cat([x - y.mean(0), z[:, None]], 1)
    cos = (nu * radial).sum(1) / (nu.norm(dim=1) * radial.norm(dim=1))
    assert cos.min() > 0.9995
    assert torch.allclose(nu.norm(dim=1), torch.full((32,), math.sqrt(2.0)), rtol=1e-5)


def test_pfgm_prior_has_the_induced_radial_law():
    """On z = z_max the prior has density ∝ (‖x‖² + z²)^{-(N+1)/2}; for N = 2 its radial CDF is
    1 - z/sqrt(R² + z²)."""
    p = PFGMProcess(z_max=10.0)
    g = torch.Generator().manual_seed(0)
    x = p.prior(torch.randn(200_000, 2, generator=g, dtype=torch.float64),
                torch.randn(200_000, generator=g, dtype=torch.float64))
    r = x.norm(dim=1)
    for R in [2.0, 10.0, 40.0]:
        assert abs(float((r <= R).double().mean()) - (1 - 10.0 / math.sqrt(R**2 + 100.0))) < 0.004


def test_pfgm_perturbation_radius_and_time_map():
    p = PFGMProcess(sigma=0.1, tau=0.03, m_max=100.0, z_min=1e-3, z_max=40.0)
    g = torch.Generator().manual_seed(0)
    y = torch.randn(64, 1, 4, 4, generator=g)
    eps_x, u_x = torch.randn(64, 1, 4, 4, generator=g), torch.randn(64, 1, 4, 4, generator=g)
    eps_z, u_z, m = torch.randn(64, generator=g), torch.randn(64, generator=g), torch.rand(64, generator=g) * 100
    x, z = p.perturb(y, eps_x, eps_z, u_x, u_z, m)
    assert x.shape == y.shape and (z > 0).all()
    radius = torch.cat([(x - y).flatten(1), z[:, None]], 1).norm(dim=1)
    eps_norm = 0.1 * torch.cat([eps_x.flatten(1), eps_z[:, None]], 1).norm(dim=1)
    assert torch.allclose(radius, eps_norm * 1.03**m, rtol=1e-4)
    t = torch.tensor([0.0, 0.5, 1.0])
    assert torch.allclose(p.z_of(t), torch.tensor([1e-3, math.sqrt(1e-3 * 40), 40.0]), rtol=1e-5)
    assert torch.allclose(p.t_of(p.z_of(t)), t, atol=1e-6)


def test_process_registry_builds_every_process_and_rejects_unknown_keys():
    for name in PROCESSES.names():
        assert PROCESSES.build({"name": name}) is not None
    with pytest.raises(ConfigError):
        PROCESSES.build({"name": "vp", "beta_mn": 0.1})
    with pytest.raises(ConfigError):
        PROCESSES.build({"name": "ddpm", "schedule": "quadratic"})
    with pytest.raises(ConfigError):
        PROCESSES.build({"name": "flow_matching", "coupling": "sinkhorn"})
