"""MCD (Saito et al. 2018): the discrepancy's known values, and what each step may change."""

from __future__ import annotations

import math

import pytest
import torch

from genlab.build import build_family_from_modality
from genlab.classifiers.adaptation.discrepancy import discrepancy, sample_discrepancy
from genlab.classifiers.adaptation.federated import run_phases
from genlab.classifiers.adaptation.mcd import MCD
from genlab.data.domain_adaptation import DomainBatch
from genlab.errors import ConfigError
from genlab.modalities.base import LabelledBatch
from genlab.modalities.images import ImagesModality

MODALITY = ImagesModality(channels=3, height=32, width=32)
NETWORK = {"features": {"name": "mcd_features", "variant": "usps"},
           "classifier": {"name": "mcd_classifier", "variant": "usps"}}


def mcd(num_k: int = 2) -> MCD:
    torch.manual_seed(0)
    return build_family_from_modality({"family": {"name": "mcd", "num_k": num_k}, "network": NETWORK}, MODALITY)


def domain_batch(n: int = 8, targets: int = 2) -> DomainBatch:
    g = torch.Generator().manual_seed(1)
    x = torch.rand(n, 3, 32, 32, generator=g) * 2 - 1
    return DomainBatch(LabelledBatch(x, torch.arange(n) % 10),
                       tuple(torch.rand(n, 3, 32, 32, generator=g) * 2 - 1 for _ in range(targets)))


def test_discrepancy_is_zero_for_equal_classifiers_and_the_mean_absolute_softmax_difference():
    logits = torch.randn(5, 10)
    assert discrepancy(logits, logits) == 0
    assert float(discrepancy(logits, logits + 3.0)) < 1e-7  # softmax ignores a shift of all logits
    # p1 = (1/2, 1/2), p2 = (3/4, 1/4): d = (|1/2 - 3/4| + |1/2 - 1/4|) / 2 = 1/4
    d = sample_discrepancy(torch.zeros(1, 2), torch.tensor([[math.log(3.0), 0.0]]))
    assert torch.allclose(d, torch.tensor([0.25]))
    # one-hot-like opposite predictions: 2/K, the largest value
    far = discrepancy(torch.tensor([[50.0, 0, 0, 0]]), torch.tensor([[0, 50.0, 0, 0]]))
    assert abs(float(far) - 2 / 4) < 1e-6


def test_the_two_classifiers_start_apart_and_equal_classifiers_have_no_discrepancy():
    model = mcd().eval()  # no dropout
    x = model.all_targets(domain_batch())
    h = model.features(x)
    assert model.target_discrepancy(h) > 0
    model.classifier_2.load_state_dict(model.classifier_1.state_dict())
    assert model.target_discrepancy(h) == 0


def _snapshot(module: torch.nn.Module) -> dict[str, torch.Tensor]:
    return {k: v.detach().clone() for k, v in module.named_parameters()}


def _changed(before: dict[str, torch.Tensor], module: torch.nn.Module) -> bool:
    return any(not torch.equal(before[k], v) for k, v in module.named_parameters())


def test_step_a_trains_everything_step_b_only_the_classifiers_step_c_only_g():
    model = mcd(num_k=2)
    model.train()
    optimizers = [torch.optim.SGD(p, lr=0.1) for p in model.optimizer_parameters()]
    phases = model.adversarial_losses(domain_batch(), 0)
    parts = {"G": model.features, "F1": model.classifier_1, "F2": model.classifier_2}
    expected = [("A", {"G", "F1", "F2"}), ("B", {"F1", "F2"}), ("C", {"G"}), ("C", {"G"})]
    for (step, trained), phase in zip(expected, phases, strict=True):
        before = {name: _snapshot(m) for name, m in parts.items()}
        run_phases(iter([phase]), optimizers)
        changed = {name for name, m in parts.items() if _changed(before[name], m)}
        assert changed == trained, step
    assert [p.indices() for p in mcd(num_k=3).adversarial_losses(domain_batch(), 0)] == [(0, 1), (1,), (0,), (0,), (0,)]


def test_step_b_loss_is_the_source_cross_entropy_minus_the_target_discrepancy_and_c_the_discrepancy():
    import torch.nn.functional as F

    model = mcd(num_k=1).eval()  # eval: no dropout, batch statistics fixed, so both sides see one function
    batch = domain_batch(n=16)
    x_s, y_s = model.source(batch)
    x_t = model.all_targets(batch)
    phases = list(model.adversarial_losses(batch, 0))
    with torch.no_grad():
        h_s, h_t = model.features(x_s), model.features(x_t)
        ce = sum(F.cross_entropy(c(h_s), y_s) for c in (model.classifier_1, model.classifier_2))
        d = (model.classifier_1(h_t).softmax(-1) - model.classifier_2(h_t).softmax(-1)).abs().mean()
    assert torch.allclose(phases[0].loss, ce, atol=1e-6)  # step A: L(X_s, Y_s)
    assert torch.allclose(phases[1].loss, ce - d, atol=1e-6)  # step B: L(X_s, Y_s) - L_adv(X_t)
    assert torch.allclose(phases[2].loss, d, atol=1e-6)  # step C: L_adv(X_t)
    assert phases[1].loss.requires_grad and not h_s.requires_grad


def test_mcd_sees_every_target_and_predicts_with_the_mean_of_both_classifiers():
    model = mcd().eval()
    batch = domain_batch(n=4, targets=3)
    assert model.all_targets(batch).shape == (12, 3, 32, 32)
    x = model.inputs(batch.targets[0])
    h = model.features(x)
    expected = (model.classifier_1(h).softmax(-1) + model.classifier_2(h).softmax(-1)) / 2
    assert torch.allclose(model.target_probabilities(x, torch.zeros(4, dtype=torch.long)), expected)


def test_bad_settings_are_one_line_errors_naming_the_key():
    with pytest.raises(ConfigError, match="family.num_k"):
        build_family_from_modality({"family": {"name": "mcd", "num_k": 0}, "network": NETWORK}, MODALITY)
    mismatched = {"features": {"name": "mcd_features", "variant": "usps"},
                  "classifier": {"name": "mcd_classifier", "variant": "svhn"}}
    with pytest.raises(ConfigError, match="network.classifier") as info:
        build_family_from_modality({"family": {"name": "mcd"}, "network": mismatched}, MODALITY)
    assert "\n" not in str(info.value)
    with pytest.raises(ConfigError, match="network.features.variant"):
        build_family_from_modality({"family": {"name": "source_only"},
                                    "network": {**NETWORK, "features": {"name": "mcd_features", "variant": "lenet"}}},
                                   MODALITY)
