"""Normalizing flows with known answers: exact inverses, log-determinants equal to the brute-force
Jacobian, the ActNorm initialisation, and a continuous flow on a linear ODE dx/dt = A x whose
solution x(1) = e^A x(0) and density change −tr(A) are known in closed form."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from genlab.generative.families.ffjord import FFJORDFamily
from genlab.generative.families.realnvp import RealNVPFamily
from genlab.generative.flows import (ActNorm, AffineCoupling, LogitTransform, Permutation, Squeeze,
                          Unsqueeze, checkerboard_mask)
from genlab.modalities.base import State
from genlab.modalities.images import ImagesModality
from genlab.modalities.points import PointsModality
from genlab.networks.concatsquash import ConcatSquashMLP
from genlab.networks.coupling_flows import ConvConditioner, CouplingConvFlow, CouplingMLPFlow

torch.set_num_threads(1)


def randomize(module: nn.Module, seed: int = 0, scale: float = 0.3) -> nn.Module:
    """Overwrite every parameter (zero-initialised output layers included) with N(0, scale²) values,
    so that couplings are far from the identity; ActNorm is marked as initialised."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in module.parameters():
            p.copy_(scale * torch.randn(p.shape, generator=g, dtype=p.dtype))
    for m in module.modules():
        if isinstance(m, ActNorm):
            m.initialized.fill_(True)
    return module


def brute_force_log_det(fn, x: torch.Tensor) -> torch.Tensor:
    """log |det ∂f/∂x| per sample from the full Jacobian (autograd.functional.jacobian)."""
    out = []
    for i in range(x.shape[0]):
        xi = x[i : i + 1]
        jac = torch.autograd.functional.jacobian(lambda v: fn(v.reshape(xi.shape)).reshape(-1), xi.reshape(-1))
        out.append(torch.linalg.slogdet(jac)[1])
    return torch.stack(out)


def state_fn(flow, like: State):
    return lambda v: flow(like.unflatten(v.reshape(v.shape[0], -1)))[0].flatten()


POINT_FLOWS = {
    "coupling_mlp": lambda: CouplingMLPFlow({"x": (4,)}, n_couplings=4, hidden=16, depth=2, permute=True),
    "coupling_mlp_2d": lambda: CouplingMLPFlow({"x": (2,)}, n_couplings=3, hidden=8, depth=1),
}


@pytest.mark.parametrize("name", sorted(POINT_FLOWS))
def test_coupling_mlp_inverse_and_log_det(name):
    flow = randomize(POINT_FLOWS[name]().double())
    dim = flow.bijection.layers[0].bias.numel()
    x = State({"x": torch.randn(3, dim, dtype=torch.float64, generator=torch.Generator().manual_seed(1))})
    z, log_det = flow(x)
    assert torch.allclose(flow.inverse(z).parts["x"], x.parts["x"], atol=1e-5)
    expected = brute_force_log_det(state_fn(flow, x), x.parts["x"])
    assert torch.allclose(log_det, expected, atol=1e-8)


def test_coupling_conv_inverse_and_log_det():
    """Checkerboard, squeeze, channel-mask and unsqueeze layers on 1×4×4 images (D = 16)."""
    flow = randomize(CouplingConvFlow({"x": (1, 4, 4)}, n_couplings=2, hidden=4, depth=1).double(), scale=0.2)
    x = State({"x": torch.randn(2, 1, 4, 4, dtype=torch.float64, generator=torch.Generator().manual_seed(2))})
    z, log_det = flow(x)
    assert z.parts["x"].shape == x.parts["x"].shape
    assert torch.allclose(flow.inverse(z).parts["x"], x.parts["x"], atol=1e-5)
    expected = brute_force_log_det(lambda v: flow(State({"x": v}))[0].parts["x"], x.parts["x"])
    assert torch.allclose(log_det, expected, atol=1e-8)


def layer_cases():
    g = torch.Generator().manual_seed(3)
    mask = checkerboard_mask(2, 4, 4, parity=1)
    return {
        "affine_coupling": (AffineCoupling(mask, ConvConditioner(mask, hidden=4, depth=1)), torch.randn(2, 2, 4, 4, generator=g)),
        "actnorm": (ActNorm(2), torch.randn(2, 2, 4, 4, generator=g)),
        "permutation": (Permutation.random(5, seed=0), torch.randn(2, 5, generator=g)),
        "squeeze": (Squeeze(), torch.randn(2, 1, 4, 4, generator=g)),
        "unsqueeze": (Unsqueeze(), torch.randn(2, 4, 2, 2, generator=g)),
        "logit": (LogitTransform(0.05, low=-1.0, width=2.0), torch.rand(2, 6, generator=g) * 1.8 - 0.9),
    }


@pytest.mark.parametrize("name", sorted(layer_cases()))
def test_layer_inverse_and_log_det(name):
    layer, x = layer_cases()[name]
    layer = randomize(layer.double(), seed=4)
    x = x.double()
    y, log_det = layer(x)
    assert torch.allclose(layer.inverse(y), x, atol=1e-5)
    assert torch.allclose(log_det, brute_force_log_det(lambda v: layer(v)[0], x), atol=1e-8)


def test_squeeze_moves_each_2x2_patch_into_channels():
    x = torch.arange(16.0).reshape(1, 1, 4, 4)
    y, _ = Squeeze()(x)
    assert y.shape == (1, 4, 2, 2)
    assert y[0, :, 0, 0].tolist() == [0.0, 1.0, 4.0, 5.0]  # the top-left patch


def test_actnorm_data_dependent_initialisation_standardises_channels():
    norm = ActNorm(3).train()
    x = 5.0 + 2.0 * torch.randn(64, 3, 4, 4, generator=torch.Generator().manual_seed(5))
    y, log_det = norm(x)
    assert bool(norm.initialized)
    per_channel = y.transpose(0, 1).reshape(3, -1)
    assert torch.allclose(per_channel.mean(1), torch.zeros(3), atol=1e-5)
    assert torch.allclose(per_channel.std(1), torch.ones(3), atol=1e-4)
    assert torch.allclose(log_det, torch.full((64,), 16 * norm.log_scale.sum().item()))
    before = norm.bias.clone()
    norm(x + 1.0)  # the second batch does not re-initialise
    assert torch.equal(norm.bias, before)


def test_realnvp_digits_bits_per_dim_counts_logit_and_dequantisation_jacobians():
    """With an identity flow (zero-initialised couplings, ActNorm off), log p(x̃) is the prior at
    logit(x̃) plus the logit Jacobian; bits/dim subtract log2 of the bin width 1/8."""
    modality = ImagesModality(channels=1, height=4, width=4, levels=17)
    flow = CouplingConvFlow(modality.shapes(), n_couplings=1, hidden=4, depth=1, actnorm=False)
    family = RealNVPFamily(modality, flow, dequantize=True, logit_alpha=0.05)
    x = torch.randint(0, 17, (3, 1, 4, 4), generator=torch.Generator().manual_seed(6)).float() / 8 - 1
    g = torch.Generator().manual_seed(7)
    result = family.log_likelihood(x, generator=g)
    x_tilde = x + (torch.rand(x.shape, generator=torch.Generator().manual_seed(7)) - 0.5) / 8
    p = 0.05 + 0.9 * (x_tilde + 1 + 1 / 16) / (2 + 1 / 8)
    y = torch.log(p / (1 - p)).reshape(3, -1)
    log_jac = (math.log(0.9) - math.log(2 + 1 / 8) - torch.log(p * (1 - p))).reshape(3, -1).sum(1)
    log_prior = (-0.5 * y**2 - 0.5 * math.log(2 * math.pi)).sum(1)
    assert torch.allclose(result.log_prob, log_prior + log_jac, atol=1e-4)
    assert torch.allclose(result.bits_per_dim, -(log_prior + log_jac) / (16 * math.log(2)) + 3, atol=1e-5)


# --- continuous normalizing flow on a linear ODE ------------------------------------------------

A = torch.tensor([[-0.5, 1.0], [-0.3, 0.2]])  # tr(A) = -0.3; float32, as the points modality encodes


def linear_field() -> ConcatSquashMLP:
    """v(x, t) = A x exactly: one ConcatSquash layer with W = 2A, b = 0, gate σ(0) = ½, no t-bias."""
    net = ConcatSquashMLP({"x": (2,)}, depth=0)
    layer = net.layers[0]
    with torch.no_grad():
        layer.linear.weight.copy_(2 * A)
        layer.linear.bias.zero_()
        layer.gate.weight.zero_()
        layer.gate.bias.zero_()
        layer.bias.weight.zero_()
    return net


def closed_form_log_prob(x0: torch.Tensor) -> torch.Tensor:
    x1 = x0 @ torch.linalg.matrix_exp(A).T  # x(1) = e^A x(0)
    return (-0.5 * x1**2 - 0.5 * math.log(2 * math.pi)).sum(1) + torch.trace(A)  # + ∫ tr(A) dt


def ffjord(**keys) -> FFJORDFamily:
    settings = dict(rtol=1e-7, atol=1e-7, eval_rtol=1e-7, eval_atol=1e-7, exact_max_dims=4)
    settings.update(keys)
    return FFJORDFamily(PointsModality(2), linear_field(), **settings)


def test_cnf_log_density_of_a_linear_ode_matches_the_closed_form():
    x0 = torch.randn(5, 2, generator=torch.Generator().manual_seed(8))
    expected = closed_form_log_prob(x0)
    result = ffjord().log_likelihood(x0)  # evaluation: exact trace
    assert torch.allclose(result.log_prob, expected, atol=1e-4)
    for trace in ("exact", "hutchinson"):  # training loss −log p / D through odeint_adjoint
        loss, metrics = ffjord(trace=trace)(x0)
        if trace == "exact":
            assert abs(loss.item() + expected.mean().item() / 2) < 1e-4
        assert math.isfinite(metrics["nll"])


def test_hutchinson_divergence_is_unbiased_on_a_linear_field():
    """E[εᵀAε] = tr(A) for Rademacher ε: the average training NLL over many probes (one probe
    per sample, the same x repeated) approaches the closed form."""
    x0 = torch.tensor([[0.3, -0.7]]).expand(4000, 2).contiguous()
    torch.manual_seed(9)
    _, metrics = ffjord(trace="hutchinson", rtol=1e-6, atol=1e-4)(x0)
    # εᵀAε = tr(A) + (A_12 + A_21) ε_1 ε_2: mean of ±0.7 over 4000 draws has std 0.011
    assert abs(metrics["nll"] + closed_form_log_prob(x0[:1]).item()) < 0.05


def test_adjoint_gradients_equal_direct_backpropagation():
    x0 = torch.randn(6, 2, generator=torch.Generator().manual_seed(10))
    grads = []
    for adjoint in (True, False):
        family = ffjord(trace="exact", adjoint=adjoint, rtol=1e-7, atol=1e-7)
        loss, _ = family(x0)
        loss.backward()
        grads.append(family.network.layers[0].linear.weight.grad.clone())
    assert torch.allclose(grads[0], grads[1], atol=1e-4)


def test_cnf_samples_solve_the_ode_backwards():
    family = ffjord()
    result = family.sample(4, generator=torch.Generator().manual_seed(11))
    z = torch.randn(4, 2, generator=torch.Generator().manual_seed(11))
    expected = z @ torch.linalg.matrix_exp(-A).T  # x(0) = e^{-A} x(1)
    assert torch.allclose(result.samples, expected, atol=1e-4)
