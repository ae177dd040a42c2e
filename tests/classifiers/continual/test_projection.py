"""Gradient projection (GPM, OGD): the known answers — the basis of data of known rank, projected
gradients orthogonal to the stored directions (float64, < 1e-10), and old outputs unchanged by an
SGD step on a new task."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from genlab.classifiers.continual.methods.gpm import extend_basis
from genlab.classifiers.continual.methods.ogd import orthonormalise
from genlab.errors import ConfigError
from helpers import context, experience, point_learner


def old_task(n: int = 40, dim: int = 6, rank: int = 3, classes: int = 4):
    """n points in a rank-``rank`` subspace of R^dim and labels; small integers, so the float32
    inputs the modality encodes are exact."""
    g = torch.Generator().manual_seed(2)
    a = torch.randint(-3, 4, (n, rank), generator=g).double()
    x = a @ torch.randint(-3, 4, (rank, dim), generator=g).double()  # (n, dim) of rank ``rank``
    return x, torch.randint(classes, (n,), generator=g)


def sgd_step_on_new_task(learner, lr: float = 0.5) -> None:
    g = torch.Generator().manual_seed(3)
    x, y = torch.randn(32, 6, generator=g, dtype=torch.float64), torch.randint(4, (32,), generator=g)
    learner.network.zero_grad()
    F.cross_entropy(learner.logits(x), y).backward()
    learner.before_optimizer_step()  # the trainer's hook: the method projects
    with torch.no_grad():
        for p in learner.network.parameters():
            p -= lr * p.grad


def test_energy_criterion_keeps_the_numerical_rank_and_the_fraction_asked_for():
    x, _ = old_task()
    r = torch.cat([x, torch.ones(40, 1, dtype=torch.float64)], 1).T  # (7, 40): affine rank 4
    empty = torch.zeros(7, 0, dtype=torch.float64)
    basis = extend_basis(empty, r, 1.0)
    assert basis.shape == (7, 4) and torch.allclose(basis.T @ basis, torch.eye(4, dtype=torch.float64), atol=1e-12)
    s = torch.linalg.svdvals(r) ** 2
    k = extend_basis(empty, r, 0.9).shape[1]  # the smallest k with ‖R_k‖² ≥ 0.9 ‖R‖² (eq. 5)
    assert s[:k].sum() >= 0.9 * s.sum() > s[:k - 1].sum()
    assert extend_basis(basis, r, 1.0).shape == (7, 4)  # nothing new to add (eq. 9: already all kept)


@pytest.mark.parametrize("depth", [0, 2])
def test_gpm_projected_step_is_orthogonal_and_leaves_old_outputs_unchanged(depth):
    learner = point_learner({"name": "gpm", "threshold": 1.0, "samples": 40}, depth=depth)
    x, y = old_task()
    learner.method.after_experience(learner, experience(x, y), context())
    before = learner.logits(x).detach()
    sgd_step_on_new_task(learner)
    for i, layer in enumerate(learner.method.layers):
        m = learner.method.basis(i)  # (d, k)
        g = torch.cat([layer.weight.grad, layer.bias.grad[:, None]], 1)  # (out, d) as projected
        assert m.shape[1] > 0 and (g @ m).abs().max() < 1e-10
    assert (learner.logits(x) - before).abs().max() < 1e-10
    assert int(learner.method.rank_0) == 4  # the old inputs' affine span


def test_without_projection_the_same_step_changes_old_outputs():
    learner = point_learner("finetune")
    x, _ = old_task()
    before = learner.logits(x).detach()
    sgd_step_on_new_task(learner)
    assert (learner.logits(x) - before).abs().max() > 1e-2


def test_ogd_projection_is_orthogonal_and_keeps_the_stored_logits_of_a_linear_model():
    learner = point_learner({"name": "ogd", "directions_per_task": 40, "max_directions": 80})
    x, y = old_task()
    learner.method.after_experience(learner, experience(x, y), context())
    v = learner.method.stored()  # (k, P)
    assert torch.allclose(v @ v.T, torch.eye(len(v), dtype=torch.float64), atol=1e-12)
    assert len(v) == 16  # ∇ f_y(x) = e_y ⊗ [x, 1]: 4 classes × the affine rank 4 of the inputs
    before = learner.logits(x).gather(1, y[:, None]).detach()
    sgd_step_on_new_task(learner)
    g = torch.cat([p.grad.reshape(-1) for p in learner.network.parameters()])
    assert (v @ g).abs().max() < 1e-10
    assert (learner.logits(x).gather(1, y[:, None]) - before).abs().max() < 1e-10


def test_gram_schmidt_drops_dependent_directions():
    g = torch.Generator().manual_seed(0)
    a = torch.randn(3, 10, generator=g, dtype=torch.float64)
    new = torch.cat([a, a[:1] + 2 * a[1:2]])  # the fourth is a combination of the first two
    basis = orthonormalise(torch.zeros(0, 10, dtype=torch.float64), new)
    assert basis.shape == (3, 10) and torch.allclose(basis @ basis.T, torch.eye(3, dtype=torch.float64), atol=1e-12)


def test_ogd_refuses_a_stream_its_memory_cannot_hold():
    learner = point_learner({"name": "ogd", "directions_per_task": 40, "max_directions": 80})
    with pytest.raises(ConfigError) as info:
        learner.method.before_experience(learner, None, context(0, n=4))
    assert info.value.key == "family.method.max_directions" and "120" in info.value.message


def test_gpm_threshold_list_must_match_the_layers():
    with pytest.raises(ConfigError) as info:
        point_learner({"name": "gpm", "threshold": [0.9, 0.9]}, depth=2)
    assert info.value.key == "family.method.threshold" and "3 layers" in info.value.message
