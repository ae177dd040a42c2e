"""FGSM, PGD and the least-likely attacks give the inputs of two independent libraries —
torchattacks and the Adversarial Robustness Toolbox — on the same model and batch."""

import numpy as np
import pytest
import torch
from attack_models import SmallCNN
from torch import nn

from genlab.classifiers.attacks.registry import ATTACKS

EPS, ALPHA, STEPS = 0.1, 0.01, 20


@pytest.fixture(scope="module")
def case():
    model = SmallCNN().eval()
    g = torch.Generator().manual_seed(1)
    x = torch.rand(32, 1, 8, 8, generator=g)
    y = torch.randint(0, 10, (32,), generator=g)
    return model, x, y


def art_classifier(model):
    pytest.importorskip("art", reason="the Adversarial Robustness Toolbox (test dependency) is not installed")
    from art.estimators.classification import PyTorchClassifier

    return PyTorchClassifier(model, loss=nn.CrossEntropyLoss(), input_shape=(1, 8, 8), nb_classes=10,
                             clip_values=(0.0, 1.0), device_type="cpu")


def test_fgsm_equals_torchattacks_exactly(case):
    torchattacks = pytest.importorskip("torchattacks", reason="torchattacks (test dependency) is not installed")
    model, x, y = case
    ours = ATTACKS.build({"name": "fgsm", "eps": EPS})(model, x, y)
    assert torch.equal(ours, torchattacks.FGSM(model, eps=EPS)(x, y))
    assert not torch.equal(ours, x)


def test_fgsm_equals_art_exactly(case):
    model, x, y = case
    from_art = pytest.importorskip("art.attacks.evasion").FastGradientMethod(
        art_classifier(model), eps=EPS, batch_size=len(x)).generate(x.numpy(), y.numpy())
    ours = ATTACKS.build({"name": "fgsm", "eps": EPS})(model, x, y)
    np.testing.assert_array_equal(ours.numpy(), from_art)


def test_pgd_without_random_start_equals_torchattacks(case):
    torchattacks = pytest.importorskip("torchattacks", reason="torchattacks (test dependency) is not installed")
    model, x, y = case
    ours = ATTACKS.build({"name": "pgd", "eps": EPS, "alpha": ALPHA, "steps": STEPS, "random_start": False})(model, x, y)
    theirs = torchattacks.PGD(model, eps=EPS, alpha=ALPHA, steps=STEPS, random_start=False)(x, y)
    assert (ours - theirs).abs().max() <= 1e-6
    assert (ours - x).abs().max() == pytest.approx(EPS, abs=1e-6)


def test_pgd_without_random_start_equals_art(case):
    model, x, y = case
    from_art = pytest.importorskip("art.attacks.evasion").ProjectedGradientDescent(
        art_classifier(model), eps=EPS, eps_step=ALPHA, max_iter=STEPS, num_random_init=0, batch_size=len(x),
        verbose=False).generate(x.numpy(), y.numpy())
    ours = ATTACKS.build({"name": "pgd", "eps": EPS, "alpha": ALPHA, "steps": STEPS, "random_start": False})(model, x, y)
    assert np.abs(ours.numpy() - from_art).max() <= 1e-6


def test_least_likely_attacks_equal_torchattacks_least_likely_mode(case):
    """torchattacks picks the least likely class among those other than y; with y the model's own
    prediction that is the least likely class of all, the target of Kurakin et al."""
    torchattacks = pytest.importorskip("torchattacks", reason="torchattacks (test dependency) is not installed")
    model, x, _ = case
    y = model(x).argmax(1)
    one_step = torchattacks.FGSM(model, eps=EPS)
    one_step.set_mode_targeted_least_likely()
    assert torch.equal(ATTACKS.build({"name": "least_likely", "eps": EPS})(model, x, y), one_step(x, y))
    iterative = torchattacks.PGD(model, eps=EPS, alpha=ALPHA, steps=STEPS, random_start=False)
    iterative.set_mode_targeted_least_likely()
    ours = ATTACKS.build({"name": "iterative_least_likely", "eps": EPS, "alpha": ALPHA, "steps": STEPS})(model, x, y)
    assert (ours - iterative(x, y)).abs().max() <= 1e-6
