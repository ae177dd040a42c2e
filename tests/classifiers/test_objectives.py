"""Training objectives: known answers (TRADES with β = 0, ``fast`` with ε = 0 and ``mixed`` with
λ = 0 are the clean cross-entropy), adversarial inputs inside B(x, ε) ∩ box, the FGSM-RS step of
a linear model, and every objective under ``inference_mode`` (Lightning's validation)."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from genlab.classifiers.classifier import Classifier
from genlab.classifiers.objectives import OBJECTIVES
from genlab.errors import ConfigError
from genlab.modalities.base import LabelledBatch
from genlab.modalities.images import ImagesModality

ADVERSARIAL = {
    "pgd": {"name": "pgd", "eps": 0.1, "alpha": 0.03, "steps": 5},
    "fast": {"name": "fast", "eps": 0.1},
    "trades": {"name": "trades", "eps": 0.1, "alpha": 0.03, "steps": 5, "beta": 2.0},
    "mixed": {"name": "mixed", "attack": {"name": "pgd", "eps": 0.1, "steps": 5}, "adversarial_weight": 0.5},
}


def tiny(objective, seed: int = 0) -> Classifier:
    """A linear classifier of 4×4 images over 3 classes."""
    torch.manual_seed(seed)
    network = nn.Sequential(nn.Flatten(), nn.Linear(16, 3))
    return Classifier(ImagesModality(channels=1, height=4, width=4), network, objective)


def batch(n: int = 32, seed: int = 1) -> LabelledBatch:
    g = torch.Generator().manual_seed(seed)
    images = torch.rand(n, 1, 4, 4, generator=g) * 2 - 1  # data space [-1, 1]
    return LabelledBatch(images, torch.randint(0, 3, (n,), generator=g))


def loss_and_grads(model: Classifier, data: LabelledBatch) -> tuple[torch.Tensor, list[torch.Tensor]]:
    model.zero_grad()
    loss, _ = model(data)
    loss.backward()
    return loss.detach(), [p.grad.clone() for p in model.parameters()]


@pytest.mark.parametrize("section", [
    {"name": "trades", "beta": 0.0},
    {"name": "fast", "eps": 0.0},
    {"name": "mixed", "adversarial_weight": 0.0},
    {"name": "mixed", "attack": {"name": "pgd", "eps": 0.2, "steps": 3}, "adversarial_weight": 0.0},
], ids=["trades-beta0", "fast-eps0", "mixed-lambda0", "mixed-pgd-lambda0"])
def test_degenerate_settings_are_the_standard_loss(section):
    data = batch()
    standard, grads = loss_and_grads(tiny("standard"), data)
    other, other_grads = loss_and_grads(tiny(section), data)
    assert torch.equal(standard, other)
    assert all(torch.allclose(a, b, atol=1e-7) for a, b in zip(grads, other_grads))


def test_trades_is_clean_cross_entropy_plus_beta_kl():
    model, data = tiny(ADVERSARIAL["trades"]), batch()
    x, y = model.inputs(data)
    torch.manual_seed(5)
    loss, metrics = model(data)
    torch.manual_seed(5)
    x_adv = model.objective.adversarial(model, x)
    logits, logits_adv = model.logits(x), model.logits(x_adv)
    kl = (F.softmax(logits, 1) * (F.log_softmax(logits, 1) - F.log_softmax(logits_adv, 1))).sum(1).mean()
    assert kl > 0
    assert torch.allclose(loss, F.cross_entropy(logits, y) + 2.0 * kl, atol=1e-6)
    assert metrics["robust_kl"] == pytest.approx(kl.item(), abs=1e-6)


@pytest.mark.parametrize("name", sorted(ADVERSARIAL))
def test_adversarial_inputs_stay_in_the_ball_and_the_box(name):
    model = tiny(ADVERSARIAL[name])
    data = batch(64)
    data.inputs[:8] = 1.0  # pixels at the top of the box: the box, not the ball, binds there
    data.inputs[8:16] = -1.0
    x, y = model.inputs(data)
    x_adv = model.objective.adversarial(model, x, y)
    assert x_adv.shape == x.shape and not torch.equal(x_adv, x)
    assert (x_adv - x).abs().max() <= 0.1 + 1e-6
    assert x_adv.min() >= 0.0 and x_adv.max() <= 1.0


def test_fast_is_one_signed_step_from_a_uniform_start():
    """A linear two-class model's input gradient has one sign pattern everywhere, so with
    α = 1.25 ε every coordinate ends between 0.25 ε and ε along it (Wong et al. 2020, Alg. 3)."""
    torch.manual_seed(0)
    network = nn.Sequential(nn.Flatten(), nn.Linear(16, 2))
    model = Classifier(ImagesModality(channels=1, height=4, width=4), network, {"name": "fast", "eps": 0.1})
    x = torch.full((16, 1, 4, 4), 0.5)
    y = torch.zeros(16, dtype=torch.long)
    w = network[1].weight.detach()  # (2, 16)
    direction = torch.sign(w[1] - w[0]).view(1, 1, 4, 4)  # raises the loss of class 0
    moved = (model.objective.adversarial(model, x, y) - x) * direction  # (16, 1, 4, 4)
    assert moved.min() >= 0.25 * 0.1 - 1e-6 and moved.max() <= 0.1 + 1e-6
    assert moved.std() > 0  # the random start shows
    # at the box's lower edge the start is not clipped first: pixels pushed up end anywhere in
    # [0.25 ε, ε], not all at ε
    x = torch.zeros(64, 1, 4, 4)
    up = direction.expand_as(x) > 0
    end = model.objective.adversarial(model, x, torch.zeros(64, dtype=torch.long))[up]
    assert end.min() >= 0.025 - 1e-6 and end.max() <= 0.1 + 1e-6 and end.min() < 0.05


@pytest.mark.parametrize("name", ["standard", *sorted(ADVERSARIAL)])
def test_objectives_run_under_inference_mode_and_leave_the_model_be(name):
    model = tiny(ADVERSARIAL.get(name, name))
    data = batch()
    model.train()
    with torch.inference_mode():
        loss, metrics = model(data)
    assert torch.isfinite(loss) and 0 <= metrics["accuracy"] <= 1
    assert all(p.grad is None for p in model.parameters()) and model.training
    loss, _ = model(data)  # and trains outside it
    loss.backward()
    assert all(p.grad is not None for p in model.parameters())


def test_adversarial_training_lowers_the_adversarial_loss():
    """A few steps of each objective on a fixed batch make its own adversarial loss smaller."""
    data = batch(128)
    for name in ("fast", "trades", "mixed", "pgd"):
        model = tiny(ADVERSARIAL[name])
        optimizer = torch.optim.SGD(model.parameters(), lr=0.5)
        torch.manual_seed(0)
        first, _ = model(data)
        for _ in range(30):
            optimizer.zero_grad()
            loss, _ = model(data)
            loss.backward()
            optimizer.step()
        torch.manual_seed(0)
        last, _ = model(data)
        assert last < first, name


@pytest.mark.parametrize("section, key", [
    ({"name": "fast", "eps": -0.1}, "family.objective.eps"),
    ({"name": "trades", "beta": -1.0}, "family.objective.beta"),
    ({"name": "trades", "steps": 0}, "family.objective.steps"),
    ({"name": "mixed", "adversarial_weight": 1.5}, "family.objective.adversarial_weight"),
    ({"name": "trades", "lam": 1.0}, "family.objective.lam"),
])
def test_impossible_objective_values_name_their_key(section, key):
    with pytest.raises(ConfigError) as info:
        OBJECTIVES.build(section)
    assert info.value.key == key


def test_mixed_refuses_an_unknown_attack_and_one_without_a_model_to_craft_on():
    with pytest.raises(ConfigError, match="unknown attack 'nope'"):
        OBJECTIVES.build({"name": "mixed", "attack": "nope"})
    with pytest.raises(ConfigError, match="the transfer attack cannot train a model") as info:
        OBJECTIVES.build({"name": "mixed", "attack": "transfer"})
    assert info.value.key == "family.objective.attack"


def digits_config(objective, max_steps: int) -> dict:
    return {"data": {"name": "digits", "labels": True}, "family": {"name": "classifier", "objective": objective},
            "network": {"name": "mlp_classifier", "hidden": 32, "depth": 1},
            "train": {"max_steps": max_steps, "batch_size": 32, "lr": 3e-3, "accelerator": "cpu", "ema_decay": 0.9,
                      "checkpoint_every": 5, "log_every": 5, "val_every": 5, "val_batches": 2}}


@pytest.mark.parametrize("objective", [
    {"name": "fast", "eps": 0.3},
    {"name": "trades", "eps": 0.3, "alpha": 0.1, "steps": 3},
    {"name": "mixed", "attack": {"name": "pgd", "eps": 0.2, "steps": 2}},
], ids=["fast", "trades", "mixed"])
def test_adversarial_training_through_the_trainer_resumes_bit_identically(tmp_path, objective):
    """genlab train with validation (objectives under inference_mode) and --resume: the resumed run's
    weights equal those of an uninterrupted one; the held-out adversarial accuracy is logged."""
    from safetensors.torch import load_file

    from genlab.training.trainer import train

    train(digits_config(objective, 12), tmp_path / "full", progress=False)
    train(digits_config(objective, 6), tmp_path / "half", progress=False)
    train(digits_config(objective, 12), tmp_path / "half", resume=True, progress=False)
    full, half = load_file(tmp_path / "full/weights.safetensors"), load_file(tmp_path / "half/weights.safetensors")
    assert full.keys() == half.keys() and all(torch.equal(full[k], half[k]) for k in full)
    metrics = (tmp_path / "full/logs/metrics.csv").read_text()
    assert "val/accuracy" in metrics and "val/clean_accuracy" in metrics and "train/clean_accuracy" in metrics
