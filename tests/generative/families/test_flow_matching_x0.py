"""Flow matching with x_0-prediction: the velocity it derives from the exact posterior mean
E[x_0 | x_t] of a Gaussian mixture equals the mixture's exact marginal velocity, and sampling
with it recovers the mixture."""

import pytest
import torch
from torch import nn

from genlab.errors import ConfigError
from genlab.generative.families.flow_matching import FlowMatchingFamily
from genlab.modalities.base import State
from genlab.modalities.points import PointsModality
from genlab.generative.processes.analytic import GaussianMixture
from genlab.generative.processes.flow_matching import FlowMatchingProcess

torch.set_num_threads(1)
MIXTURE = GaussianMixture(
    weights=torch.tensor([0.5, 0.5]),
    means=torch.tensor([[-2.0, 0.0], [2.0, 1.0]]),
    covs=torch.tensor([[[0.3, 0.1], [0.1, 0.2]], [[0.2, 0.0], [0.0, 0.4]]]),
)


class ExactDenoiser(nn.Module):
    """The Bayes-optimal x_0-predictor of the mixture under a Gaussian path: E[x_0 | x_t]."""

    def __init__(self, process: FlowMatchingProcess) -> None:
        super().__init__()
        self.process = process
        self.dummy = nn.Parameter(torch.zeros(()))  # gives the family a device

    def forward(self, x_t: State, t: torch.Tensor) -> State:
        m, s = self.process.marginal_coeffs(t)
        return x_t.with_parts({"x": MIXTURE.posterior_mean_at(x_t.parts["x"], m, s).float()})


@pytest.mark.parametrize("sigma_min", [0.0, 0.05])
def test_velocity_from_exact_x0_equals_exact_velocity(sigma_min):
    process = FlowMatchingProcess(sigma_min=sigma_min)
    family = FlowMatchingFamily(PointsModality(dim=2), process, ExactDenoiser(process), prediction="x0")
    g = torch.Generator().manual_seed(0)
    x = torch.randn(500, 2, generator=g) * 2
    t = torch.rand(500, generator=g) * 0.98 + 0.01
    v = family.velocity_model(State({"x": x}), t).parts["x"]
    assert torch.allclose(v, MIXTURE.velocity(process, x, t).float(), atol=1e-4)


def test_sampling_with_exact_x0_recovers_the_mixture():
    process = FlowMatchingProcess()
    family = FlowMatchingFamily(PointsModality(dim=2), process, ExactDenoiser(process), prediction="x0",
                                ode_method="rk4", sample_steps=100)
    out = family.sample(4000, generator=torch.Generator().manual_seed(1))
    x = out.samples.double()
    left, right = x[x[:, 0] < 0], x[x[:, 0] >= 0]
    assert abs(len(left) / len(x) - 0.5) < 0.03
    assert torch.allclose(left.mean(0), MIXTURE.means[0].double(), atol=0.06)
    assert torch.allclose(torch.cov(right.T), MIXTURE.covs[1].double(), atol=0.05)
    assert out.nfe == 400  # rk4: four evaluations per step


def test_default_denoiser_loss_is_the_weighted_per_dimension_squared_error():
    modality = PointsModality(dim=2)
    x_0, out = State({"x": torch.ones(3, 2)}), State({"x": torch.zeros(3, 2)})
    # each sample: weight 2 x (1^2 + 1^2) / 2 dimensions = 2
    assert torch.allclose(modality.denoiser_loss(out, x_0, {"x": 2.0}), torch.full((3,), 2.0))
    assert torch.allclose(modality.denoiser_loss(out, x_0), torch.full((3,), 1.0))


def test_unknown_prediction_is_a_config_error():
    process = FlowMatchingProcess()
    with pytest.raises(ConfigError, match="unknown prediction 'eps'"):
        FlowMatchingFamily(PointsModality(dim=2), process, ExactDenoiser(process), prediction="eps")
