"""x_0-prediction for DDPM, score SDE and NCSN: known answers.

For Gaussian-mixture data E[x_0 | x_t] is known in closed form; an x_0-"network" that returns it
must give each family's ε (DDPM) or score (score SDE, NCSN) equal to the closed-form ε and score
(:mod:`genlab.generative.processes.analytic`), and DDIM with it must recover the mixture. On QM9 graphs the
x_0 loss is the modality's class cross-entropy (known at uniform logits), each family trains a
step and samples, and every shipped QM9 config of a Gaussian-path family builds and samples.
"""

from __future__ import annotations

import math
from pathlib import Path

import pytest
import torch
from torch import nn

from genlab.config import load_config
from genlab.data.molecule_datasets import qm9
from genlab.errors import ConfigError
from genlab.generative.families.ddpm import DDPMFamily
from genlab.generative.families.ncsn import NCSNFamily
from genlab.trainable import FAMILIES
from genlab.generative.families.score_sde import ScoreSDEFamily
from genlab.modalities.base import State
from genlab.modalities.molecules import GraphBatch
from genlab.modalities.points import PointsModality
from genlab.networks.registry import NETWORKS
from genlab.generative.processes.analytic import GaussianMixture
from genlab.generative.processes.ddpm import DDPMProcess
from genlab.generative.processes.ncsn import NCSNProcess
from genlab.generative.processes.registry import PROCESSES
from genlab.generative.processes.sde import VESDE, VPSDE, SubVPSDE
from support import CONFIGS

torch.set_num_threads(1)
CONFIGS = CONFIGS / "qm9"
MIXTURE = GaussianMixture(
    weights=torch.tensor([0.4, 0.6]),
    means=torch.tensor([[-2.0, 0.5], [1.5, -1.0]]),
    covs=torch.tensor([[[0.3, 0.1], [0.1, 0.2]], [[0.2, 0.0], [0.0, 0.5]]]),
)
POINTS = PointsModality(dim=2)


class ExactDenoiser(nn.Module):
    """The Bayes-optimal x_0-predictor of the mixture under a Gaussian path: E[x_0 | x_t]
    (for points ``denoiser_mean`` is the identity, so this output *is* x̂_0)."""

    def __init__(self, process) -> None:
        super().__init__()
        self.process = process
        self.dummy = nn.Parameter(torch.zeros(()))  # gives the family a device

    def forward(self, x_t: State, t: torch.Tensor) -> State:
        m, s = self.process.marginal_coeffs(t)  # (B,), (B,)
        return x_t.with_parts({"x": MIXTURE.posterior_mean_at(x_t.parts["x"], m, s)})


def test_points_denoiser_mean_is_the_identity():
    x = State({"x": torch.randn(5, 2)})
    assert torch.equal(POINTS.denoiser_mean(x).parts["x"], x.parts["x"])


def _grid(n: int = 400, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, 2, generator=g, dtype=torch.float64) * 2  # (n, 2)
    t = torch.rand(n, generator=g, dtype=torch.float64) * 0.95 + 0.04  # (n,) away from s(t) = 0
    return x, t


@pytest.mark.parametrize("schedule", ["linear", "cosine"])
def test_ddpm_eps_from_exact_x0_is_the_exact_eps(schedule):
    process = DDPMProcess(schedule=schedule, n_steps=1000)
    family = DDPMFamily(POINTS, process, ExactDenoiser(process), prediction="x0")
    x, t = _grid()
    t = process.index(t).double() / process.n_steps  # on the step lattice, as the samplers call it
    eps = family.eps_model(State({"x": x}), t).parts["x"]  # (n, 2)
    # both sides read the same (float32) ᾱ, so they agree to double precision
    torch.testing.assert_close(eps, MIXTURE.eps(process, x, t), atol=1e-9, rtol=1e-9)


@pytest.mark.parametrize("sde", [VPSDE(), SubVPSDE(), VESDE(sigma_min=0.01, sigma_max=10.0)],
                         ids=["vp", "subvp", "ve"])
def test_score_sde_score_from_exact_x0_is_the_exact_score(sde):
    family = ScoreSDEFamily(POINTS, sde, ExactDenoiser(sde), prediction="x0")
    x, t = _grid()
    x = x * sde.prior_std / 2 if isinstance(sde, VESDE) else x  # points where p_t has mass
    score = family.score_model(State({"x": x}), t).parts["x"]
    torch.testing.assert_close(score, MIXTURE.score(sde, x, t), atol=1e-8, rtol=1e-8)
    # and the probability-flow velocity built on it is the exact one: f x - ½ g² ∇ log p_t
    v = family.ode_velocity(State({"x": x}), t).parts["x"]
    exact = sde.reverse_drift(x, t, MIXTURE.score(sde, x, t), probability_flow=True)
    torch.testing.assert_close(v, exact, atol=1e-8, rtol=1e-8)


def test_ncsn_score_from_exact_x0_is_the_exact_score():
    process = NCSNProcess(sigma_min=0.05, sigma_max=5.0, n_levels=10)
    family = NCSNFamily(POINTS, process, ExactDenoiser(process), prediction="x0")
    x, _ = _grid()
    t = process.level_times.double().repeat(40)  # (400,) every level
    score = family.score_model(State({"x": x}), t).parts["x"]
    sigma = process.sigma(t)[:, None]  # (n, 1)
    x0_hat = MIXTURE.posterior_mean_at(x, torch.ones_like(t), process.sigma(t))
    torch.testing.assert_close(score, -(x - x0_hat) / sigma**2, atol=1e-8, rtol=1e-8)  # eq. 5 at x̂_0
    torch.testing.assert_close(score, MIXTURE.score(process, x, t), atol=1e-8, rtol=1e-8)


def test_ddim_with_exact_x0_recovers_the_mixture():
    process = DDPMProcess(schedule="cosine", n_steps=1000)
    family = DDPMFamily(POINTS, process, ExactDenoiser(process), prediction="x0", sampler="ddim",
                        sample_steps=100)
    out = family.sample(3000, generator=torch.Generator().manual_seed(1))
    x = out.samples.double()
    left = x[x[:, 0] < -0.25]
    assert out.nfe == 100
    assert abs(len(left) / len(x) - 0.4) < 0.03
    torch.testing.assert_close(left.mean(0), MIXTURE.means[0], atol=0.06, rtol=0)


@pytest.mark.parametrize("cls", [DDPMFamily, ScoreSDEFamily, NCSNFamily])
def test_unknown_prediction_is_a_config_error(cls):
    process = {DDPMFamily: DDPMProcess(), ScoreSDEFamily: VPSDE(), NCSNFamily: NCSNProcess()}[cls]
    with pytest.raises(ConfigError, match="unknown prediction 'velocity'"):
        cls(POINTS, process, ExactDenoiser(process), prediction="velocity")
    with pytest.raises(ConfigError, match="unknown prediction"):
        FAMILIES.build({"name": {DDPMFamily: "ddpm", ScoreSDEFamily: "score_sde", NCSNFamily: "ncsn"}[cls],
                        "prediction": "epsilon"}, modality=POINTS, process=process, network=ExactDenoiser(process))


# --- molecular graphs -----------------------------------------------------------------------------

FAMILY_CASES = {  # family config, process config, sampling kwargs, expected NFE
    "ddpm": ({"name": "ddpm", "sampler": "ddim"}, {"name": "ddpm", "n_steps": 100}, {"steps": 3}, 3),
    "score_sde": ({"name": "score_sde", "sampler": "pc"}, {"name": "vp"}, {"steps": 2}, 4),
    "score_sde_ode": ({"name": "score_sde", "sampler": "ode", "ode_method": "euler"}, {"name": "ve"},
                      {"steps": 3}, 3),
    "ncsn": ({"name": "ncsn", "denoise": True}, {"name": "ncsn", "n_levels": 3}, {"steps": 2}, 7),
}


@pytest.fixture(scope="module")
def bundle():
    return qm9(limit=256, limit_heldout=64)


@pytest.fixture(scope="module")
def batch(bundle) -> GraphBatch:
    return bundle.collate([bundle.train[i] for i in range(32)])


class UniformLogits(nn.Module):
    """Zero logits for every class: the x_0 loss is log K per atom plus log C per pair."""

    def __init__(self) -> None:
        super().__init__()
        self.dummy = nn.Parameter(torch.zeros(()))

    def forward(self, x_t: State, t: torch.Tensor) -> State:
        return x_t.map(lambda v: torch.zeros_like(v) + 0 * self.dummy)


@pytest.mark.parametrize("case", list(FAMILY_CASES))
def test_x0_loss_on_graphs_is_the_weighted_class_cross_entropy(bundle, batch, case):
    family_cfg, process_cfg, _, _ = FAMILY_CASES[case]
    family = FAMILIES.build({**family_cfg, "prediction": "x0", "loss_weights": {"adj": 5.0}},
                            modality=bundle.modality, process=PROCESSES.build(process_cfg), network=UniformLogits())
    loss, _ = family(batch)
    modality = bundle.modality
    bonded = (batch.atoms > 0).sum(1) > 1  # graphs with at least one pair of atoms
    expected = math.log(modality.atom_types) + 5.0 * math.log(modality.edge_classes) * bonded.double().mean()
    assert abs(loss.item() - float(expected)) < 1e-5


@pytest.mark.parametrize("case", list(FAMILY_CASES))
def test_each_family_trains_a_step_with_x0_on_graphs_and_samples(bundle, batch, case):
    family_cfg, process_cfg, sample_kwargs, nfe = FAMILY_CASES[case]
    modality = bundle.modality
    torch.manual_seed(0)
    network = NETWORKS.build({"name": "graph_transformer", "hidden": 16, "edge_hidden": 8, "layers": 1, "heads": 2,
                              "reach_hops": 2}, shapes=modality.shapes())
    family = FAMILIES.build({**family_cfg, "prediction": "x0", "loss_weights": {"adj": 5.0}},
                            modality=modality, process=PROCESSES.build(process_cfg), network=network)
    optimizer = torch.optim.AdamW(family.parameters(), lr=1e-3)
    before = [p.detach().clone() for p in family.parameters()]
    loss, metrics = family(batch)
    assert loss.ndim == 0 and torch.isfinite(loss) and isinstance(metrics["loss"], float)
    loss.backward()
    assert all(torch.isfinite(p.grad).all() for p in family.parameters() if p.grad is not None)
    optimizer.step()
    assert any(not torch.equal(a, p) for a, p in zip(before, family.parameters()))
    out = family.sample(6, generator=torch.Generator().manual_seed(0), **sample_kwargs)
    assert out.nfe == nfe
    assert out.samples.atoms.shape == (6, 9) and out.samples.adj.shape == (6, 9, 9)
    assert torch.equal(out.samples.adj, out.samples.adj.transpose(1, 2))


QM9_STEP_CONFIGS = ["ddpm", "score_sde_vp", "score_sde_subvp", "score_sde_ve", "ncsn", "pfgm", "flow_matching",
                    "discrete_flow_matching", "demo"]


@pytest.mark.parametrize("name", QM9_STEP_CONFIGS)
def test_qm9_configs_build_train_a_step_and_sample_within_the_budget(bundle, batch, name):
    """Each shipped config builds as the trainer builds it (small network), gives a finite loss and
    samples with its own default sampler in at most ~100 network evaluations (the bench samples
    10,000 molecules on a CPU)."""
    cfg = load_config(CONFIGS / f"{name}.yaml")
    assert cfg["data"]["name"] == "qm9"
    modality = bundle.modality
    net_cfg = {**cfg["network"], "hidden": 16, "edge_hidden": 8, "layers": 1, "heads": 2}
    torch.manual_seed(0)
    family = FAMILIES.build(cfg["family"], modality=modality, process=PROCESSES.build(cfg["process"]),
                            network=NETWORKS.build(net_cfg, shapes=modality.shapes()))
    if name not in ("pfgm", "flow_matching", "discrete_flow_matching", "demo"):  # the Gaussian paths with x0
        assert family.prediction == "x0" and family.loss_weights == {"adj": 5.0}
    loss, _ = family(batch)
    assert torch.isfinite(loss)
    loss.backward()
    out = family.sample(4, generator=torch.Generator().manual_seed(0))
    assert 1 <= out.nfe <= 101
    assert out.samples.atoms.shape == (4, 9)
