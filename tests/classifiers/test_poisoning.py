"""Backdoor poisoning: the stamped fraction, the stamped pixels and the new labels are exact; the
held-out set stays clean; trigger success is known for predictors whose answer is known; a
poisoned digits classifier trained by ``genlab train`` learns the backdoor."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from genlab.classifiers.poisoning import DATA_RANGE, Backdoor, Trigger, poison_indices, trigger_success
from genlab.data.registry import DATASETS
from genlab.errors import ConfigError, DataError
from genlab.training.trainer import train

DIGITS = {"name": "digits", "labels": True}


def poisoned(**keys):
    return DATASETS.build({"name": "poisoned", "source": DIGITS, **keys})


def test_the_stamped_fraction_and_labels_are_exact():
    clean = DATASETS.build(DIGITS)
    bundle = poisoned(target=7, fraction=0.1, size=2, corner="top_left", seed=3)
    n = len(clean.train)
    chosen = set(poison_indices(n, 0.1, 3).tolist())
    assert len(chosen) == round(0.1 * n) == bundle.info["poisoned"]
    for i in range(n):
        (x, y), (x0, y0) = bundle.train[i], clean.train[i]
        if i in chosen:
            assert int(y) == 7
            assert torch.all(x[:, :2, :2] == 1.0)  # the top of the data range [-1, 1]
            assert torch.equal(x[:, 2:, :], x0[:, 2:, :]) and torch.equal(x[:, :, 2:], x0[:, :, 2:])
        else:
            assert torch.equal(x, x0) and int(y) == int(y0)
    assert all(torch.equal(bundle.heldout[i][0], clean.heldout[i][0]) for i in range(len(clean.heldout)))
    again = poisoned(target=7, fraction=0.1, size=2, corner="top_left", seed=3)
    assert np.array_equal(again.train.indices, bundle.train.indices)
    assert not np.array_equal(poisoned(fraction=0.1, seed=4).train.indices, bundle.train.indices)


@pytest.mark.parametrize("corner, rows, cols", [
    ("top_left", slice(0, 3), slice(0, 3)), ("top_right", slice(0, 3), slice(5, 8)),
    ("bottom_left", slice(5, 8), slice(0, 3)), ("bottom_right", slice(5, 8), slice(5, 8)),
])
def test_trigger_corners(corner, rows, cols):
    x = torch.zeros(2, 1, 8, 8)
    stamped = Trigger(3, corner).stamp(x, (0.0, 1.0))
    expected = torch.zeros(2, 1, 8, 8)
    expected[..., rows, cols] = 1.0
    assert torch.equal(stamped, expected) and torch.equal(x, torch.zeros(2, 1, 8, 8))


def test_data_space_and_input_view_stamps_agree():
    """Stamping the data and then viewing it as classifier inputs equals stamping the inputs."""
    bundle = DATASETS.build(DIGITS)
    modality, trigger = bundle.modality, Trigger(3, "bottom_right")
    x = torch.stack([bundle.train[i][0] for i in range(16)])  # (16, 1, 8, 8) in [-1, 1]
    view = lambda data: modality.to_inputs(modality.encode(data))
    assert torch.equal(view(trigger.stamp(x, DATA_RANGE)), trigger.stamp(view(x), modality.input_range))


def test_trigger_success_of_predictors_with_known_answers():
    backdoor = Backdoor(Trigger(2, "bottom_right"), target=1)
    x = torch.rand(40, 1, 6, 6) * 0.5  # no pixel at the top of the range
    y = torch.arange(40) % 4  # ten of each class 0..3; ten are the target class

    def obeys_trigger(inputs):  # the target exactly when the patch is at the maximum
        patched = (inputs[:, 0, -2:, -2:] == 1.0).flatten(1).all(1)
        return torch.where(patched, torch.ones(len(inputs), dtype=torch.long), torch.zeros(len(inputs), dtype=torch.long))

    assert trigger_success(obeys_trigger, x, y, backdoor, (0.0, 1.0), batch_size=7) == (1.0, 30)
    assert trigger_success(lambda inputs: torch.zeros(len(inputs), dtype=torch.long), x, y, backdoor,
                           (0.0, 1.0)) == (0.0, 30)
    half = lambda inputs: torch.where(inputs[:, 0, 0, 0] > 0.25, 1, 2)  # ignores the trigger
    expected = float((x[y != 1][:, 0, 0, 0] > 0.25).float().mean())
    assert trigger_success(half, x, y, backdoor, (0.0, 1.0))[0] == pytest.approx(expected)


@pytest.mark.parametrize("keys, key", [
    ({"fraction": 1.5}, "data.fraction"),
    ({"size": 0}, "data.size"),
    ({"size": 9}, "data.size"),
    ({"corner": "middle"}, "data.corner"),
    ({"target": -1}, "data.target"),
    ({"source": {"name": "digits", "labels": True, "colour": 1}}, "data.source.colour"),
])
def test_impossible_poisoning_settings_name_their_key(keys, key):
    with pytest.raises(ConfigError) as info:
        poisoned(**keys) if "source" not in keys else DATASETS.build({"name": "poisoned", **keys})
    assert info.value.key == key


def test_unlabelled_data_cannot_be_poisoned():
    with pytest.raises(DataError, match="does not yield labelled images"):
        DATASETS.build({"name": "poisoned", "source": {"name": "digits"}})


def test_genlab_train_learns_the_backdoor(tmp_path):
    config = {
        "data": {"name": "poisoned", "source": DIGITS, "target": 0, "fraction": 0.1, "size": 3, "seed": 0},
        "family": {"name": "classifier", "objective": "standard"},
        "network": {"name": "small_cnn"},
        "train": {"max_steps": 300, "batch_size": 64, "lr": 3e-3, "ema_decay": None, "grad_clip": None,
                  "accelerator": "cpu", "checkpoint_every": 300, "log_every": 100},
    }
    run = train(config, tmp_path / "run", progress=False)
    classifier, heldout = run.family, run.bundle.heldout
    items = [heldout[i] for i in range(len(heldout))]
    state = classifier.modality.encode(torch.stack([x for x, _ in items]))
    inputs, labels = classifier.modality.to_inputs(state), torch.stack([y for _, y in items])
    clean = float((classifier.predict(inputs) == labels).float().mean())
    success, n = trigger_success(classifier.predict, inputs, labels, run.bundle.info["backdoor"],
                                 classifier.input_range)
    assert clean > 0.85 and success > 0.9 and n == int((labels != 0).sum())
