"""Discrete flow matching with known answers: the mixture path's marginals, the reverse step that
recovers a categorical distribution exactly from its true posterior, class draws that are
symmetric, masked and distributed as asked, training-set class marginals counted by hand, and the
family trained through the real trainer on QM9."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
import torch
import yaml

from genlab.api import load, train
from genlab.data.molecule_datasets import class_counts
from genlab.data.encoding import encode_smiles
from genlab.errors import ConfigError
from genlab.generative.families.discrete_flow_matching import DiscreteFlowMatchingFamily
from genlab.modalities.molecules import GraphBatch, MolecularGraphModality
from genlab.modalities.points import PointsModality
from genlab.networks.mlp import TimeMLP
from genlab.generative.processes.discrete_flow import DiscreteFlowProcess
from genlab.generative.processes.time import reverse_grid
from support import CONFIGS

torch.set_num_threads(1)
CONFIGS = CONFIGS / "qm9"

Q = torch.tensor([0.6, 0.3, 0.1])  # data distribution of one categorical variable
PI = torch.tensor([0.2, 0.5, 0.3])  # prior


def exact_posterior(x_t: torch.Tensor, kappa: torch.Tensor) -> torch.Tensor:
    """p(x_0 | x_t) ∝ q(x_0) [(1 - κ) δ(x_t = x_0) + κ π(x_t)], (R, C) for x_t (R,)."""
    like = kappa * PI[x_t][:, None] + (1 - kappa) * torch.nn.functional.one_hot(x_t, 3)  # (R, C): p(x_t | x_0)
    joint = Q[None] * like
    return joint / joint.sum(-1, keepdim=True)


@pytest.mark.parametrize("schedule", ["linear", "cosine"])
def test_corrupt_is_the_mixture_with_the_prior(schedule):
    process = DiscreteFlowProcess(schedule)
    p0 = torch.nn.functional.one_hot(torch.tensor([0, 2]), 3).float()  # (2, 3)
    t = torch.tensor([0.0, 1.0])
    assert torch.allclose(process.corrupt(p0, PI.expand(2, 3), t), torch.stack([p0[0], PI]))
    k = process.kappa(torch.tensor([0.3]))
    expected = (1 - k) * p0[:1] + k * PI
    assert torch.allclose(process.corrupt(p0[:1], PI[None], torch.tensor([0.3])), expected)
    if schedule == "linear":
        assert torch.allclose(k, torch.tensor([0.3]))


@pytest.mark.parametrize("schedule,steps", [("linear", 1), ("linear", 4), ("cosine", 3)])
def test_reverse_steps_with_the_true_posterior_recover_the_data_distribution(schedule, steps):
    """From prior draws, exact posteriors give the data marginal at every grid time (any step count)."""
    process, g, n = DiscreteFlowProcess(schedule), torch.Generator().manual_seed(0), 400_000
    x = torch.multinomial(PI, n, replacement=True, generator=g)  # (R,) x_1 ~ π
    grid = reverse_grid(steps)
    for t, s in zip(grid[:-1], grid[1:]):
        t_b, s_b = t.expand(n), s.expand(n)
        p_t = torch.nn.functional.one_hot(x, 3).float()
        p_s = process.reverse_step(p_t, exact_posterior(x, process.kappa(t)), t_b, s_b)  # (R, C)
        x = torch.multinomial(p_s, 1, generator=g).squeeze(1)
        k_s = process.kappa(s)
        marginal = (1 - k_s) * Q + k_s * PI  # p_s = (1 - κ_s) q + κ_s π
        freq = torch.bincount(x, minlength=3).float() / n
        assert torch.allclose(freq, marginal, atol=4e-3), (float(s), freq, marginal)
    assert torch.allclose(torch.bincount(x, minlength=3).float() / n, Q, atol=4e-3)


def modality(n_atoms: int = 4) -> MolecularGraphModality:
    vocab = {"atoms": [["C", 0], ["N", 0], ["O", 0]], "max_atoms": n_atoms}
    return MolecularGraphModality(vocab, atom_counts=[0, 0, 1, 1, 2][: n_atoms + 1],
                                  class_counts={"x": [2, 1, 1], "adj": [6, 2, 1, 1]})


def test_class_marginals_are_normalised_counts_and_default_to_uniform():
    m = modality()
    assert torch.allclose(m.class_marginals["x"], torch.tensor([0.5, 0.25, 0.25]))
    assert torch.allclose(m.class_marginals["adj"], torch.tensor([0.6, 0.2, 0.1, 0.1]))
    uniform = MolecularGraphModality({"atoms": [["C", 0], ["N", 0]], "max_atoms": 3}, atom_counts=[0, 1, 1, 1])
    assert torch.allclose(uniform.class_marginals["adj"], torch.full((4,), 0.25))
    assert MolecularGraphModality(**{k: v for k, v in m.config().items()}).config() == m.config()
    with pytest.raises(ValueError, match="class_counts"):
        MolecularGraphModality({"atoms": [["C", 0]], "max_atoms": 3}, [0, 1], class_counts={"x": [1, 2]})


def test_class_counts_of_a_known_set():
    """CCO (3 atoms: 2 single bonds, 1 non-bonded pair) and C#N (1 triple bond)."""
    graphs = encode_smiles(["CCO", "C#N"])
    counts = class_counts(graphs)
    c, n, o = (graphs.vocab.atoms.index((s, 0)) for s in ("C", "N", "O"))
    assert counts["x"][c] == 3 and counts["x"][n] == 1 and counts["x"][o] == 1
    assert counts["adj"] == [1, 2, 0, 1]  # no bond, single, double, triple over the 3 + 1 pairs


def test_one_hot_round_trip_and_class_draws():
    m = modality()
    atoms = torch.tensor([[1, 2, 3, 0], [3, 1, 0, 0]])
    adj = torch.zeros(2, 4, 4, dtype=torch.long)
    adj[0, 0, 1] = adj[0, 1, 0] = 2
    adj[1, 0, 1] = adj[1, 1, 0] = 1
    x0 = m.encode(GraphBatch(atoms, adj))
    probs = m.class_probs(x0)
    assert torch.equal(m.from_class_probs(probs).parts["adj"], x0.parts["adj"])
    assert torch.equal(m.from_class_probs(probs).parts["x"], x0.parts["x"])
    redrawn = m.decode(m.sample_classes(probs, torch.Generator().manual_seed(0)))  # one-hot: no randomness
    assert torch.equal(redrawn.atoms, atoms) and torch.equal(redrawn.adj, adj)
    # draws from the prior: symmetric, masked, and distributed as the marginals
    template = m.prior_template(20_000, generator=torch.Generator().manual_seed(1))
    draws = m.sample_classes(m.class_prior(template), torch.Generator().manual_seed(2))
    graphs = m.decode(draws)
    assert torch.equal(graphs.adj, graphs.adj.transpose(1, 2))
    assert (graphs.atoms[~template.mask] == 0).all() and (graphs.adj.diagonal(dim1=1, dim2=2) == 0).all()
    upper = torch.triu(torch.ones(4, 4, dtype=torch.bool), diagonal=1) & template.mask[:, :, None] & template.mask[:, None, :]
    freq_e = torch.bincount(graphs.adj[upper], minlength=4).float() / upper.sum()
    freq_x = torch.bincount(graphs.atoms[template.mask] - 1, minlength=3).float() / template.mask.sum()
    assert torch.allclose(freq_e, m.class_marginals["adj"], atol=0.01)
    assert torch.allclose(freq_x, m.class_marginals["x"], atol=0.01)


def test_a_modality_without_classes_is_a_config_error():
    with pytest.raises(ConfigError, match="categorical modality"):
        DiscreteFlowMatchingFamily(PointsModality(2), DiscreteFlowProcess(), TimeMLP({"x": (2,)}, hidden=8, depth=1))


def test_family_trains_through_the_trainer_and_samples_graphs(tmp_path):
    config = yaml.safe_load((CONFIGS / "discrete_flow_matching.yaml").read_text())
    config["data"].update(limit=64, limit_heldout=32)
    config["network"].update(hidden=16, edge_hidden=8, layers=1, heads=2)
    config["train"].update(max_steps=4, batch_size=16, checkpoint_every=4, log_every=1)
    train(config, out=tmp_path / "run", progress=False)
    run = load(tmp_path / "run")
    result = run.sample(12, seed=0, steps=5)
    assert result.nfe == 5 and result.extras["sampler"] == "euler"
    graphs = result.samples
    assert torch.equal(graphs.adj, graphs.adj.transpose(1, 2)) and (graphs.adj.diagonal(dim1=1, dim2=2) == 0).all()
    assert (graphs.adj[graphs.atoms == 0] == 0).all()
    again = load(tmp_path / "run").sample(12, seed=0, steps=5).samples
    assert torch.equal(graphs.atoms, again.atoms) and torch.equal(graphs.adj, again.adj)
    loss, _ = run.family(next(iter(torch.utils.data.DataLoader(run.bundle.train, batch_size=8,
                                                                collate_fn=run.bundle.collate))))
    assert math.isfinite(loss.item())


def test_power_grid_crowds_the_steps_near_the_data():
    assert torch.allclose(reverse_grid(4, power=2.0), torch.tensor([1.0, 0.5625, 0.25, 0.0625, 0.0]))
    assert torch.equal(reverse_grid(5), torch.linspace(1.0, 0.0, 6, dtype=torch.float64).float())
    with pytest.raises(ValueError, match="power"):
        reverse_grid(4, power=0.0)
