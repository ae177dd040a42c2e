"""Self-conditioning (Chen, Zhang & Hinton 2023, §3.2) in flow matching with x_0-prediction: the
previous estimate reaches the network exactly as returned, an exact denoiser that ignores it still
recovers a Gaussian mixture, and the graph transformer stays permutation equivariant with it."""

import pytest
import torch
from torch import nn

from genlab.data.registry import DATASETS
from genlab.generative.families.flow_matching import FlowMatchingFamily
from genlab.modalities.base import State
from genlab.modalities.points import PointsModality
from genlab.networks.registry import NETWORKS
from genlab.generative.processes.analytic import GaussianMixture
from genlab.generative.processes.flow_matching import FlowMatchingProcess

torch.set_num_threads(1)
MIXTURE = GaussianMixture(
    weights=torch.tensor([0.3, 0.7]),
    means=torch.tensor([[-2.0, 1.0], [1.5, -0.5]]),
    covs=torch.tensor([[[0.2, 0.05], [0.05, 0.3]], [[0.25, 0.0], [0.0, 0.15]]]),
)


class RecordingExactDenoiser(nn.Module):
    """E[x_0 | x_t] of the mixture whatever ``cond`` is; records every ``cond`` and every output."""

    self_condition = True

    def __init__(self, process: FlowMatchingProcess) -> None:
        super().__init__()
        self.process = process
        self.dummy = nn.Parameter(torch.zeros(()))
        self.conds: list[State | None] = []
        self.outputs: list[State] = []

    def forward(self, x_t: State, t: torch.Tensor, cond: State | None = None) -> State:
        m, s = self.process.marginal_coeffs(t)
        out = x_t.with_parts({"x": MIXTURE.posterior_mean_at(x_t.parts["x"], m, s).float()})
        self.conds.append(cond)
        self.outputs.append(out)
        return out


def _family(**kw):
    process = FlowMatchingProcess()
    net = RecordingExactDenoiser(process)
    return FlowMatchingFamily(PointsModality(dim=2), process, net, prediction="x0", **kw), net


def test_sampling_feeds_each_step_the_previous_estimate_and_recovers_the_mixture():
    family, net = _family(ode_method="euler", sample_steps=200)
    out = family.sample(4000, generator=torch.Generator().manual_seed(0))
    assert out.nfe == 200 and net.conds[0] is None
    for k in range(1, len(net.conds)):
        assert net.conds[k] is not None and torch.equal(net.conds[k].parts["x"], net.outputs[k - 1].parts["x"])
    x = out.samples.double()
    right = x[x[:, 0] >= -0.25]
    assert abs(len(right) / len(x) - 0.7) < 0.03
    assert torch.allclose(right.mean(0), MIXTURE.means[1].double(), atol=0.06)
    assert torch.allclose(torch.cov(right.T), MIXTURE.covs[1].double(), atol=0.05)


def test_training_conditions_half_the_batches_on_their_own_first_estimate():
    family, net = _family()
    torch.manual_seed(0)
    batch = torch.randn(64, 2)
    with_cond = 0
    for _ in range(40):
        net.conds.clear(), net.outputs.clear()
        family(batch)
        if len(net.conds) == 2:  # a no-gradient first pass, then the conditioned one
            assert net.conds[0] is None and torch.equal(net.conds[1].parts["x"], net.outputs[0].parts["x"])
            with_cond += 1
        else:
            assert len(net.conds) == 1 and net.conds[0] is None
    assert 10 <= with_cond <= 30


def test_self_condition_needs_x0_prediction_and_refuses_a_likelihood():
    process = FlowMatchingProcess()
    with pytest.raises(ValueError, match="prediction: x0"):
        FlowMatchingFamily(PointsModality(dim=2), process, RecordingExactDenoiser(process), prediction="velocity")
    family, _ = _family()
    with pytest.raises(ValueError, match="likelihood"):
        family.log_likelihood(torch.randn(4, 2))


def test_graph_transformer_with_a_condition_is_equivariant_and_zeros_equal_none():
    bundle = DATASETS.build({"name": "qm9", "limit": 64, "limit_heldout": 8})
    modality = bundle.modality
    torch.manual_seed(0)
    net = NETWORKS.build({"name": "graph_transformer", "hidden": 32, "edge_hidden": 16, "layers": 2, "heads": 4,
                          "reach_hops": 2, "self_condition": True}, shapes=modality.shapes()).eval()
    x_0 = modality.encode(bundle.collate([bundle.train[i] for i in range(16)]))
    x_t = modality.project(x_0.map(lambda v, z: 0.6 * v + 0.4 * z, modality.noise(x_0)))
    cond = modality.project(x_0.map(lambda v, z: 0.9 * v + 0.1 * z, modality.noise(x_0)))
    t = torch.rand(16)
    perm = torch.randperm(9, generator=torch.Generator().manual_seed(1))

    def permuted(s: State) -> State:
        return State({"x": s.parts["x"][:, perm], "adj": s.parts["adj"][:, perm][:, :, perm]}, s.mask[:, perm])

    with torch.no_grad():
        out, out_p = net(x_t, t, cond), net(permuted(x_t), t, permuted(cond))
        zeros = x_t.map(torch.zeros_like)
        torch.testing.assert_close(net(x_t, t, None).parts["adj"], net(x_t, t, zeros).parts["adj"])
        assert not torch.allclose(out.parts["adj"], net(x_t, t, None).parts["adj"])  # the condition is read
    torch.testing.assert_close(out_p.parts["x"], out.parts["x"][:, perm], atol=1e-5, rtol=0)
    torch.testing.assert_close(out_p.parts["adj"], out.parts["adj"][:, perm][:, :, perm], atol=1e-5, rtol=0)
