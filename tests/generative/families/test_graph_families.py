"""One-shot graph families with known answers: GraphNVP's dequantise -> flow -> inverse -> quantise
round trip on real QM9 batches, every graph coupling's inverse and its log-determinant against the
brute-force Jacobian, the categorical graph likelihood at uniform logits, MPGVAE's permutation
invariance (encoder) and equivariance (message passing), and each family trained a few steps
through the real trainer, reloaded and sampled."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
import torch
import yaml
from torch.utils.data import DataLoader

from genlab.api import load, train, write_samples
from genlab.data.molecule_datasets import qm9
from genlab.generative.families.observation import CategoricalSlots
from genlab.generative.families.realnvp import RealNVPFamily
from genlab.generative.flows import AffineCoupling
from genlab.generative.flows.graph_coupling import ConditionalAffineCoupling, adjacency_row_mask, node_row_mask
from genlab.modalities.base import State
from genlab.modalities.molecules import GraphBatch, pair_mask
from genlab.networks.graph_flows import AdjacencyConditioner, GraphNVPFlow, NodeConditioner
from genlab.networks.mpnn import AttentionMessagePassing, MPNNEncoder
from genlab.networks.rgcn import RGCNCritic
from support import CONFIGS

torch.set_num_threads(1)
CONFIGS = CONFIGS / "qm9"


@pytest.fixture(scope="module")
def bundle():
    return qm9(limit=256, limit_heldout=64)


def real_batch(bundle, size: int = 64) -> GraphBatch:
    loader = DataLoader(bundle.train, batch_size=size, collate_fn=bundle.collate)
    return next(iter(loader))


def perturb(module: torch.nn.Module, std: float = 0.1, seed: int = 0) -> None:
    """Move every parameter off its initialisation (couplings start as the identity)."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in module.parameters():
            p.add_(std * torch.randn(p.shape, generator=g, dtype=p.dtype))


# --- GraphNVP -------------------------------------------------------------------------------------

def test_graphnvp_round_trip_returns_the_qm9_graphs_exactly(bundle):
    torch.manual_seed(0)
    flow = GraphNVPFlow(bundle.modality.view_shapes("slots"), adj_couplings=9, node_couplings=9, adj_hidden=64,
                        rgcn_hidden=(32, 16), node_mlp_hidden=32)
    perturb(flow)
    family = RealNVPFamily(bundle.modality, flow, categorical=True, dequant_scale=0.9)
    batch = real_batch(bundle)
    g = family._data(batch)
    z, log_det = family.flow(g)
    assert (z.parts["x"] - g.parts["x"]).abs().max() > 0.1  # the flow is not the identity
    back = family.flow.inverse(z)
    for k in ("x", "adj"):
        torch.testing.assert_close(back.parts[k], g.parts[k], atol=1e-4, rtol=0)
    graphs = bundle.modality.decode_slots(back)
    assert torch.equal(graphs.atoms, batch.atoms) and torch.equal(graphs.adj, batch.adj)
    assert torch.isfinite(log_det).all()


def _brute_force_log_det(fn, x: torch.Tensor) -> torch.Tensor:
    """log |det ∂fn/∂x| for one sample x (*shape), from the full Jacobian."""
    jac = torch.autograd.functional.jacobian(lambda v: fn(v.view(1, *x.shape)).reshape(-1), x.reshape(-1))
    return torch.linalg.slogdet(jac)[1]


def test_adjacency_coupling_inverse_and_log_det_match_brute_force():
    torch.manual_seed(1)
    n, c = 3, 2
    layer = AffineCoupling(adjacency_row_mask(n, c, 1), AdjacencyConditioner(n, c, hidden=16, depth=2)).double()
    perturb(layer, 0.5)
    a = torch.rand(4, n, n, c, dtype=torch.float64)
    y, log_det = layer(a)
    torch.testing.assert_close(layer.inverse(y), a, atol=1e-5, rtol=0)
    assert not torch.allclose(y[:, 1], a[:, 1]) and torch.equal(y[:, 0], a[:, 0])  # only row 1 moves
    for b in range(4):
        torch.testing.assert_close(log_det[b], _brute_force_log_det(lambda v: layer(v)[0], a[b]), atol=1e-8, rtol=0)


def test_node_coupling_inverse_and_log_det_match_brute_force():
    torch.manual_seed(2)
    n, k, c = 3, 3, 4
    layer = ConditionalAffineCoupling(node_row_mask(n, k, 2), NodeConditioner(k, c, hidden=(8, 8), mlp_hidden=8)).double()
    perturb(layer, 0.5)
    x = torch.rand(4, n, k, dtype=torch.float64)
    adj = torch.nn.functional.one_hot(torch.randint(0, c, (4, n, n)), c).double()
    adj = 0.5 * (adj + adj.transpose(1, 2))
    y, log_det = layer(x, adj)
    torch.testing.assert_close(layer.inverse(y, adj), x, atol=1e-5, rtol=0)
    for b in range(4):
        fn = lambda v: layer(v, adj[b : b + 1])[0]  # noqa: E731
        torch.testing.assert_close(log_det[b], _brute_force_log_det(fn, x[b]), atol=1e-8, rtol=0)


def test_whole_graphnvp_flow_log_det_matches_brute_force():
    """The node couplings read the quantised adjacency Â, piecewise constant in A, so the flow's
    Jacobian is block triangular and its log-determinant is the sum the flow reports."""
    torch.manual_seed(3)
    shapes = {"x": (3, 3), "adj": (3, 3, 2)}  # slot view: N = 3 slots over K + 1 = 3 classes
    flow = GraphNVPFlow(shapes, adj_couplings=3, node_couplings=3, adj_hidden=16, rgcn_hidden=(8,), node_mlp_hidden=8).double()
    perturb(flow, 0.3)
    x = torch.nn.functional.one_hot(torch.tensor([[1, 2, 0]]), 3).double() + 0.9 * torch.rand(1, 3, 3, dtype=torch.float64)
    a = torch.nn.functional.one_hot(torch.tensor([[[0, 1, 0], [1, 0, 0], [0, 0, 0]]]), 2).double()
    a = a + 0.9 * torch.rand(1, 3, 3, 2, dtype=torch.float64)
    g = State({"x": x, "adj": a})
    _, log_det = flow(g)

    def fn(v: torch.Tensor) -> torch.Tensor:
        return flow(g.unflatten(v))[0].flatten()

    jac = torch.autograd.functional.jacobian(fn, g.flatten())[0, :, 0, :]  # (D, D)
    torch.testing.assert_close(log_det[0], torch.linalg.slogdet(jac)[1], atol=1e-8, rtol=0)


# --- categorical graphs ---------------------------------------------------------------------------

def test_one_hot_slots_decode_back_and_uniform_logits_give_the_counting_nll(bundle):
    batch = real_batch(bundle, 16)
    slots = bundle.modality.one_hot_slots(batch)
    x, a = slots.parts["x"], slots.parts["adj"]
    back = bundle.modality.decode_slots(slots)
    assert torch.equal(back.atoms, batch.atoms) and torch.equal(back.adj, batch.adj)
    n, k1, c = x.shape[1], x.shape[2], a.shape[3]
    assert k1 == bundle.modality.atom_types + 1  # "no atom" is a class of the slot view
    node, edge = CategoricalSlots(bundle.modality).nll(slots.map(torch.zeros_like), slots)
    torch.testing.assert_close(node, torch.full((16,), n * math.log(k1)))
    torch.testing.assert_close(edge, torch.full((16,), n * (n - 1) / 2 * math.log(c)))


# --- MPGVAE and MolGAN networks: permutations ----------------------------------------------------

def _permuted(g: State, perm: torch.Tensor) -> State:
    return State({"x": g.parts["x"][:, perm], "adj": g.parts["adj"][:, perm][:, :, perm]}, g.mask[:, perm])


def test_mpnn_encoder_is_permutation_invariant_and_message_passing_equivariant(bundle):
    torch.manual_seed(4)
    g = bundle.modality.encode(real_batch(bundle, 16))
    perm = torch.randperm(g.parts["x"].shape[1])
    encoder = MPNNEncoder(bundle.modality.shapes(), hidden=32, edge_hidden=8, steps=2)
    torch.testing.assert_close(encoder(_permuted(g, perm)), encoder(g), atol=1e-5, rtol=0)
    torch.testing.assert_close(encoder.node_states(_permuted(g, perm)), encoder.node_states(g)[:, perm], atol=1e-5, rtol=0)
    step = AttentionMessagePassing(32, 8)
    h, e = torch.randn(16, 9, 32), torch.randn(16, 9, 9, 8)
    pairs = pair_mask(g.mask)
    out = step(h, e, pairs)
    out_perm = step(h[:, perm], e[:, perm][:, :, perm], pairs[:, perm][:, :, perm])
    torch.testing.assert_close(out_perm, out[:, perm], atol=1e-5, rtol=0)


def test_rgcn_critic_is_permutation_invariant(bundle):
    torch.manual_seed(5)
    slots = bundle.modality.one_hot_slots(real_batch(bundle, 8))
    x, a = slots.parts["x"], slots.parts["adj"]
    critic = RGCNCritic(bundle.modality.view_shapes("slots"), hidden=(16, 8), readout=16, mlp_hidden=(8,))
    perm = torch.randperm(x.shape[1])
    g, gp = State({"x": x, "adj": a}), State({"x": x[:, perm], "adj": a[:, perm][:, :, perm]})
    torch.testing.assert_close(critic(gp), critic(g), atol=1e-5, rtol=0)


# --- every family through the trainer ------------------------------------------------------------

TINY_NETWORKS = {
    "graphnvp": {"adj_couplings": 2, "node_couplings": 2, "adj_hidden": 32, "rgcn_hidden": [16], "node_mlp_hidden": 16},
    "mpgvae": {"encoder": {"hidden": 16, "edge_hidden": 8, "steps": 1}, "decoder": {"latent_dim": 8, "hidden": 16, "edge_hidden": 8, "steps": 1}},
    "aae": {"encoder": {"hidden": 16, "edge_hidden": 8, "steps": 1}, "decoder": {"latent_dim": 8, "hidden": 16, "edge_hidden": 8, "steps": 1}},
    "molgan": {"generator": {"hidden": [16, 32]}, "critic": {"hidden": [16, 8], "readout": 16, "mlp_hidden": [8]}},
}


def tiny(name: str) -> dict:
    config = yaml.safe_load((CONFIGS / f"{name}.yaml").read_text())
    config["data"].update(limit=64, limit_heldout=32)
    net = TINY_NETWORKS[name]
    if "name" in config["network"]:
        config["network"].update(net)
    else:
        for role, over in net.items():
            config["network"][role].update(over)
    config["train"].update(max_steps=4, batch_size=16, checkpoint_every=4, log_every=1, val_every=4, val_batches=1)
    if config["family"].get("n_critic"):
        config["family"]["n_critic"] = 2
    return config


@pytest.mark.parametrize("name", ["graphnvp", "mpgvae", "aae", "molgan"])
def test_family_trains_through_the_trainer_and_samples_valid_shaped_graphs(name, bundle, tmp_path):
    train(tiny(name), out=tmp_path / "run", progress=False)
    run = load(tmp_path / "run")
    graphs = run.sample(12, seed=0).samples
    n, k = run.family.modality.n_atoms, run.family.modality.atom_types
    assert graphs.atoms.shape == (12, n) and graphs.adj.shape == (12, n, n)
    assert graphs.atoms.min() >= 0 and graphs.atoms.max() <= k
    assert graphs.adj.min() >= 0 and graphs.adj.max() < run.family.modality.edge_classes
    assert torch.equal(graphs.adj, graphs.adj.transpose(1, 2)) and (graphs.adj.diagonal(dim1=1, dim2=2) == 0).all()
    absent = graphs.atoms == 0
    assert (graphs.adj[absent] == 0).all()  # no bond touches a missing atom
    batch = real_batch(bundle, 8)
    loss, metrics = run.family(batch)
    assert torch.isfinite(loss) and all(math.isfinite(v) for v in metrics.values())
    files = write_samples(run, run.sample(4, seed=1), tmp_path / "samples.smi")
    assert [f.suffix for f in files] == [".safetensors", ".smi"]
