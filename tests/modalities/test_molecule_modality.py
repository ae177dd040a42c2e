"""The molecular-graph modality, the molecule datasets and the graph transformer, on real QM9."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from genlab.data.registry import DATASETS, load_providers
from genlab.errors import DataError
from genlab.modalities.base import State
from genlab.modalities.molecules import GraphBatch, MolecularGraphModality, pair_mask
from genlab.modalities.registry import MODALITIES
from genlab.networks.registry import NETWORKS

load_providers()


@pytest.fixture(scope="module")
def qm9():
    return DATASETS.build({"name": "qm9", "limit": 3000, "limit_heldout": 500})


@pytest.fixture(scope="module")
def batch(qm9):
    items = [qm9.train[i] for i in range(256)]
    return qm9.collate(items)


def test_collate_is_the_dense_batch(qm9, batch):
    atoms, adj = qm9.train.graphs.dense(np.arange(256))
    assert torch.equal(batch.atoms, atoms) and torch.equal(batch.adj, adj)
    held = qm9.collate([qm9.heldout[i] for i in range(7)])
    assert torch.equal(held.atoms, qm9.heldout.graphs.dense(np.arange(7))[0])


def test_encode_decode_is_exact(qm9, batch):
    modality = qm9.modality
    state = modality.encode(batch)
    assert state.parts["x"].shape == (256, 9, 8) and state.parts["adj"].shape == (256, 9, 9, 4)
    assert torch.equal(state.mask, batch.atoms > 0)
    out = modality.decode(state)
    assert torch.equal(out.atoms, batch.atoms) and torch.equal(out.adj, batch.adj)
    # centred one-hot: exactly one +1 per real atom / real pair, the rest -1, zero elsewhere
    x = state.parts["x"][state.mask]  # (n_atoms, K)
    assert torch.equal((x == 1).sum(-1), torch.ones(len(x), dtype=torch.long)) and bool(((x == 1) | (x == -1)).all())
    pairs = pair_mask(state.mask)
    assert bool((state.parts["adj"][~pairs] == 0).all())


def test_decode_of_noise_respects_mask_and_symmetry(qm9, batch):
    modality = qm9.modality
    like = modality.encode(batch)
    z = State({k: torch.randn_like(v) for k, v in like.parts.items()}, like.mask)  # not symmetric
    out = modality.decode(z)
    assert torch.equal(out.adj, out.adj.transpose(1, 2))
    assert bool((out.atoms[~like.mask] == 0).all()) and bool((out.atoms[like.mask] > 0).all())
    assert bool((out.adj[~pair_mask(like.mask)] == 0).all())


def test_noise_is_symmetric_zero_diagonal_zero_padding_unit_variance(qm9, batch):
    modality = qm9.modality
    like = modality.encode(batch)
    z = modality.noise(like, generator=torch.Generator().manual_seed(0))
    e, x = z.parts["adj"], z.parts["x"]
    assert torch.equal(e, e.transpose(1, 2))
    assert bool((torch.diagonal(e, dim1=1, dim2=2) == 0).all())
    pairs = pair_mask(like.mask)
    assert bool((e[~pairs] == 0).all()) and bool((x[~like.mask] == 0).all())
    free = torch.cat([x[like.mask].flatten(), e[pairs].flatten()])
    assert abs(free.mean().item()) < 0.02 and abs(free.var().item() - 1) < 0.03


def test_project_is_an_idempotent_symmetrisation(qm9, batch):
    modality = qm9.modality
    like = modality.encode(batch)
    raw = State({k: torch.randn_like(v) for k, v in like.parts.items()}, like.mask)
    once = modality.project(raw)
    twice = modality.project(once)
    e = once.parts["adj"]
    assert torch.equal(e, e.transpose(1, 2)) and bool((e[~pair_mask(like.mask)] == 0).all())
    assert all(torch.allclose(once.parts[k], twice.parts[k]) for k in once.parts)


def test_atom_count_histogram_matches_training_data(qm9):
    modality = qm9.modality
    counts = np.bincount(qm9.train.graphs.num_atoms(), minlength=10)
    assert modality.atom_counts.tolist() == counts.tolist()
    prior = modality.prior_template(40000, generator=torch.Generator().manual_seed(1))
    drawn = np.bincount(prior.mask.sum(1).numpy(), minlength=10) / 40000
    assert np.abs(drawn - counts / counts.sum()).max() < 0.01
    assert bool((prior.mask == (torch.arange(9)[None] < prior.mask.sum(1, keepdim=True))).all())
    assert all(bool((v == 0).all()) for v in prior.parts.values())


def test_dims_and_registry_rebuild(qm9):
    modality = qm9.modality
    state = modality.prior_template(64, generator=torch.Generator().manual_seed(2))
    n = state.mask.sum(1)
    assert torch.equal(modality.dims(state), 8 * n + 4 * n * (n - 1) // 2)
    rebuilt = MODALITIES.build({"name": "molecules", **modality.config()})
    assert isinstance(rebuilt, MolecularGraphModality)
    assert rebuilt.vocab == modality.vocab and torch.equal(rebuilt.atom_counts, modality.atom_counts)


def _network(modality, **kw):
    torch.manual_seed(0)
    cfg = {"name": "graph_transformer", "hidden": 32, "edge_hidden": 16, "layers": 2, "heads": 4, "reach_hops": 3, **kw}
    return NETWORKS.build(cfg, shapes=modality.shapes()).eval()


def test_graph_transformer_is_permutation_equivariant(qm9, batch):
    modality = qm9.modality
    net = _network(modality, aux_dim=3)
    x_0 = modality.encode(GraphBatch(batch.atoms[:16], batch.adj[:16]))
    x_t = modality.project(x_0.map(lambda v, z: v + 0.5 * z, modality.noise(x_0)))
    t = torch.rand(16)
    perm = torch.randperm(9, generator=torch.Generator().manual_seed(3))
    permuted = State({"x": x_t.parts["x"][:, perm], "adj": x_t.parts["adj"][:, perm][:, :, perm]}, x_t.mask[:, perm])
    with torch.no_grad():
        out, out_p = net(x_t, t), net(permuted, t)
    assert torch.allclose(out_p.parts["x"], out.parts["x"][:, perm], atol=1e-5)
    assert torch.allclose(out_p.parts["adj"], out.parts["adj"][:, perm][:, :, perm], atol=1e-5)
    assert torch.allclose(out_p.parts["aux"], out.parts["aux"], atol=1e-5)
    assert torch.equal(out.parts["adj"], out.parts["adj"].transpose(1, 2))


def test_padding_does_not_influence_real_atoms(qm9, batch):
    modality = qm9.modality
    net = _network(modality, aux_dim=2)
    small = batch.atoms.gt(0).sum(1) < 9
    x_0 = modality.encode(GraphBatch(batch.atoms[small][:16], batch.adj[small][:16]))
    mask, pairs = x_0.mask, pair_mask(x_0.mask)
    junk = State({"x": torch.where(mask[..., None], x_0.parts["x"], torch.randn_like(x_0.parts["x"]) * 5),
                  "adj": torch.where(pairs[..., None], x_0.parts["adj"], torch.randn_like(x_0.parts["adj"]) * 5)},
                 mask)
    t = torch.full((len(mask),), 0.3)
    with torch.no_grad():
        out, out_junk = net(x_0, t), net(junk, t)
    assert torch.allclose(out.parts["x"], out_junk.parts["x"], atol=1e-5)
    assert torch.allclose(out.parts["adj"], out_junk.parts["adj"], atol=1e-5)
    assert torch.allclose(out.parts["aux"], out_junk.parts["aux"], atol=1e-5)
    assert bool((out.parts["x"][~mask] == 0).all()) and bool((out.parts["adj"][~pairs] == 0).all())


@pytest.mark.parametrize("family, process", [({"name": "flow_matching", "ode_method": "euler"}, {"name": "flow_matching"}),
                                             ({"name": "ddpm", "sampler": "ddim"}, {"name": "ddpm", "n_steps": 100})])
def test_family_forward_on_qm9_gives_a_finite_loss(qm9, batch, family, process):
    from genlab.trainable import FAMILIES
    from genlab.generative.processes.registry import PROCESSES

    network = _network(qm9.modality).train()
    model = FAMILIES.build(family, modality=qm9.modality, process=PROCESSES.build(process), network=network)
    torch.manual_seed(0)
    loss, metrics = model(batch)
    assert loss.ndim == 0 and torch.isfinite(loss)
    loss.backward()
    assert all(torch.isfinite(p.grad).all() for p in model.parameters() if p.grad is not None)
    result = model.sample(8, steps=4, generator=torch.Generator().manual_seed(0))
    assert result.samples.atoms.shape == (8, 9) and result.samples.adj.shape == (8, 9, 9)


def test_smiles_file_dataset(tmp_path):
    path = tmp_path / "mols.smi"
    path.write_text("CCO\nc1ccccc1\nCC(=O)[O-]\nC#N\nCCN\nOCC(F)F\n", encoding="utf-8")
    bundle = DATASETS.build({"name": "smiles", "path": str(path), "heldout_fraction": 0.34})
    vocab = bundle.info["vocab"]
    assert set(vocab.atoms) == {("C", 0), ("N", 0), ("O", 0), ("O", -1), ("F", 0)} and vocab.max_atoms == 6
    assert len(bundle.train) == 4 and len(bundle.heldout) == 2
    graphs = bundle.collate([bundle.train[i] for i in range(4)])
    assert torch.equal(bundle.modality.decode(bundle.modality.encode(graphs)).adj, graphs.adj)
    with pytest.raises(DataError, match="missing.smi"):
        DATASETS.build({"name": "smiles", "path": str(tmp_path / "missing.smi")})
    bad = tmp_path / "bad.smi"
    bad.write_text("CCO\nC1CC\n", encoding="utf-8")
    with pytest.raises(DataError, match="bad.smi"):
        DATASETS.build({"name": "smiles", "path": str(bad)})


def test_denoiser_hooks_known_answers(qm9, batch):
    modality = qm9.modality
    x_0 = modality.encode(batch)
    confident = x_0.map(lambda v: 50.0 * v)  # logits peaked on the true classes
    mean = modality.denoiser_mean(confident)
    assert all(torch.allclose(mean.parts[k], x_0.parts[k], atol=1e-6) for k in x_0.parts)
    assert float(modality.denoiser_loss(confident, x_0).max()) < 1e-6
    uniform = x_0.map(torch.zeros_like)  # every class equally likely
    loss = modality.denoiser_loss(uniform, x_0, weights={"adj": 2.0})
    bonded = x_0.mask.sum(1) > 1  # graphs with at least one pair of atoms
    expected = np.log(8) + 2 * np.log(4) * bonded.float()
    assert torch.allclose(loss, expected, atol=1e-5)
    assert torch.allclose(modality.denoiser_mean(uniform).parts["adj"][pair_mask(x_0.mask)], torch.tensor(-0.5))
