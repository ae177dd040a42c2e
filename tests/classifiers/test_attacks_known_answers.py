"""Attacks against models whose answers are known in closed form.

A two-class linear model with logits (0, w·x + b) and label y ∈ {0, 1} (s = 2y − 1):
* under L∞ radius ε a point is robust iff s(w·x + b) > ε‖w‖₁, under L2 iff s(w·x + b) > ε‖w‖₂
  (the worst perturbation is −sε·sign(w), resp. −sε·w/‖w‖₂);
* the smallest L2 perturbation that changes its decision has length |w·x + b| / ‖w‖₂, along −s·w.
"""

import pytest
import torch
from attack_models import SmallCNN, two_class_linear
from torch import nn

from genlab.classifiers.attacks.registry import ATTACKS

D, N = 10, 300


@pytest.fixture(scope="module")
def linear():
    g = torch.Generator().manual_seed(0)
    w = torch.randn(D, generator=g, dtype=torch.float64)
    b = 0.3
    x = torch.randn(N, D, generator=g, dtype=torch.float64).clamp(-2.5, 2.5)
    y = torch.randint(0, 2, (N,), generator=g)
    return two_class_linear(w, b), w, b, x, y


def margin(w, b, x, y):
    return (2 * y - 1) * (x @ w + b)  # (N,) > 0 where correct


@pytest.mark.parametrize("bounds", [None, (-5.0, 5.0)], ids=["no-box", "box-not-binding"])
@pytest.mark.parametrize("norm", ["linf", "l2"])
def test_pgd_robust_accuracy_equals_the_closed_form(linear, bounds, norm):
    model, w, b, x, y = linear
    eps = 0.1 if norm == "linf" else 0.5
    radius = eps * (w.abs().sum() if norm == "linf" else w.norm())
    m = margin(w, b, x, y)
    robust = m > radius
    assert 0.2 < robust.double().mean() < 0.8 and (m - radius).abs().min() > 1e-6  # a real mix, no ties
    # L∞ from a random start: every coordinate reaches −sε·sign(w_i); in L2 a random start leaves a
    # component that the projection (a rescaling) never removes, so start at x
    attack = ATTACKS.build({"name": "pgd", "eps": eps, "norm": norm, "steps": 10, "random_start": norm == "linf"})
    x_adv = attack(model, x, y, bounds=bounds, generator=torch.Generator().manual_seed(1))
    assert torch.equal(model(x_adv).argmax(1) == y, robust)


@pytest.mark.parametrize("bounds, lr", [(None, 0.01), ((-5.0, 5.0), 0.002)], ids=["no-box", "box-not-binding"])
def test_cw_l2_distance_approaches_the_distance_to_the_boundary(linear, bounds, lr):
    model, w, b, x, _ = linear
    x = x[:40]
    y = (x @ w + b > 0).long()  # correctly classified, so every point has a boundary to cross
    attack = ATTACKS.build({"name": "cw_l2", "c": 0.1, "steps": 200, "lr": lr, "binary_search_steps": 10})
    x_adv = attack(model, x, y, bounds=bounds)
    distance = (x_adv - x).norm(dim=1)
    boundary = (x @ w + b).abs() / w.norm()
    assert (model(x_adv).argmax(1) != y).all()
    assert (distance >= boundary - 1e-9).all()  # nothing crosses closer than the boundary is
    assert torch.allclose(distance, boundary, rtol=0.02, atol=0)


def test_bim_equals_pgd_without_random_start():
    model = SmallCNN().eval()
    g = torch.Generator().manual_seed(2)
    x, y = torch.rand(16, 1, 8, 8, generator=g), torch.randint(0, 10, (16,), generator=g)
    bim = ATTACKS.build({"name": "bim", "eps": 0.1, "alpha": 0.02, "steps": 7})(model, x, y)
    pgd = ATTACKS.build({"name": "pgd", "eps": 0.1, "alpha": 0.02, "steps": 7, "random_start": False})(model, x, y)
    assert torch.equal(bim, pgd) and not torch.equal(bim, x)


def test_least_likely_steps_follow_the_closed_form_gradient():
    """Softmax regression z = Wx + c: ∇_x CE(z, t) = Wᵀ(softmax(z) − e_t); the one-step attack is
    clip(x − ε sign(Wᵀ(p − e_LL))), the iterative one with α = ε takes the same first step."""
    g = torch.Generator().manual_seed(3)
    model = nn.Linear(6, 4).double()
    x = torch.rand(20, 6, generator=g, dtype=torch.float64)
    with torch.no_grad():
        z = model(x)
        target = z.argmin(1)
        gradient = (z.softmax(1) - nn.functional.one_hot(target, 4)) @ model.weight  # (B, 6)
    expected = (x - 0.05 * gradient.sign()).clamp(0, 1)
    y = z.argmax(1)
    assert torch.equal(ATTACKS.build({"name": "least_likely", "eps": 0.05})(model, x, y, bounds=(0, 1)), expected)
    iterative = ATTACKS.build({"name": "iterative_least_likely", "eps": 0.05, "alpha": 0.05, "steps": 1})
    assert torch.allclose(iterative(model, x, y, bounds=(0, 1)), expected, rtol=0, atol=1e-15)


@pytest.mark.parametrize("norm", ["l2", "linf"])
def test_universal_perturbation_on_a_linear_model(linear, norm):
    """Points of class 1 with w·x + b < ξ‖w‖₂ are all fooled by v = −ξ w/‖w‖₂: DeepFool's steps
    all point along −w, so in L2 v is parallel to −w; in L∞ its norm stays ≤ ξ."""
    model, w, b, x, _ = linear
    x = x[(x @ w + b > 0) & (x @ w + b < 2.0)]
    xi = 2.5 / float(w.norm()) if norm == "l2" else 0.8
    attack = ATTACKS.build({"name": "universal", "xi": xi, "norm": norm, "delta": 0.05, "batch_size": 16})
    attack.fit(model, x, bounds=None, generator=torch.Generator().manual_seed(0))
    v = attack.v
    assert v.shape == (D,)
    assert float(v.norm(p=2 if norm == "l2" else float("inf"))) <= xi * (1 + 1e-12)
    assert attack.fooling_rate >= 0.95
    if norm == "l2":
        assert float(torch.dot(v, -w) / (v.norm() * w.norm())) == pytest.approx(1.0, abs=1e-9)
    fresh = torch.randn(5, D, dtype=torch.float64)
    assert torch.equal(attack(model, fresh, torch.zeros(5, dtype=torch.long), bounds=None), fresh + v)


def test_universal_perturbation_fitted_from_a_loader_of_pairs(linear):
    model, w, b, x, y = linear
    x = x[(x @ w + b > 0) & (x @ w + b < 2.0)]
    loader = [(x[i:i + 20], y[i:i + 20]) for i in range(0, len(x), 20)]
    from_loader = ATTACKS.build({"name": "universal", "xi": 2.5 / float(w.norm()), "norm": "l2", "batch_size": 1})
    from_loader.fit(model, loader, bounds=None)
    from_tensor = ATTACKS.build({"name": "universal", "xi": 2.5 / float(w.norm()), "norm": "l2", "batch_size": 1})
    from_tensor.fit(model, x, bounds=None, generator=torch.Generator().manual_seed(0))
    assert from_loader.fooling_rate == from_tensor.fooling_rate == 1.0
    assert torch.allclose(from_loader.v / from_loader.v.norm(), from_tensor.v / from_tensor.v.norm())


class OnePixelReader(nn.Module):
    """Class 1 iff pixel (2, 3) of channel 0 is above 0.5; no other pixel matters."""

    input_range = (0.0, 1.0)

    def forward(self, x):
        score = 10 * (x[:, 0, 2, 3] - 0.5)
        return torch.stack([torch.zeros_like(score), score], 1)


def test_one_pixel_finds_the_only_pixel_that_matters():
    g = torch.Generator().manual_seed(4)
    x = torch.rand(3, 2, 4, 5, generator=g)
    x[:, 0, 2, 3] = 0.9
    y = torch.ones(3, dtype=torch.long)
    calls = []
    model = OnePixelReader()

    def counted(inputs):
        calls.append(inputs.shape[0])
        return model(inputs)

    attack = ATTACKS.build({"name": "one_pixel", "population": 100, "generations": 30})
    x_adv = attack(counted, x, y, bounds=(0, 1), generator=torch.Generator().manual_seed(0))
    changed = (x_adv != x).any(1)  # (B, H, W)
    assert (changed.flatten(1).sum(1) == 1).all() and changed[:, 2, 3].all()
    assert (x_adv[:, 0, 2, 3] < 0.5).all() and (model(x_adv).argmax(1) == 0).all()
    assert set(calls) == {100}  # the whole population in one call per generation


def test_one_pixel_changes_at_most_one_pixel_of_a_cnn_input():
    model = SmallCNN(channels=3).eval()
    x = torch.rand(4, 3, 8, 8, generator=torch.Generator().manual_seed(5))
    y = model(x).argmax(1)
    x_adv = ATTACKS.build({"name": "one_pixel", "population": 20, "generations": 5})(model, x, y)
    assert ((x_adv != x).any(1).flatten(1).sum(1) <= 1).all()


def test_transfer_crafts_on_the_surrogate_and_never_queries_the_target():
    surrogate = SmallCNN(seed=1).eval()
    g = torch.Generator().manual_seed(6)
    x, y = torch.rand(8, 1, 8, 8, generator=g), torch.randint(0, 10, (8,), generator=g)

    class Target:
        input_range = (0.0, 1.0)

        def __call__(self, inputs):
            raise AssertionError("a black-box attack queried the target")

    transfer = ATTACKS.build({"name": "transfer", "attack": {"name": "pgd", "eps": 0.1, "steps": 5}},
                             surrogate=surrogate)
    x_adv = transfer(Target(), x, y, generator=torch.Generator().manual_seed(7))
    white_box = ATTACKS.build({"name": "pgd", "eps": 0.1, "steps": 5})(surrogate, x, y,
                                                                       generator=torch.Generator().manual_seed(7))
    assert torch.equal(x_adv, white_box) and not torch.equal(x_adv, x)
