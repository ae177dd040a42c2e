"""The few-shot data entries (sinusoid, mnist_episodes), the few-shot networks, and bad input to
the meta-learners: one-line errors naming the key."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from torch import nn

from genlab.build import build_family
from genlab.classifiers.meta.learner import MetaLearner
from genlab.config import load_config
from genlab.data.registry import DATASETS
from genlab.errors import ConfigError
from genlab.networks.few_shot import Conv4, FewShotMLP, TaskBatchNorm
from support import CONFIGS

SINUSOID_MAML = {"data": {"name": "sinusoid", "k_shot": 5, "q_query": 5, "length": 100},
                 "family": {"name": "maml", "loss": "mse"}, "network": {"name": "few_shot_mlp"}}


def test_sinusoid_tasks_are_finns_sine_waves_and_repeat_exactly():
    bundle = DATASETS.build({"name": "sinusoid", "k_shot": 5, "q_query": 7, "length": 50, "heldout_length": 20})
    assert bundle.modality.shapes() == {"x": (1,)} and len(bundle.train) == 50 and len(bundle.heldout) == 20
    for tasks in (bundle.train, bundle.heldout):
        for i in range(len(tasks)):
            task, (a, phi, x) = tasks[i], tasks.draw(i)
            assert 0.1 <= a <= 5.0 and 0.0 <= phi <= math.pi and np.all(np.abs(x) <= 5.0)
            assert task.support_x.shape == (5, 1) and task.query_y.shape == (7, 1)
            xs = torch.cat([task.support_x, task.query_x])
            ys = torch.cat([task.support_y, task.query_y])
            torch.testing.assert_close(ys, a * torch.sin(xs.double() - phi).float(), rtol=1e-5, atol=1e-5)
    again = DATASETS.build({"name": "sinusoid", "k_shot": 5, "q_query": 7, "length": 50, "heldout_length": 20})
    assert torch.equal(again.train[3].query_y, bundle.train[3].query_y)
    assert not torch.equal(bundle.train[3].support_x, bundle.heldout[3].support_x)  # separate streams


def test_mnist_episodes_draw_only_their_own_classes():
    bundle = DATASETS.build({"name": "mnist_episodes", "train_classes": [0, 1, 2], "test_classes": [7, 8, 9],
                             "n_way": 3, "k_shot": 2, "q_query": 3, "per_class": 10})
    assert set(bundle.train.classes.tolist()) == {0, 1, 2} and set(bundle.heldout.classes.tolist()) == {7, 8, 9}
    task = bundle.heldout[0]
    assert task.support_x.shape == (6, 1, 28, 28) and task.query_y.tolist() == [0, 0, 0, 1, 1, 1, 2, 2, 2]
    assert float(task.support_x.min()) >= -1 and float(task.support_x.max()) <= 1


def test_networks_have_finns_sizes_and_a_named_head():
    mlp = FewShotMLP({"x": (1,)})
    assert sum(p.numel() for p in mlp.parameters()) == (1 * 40 + 40) + (40 * 40 + 40) + (40 + 1)
    conv = Conv4({"x": (1, 28, 28)}, classes=20)
    assert conv.head.in_features == 64 and conv(torch.zeros(3, 1, 28, 28)).shape == (3, 20)
    assert conv.features(torch.zeros(2, 1, 28, 28)).shape == (2, 64)
    assert Conv4({"x": (3, 84, 84)}, classes=5, channels=32).head.in_features == 32 * 5 * 5  # MiniImagenet


def test_task_batch_norm_is_batch_normalisation_with_batch_statistics():
    x = torch.randn(6, 4, 5, 5, dtype=torch.float64)
    norm = TaskBatchNorm(4).double()
    with torch.no_grad():
        norm.weight.uniform_(0.5, 2)
        norm.bias.uniform_(-1, 1)
    reference = nn.functional.batch_norm(x, None, None, norm.weight, norm.bias, training=True, eps=1e-5)
    torch.testing.assert_close(norm(x), reference, rtol=1e-12, atol=1e-12)
    flat = torch.randn(7, 4, dtype=torch.float64)
    torch.testing.assert_close(norm(flat), nn.functional.batch_norm(flat, None, None, norm.weight, norm.bias,
                                                                    training=True), rtol=1e-12, atol=1e-12)


def _one_line(exc: pytest.ExceptionInfo) -> str:
    message = str(exc.value)
    assert "\n" not in message
    return message


@pytest.mark.parametrize("family,key", [
    ({"name": "maml", "loss": "mse", "inner_lr": 0.0}, "family.inner_lr"),
    ({"name": "reptile", "loss": "mse", "inner_lr": -0.1}, "family.inner_lr"),
    ({"name": "anil", "loss": "mse", "inner_steps": 0}, "family.inner_steps"),
    ({"name": "maml", "loss": "hinge"}, "family.loss"),
    ({"name": "pretrain", "loss": "cross_entropy"}, "family.loss"),
])
def test_impossible_learner_settings_are_one_line_errors(family, key):
    with pytest.raises(ConfigError) as exc:
        build_family({**SINUSOID_MAML, "family": family})
    assert key in _one_line(exc)


def test_anil_needs_a_network_with_a_head():
    config = {**SINUSOID_MAML, "family": {"name": "anil", "loss": "mse"},
              "network": {"name": "mlp_classifier", "classes": 2}}
    with pytest.raises(ConfigError) as exc:
        build_family(config)
    assert "network.name" in _one_line(exc) and "head" in str(exc.value)


@pytest.mark.parametrize("data,key,words", [
    ({"train_classes": [0, 1, 2, 3], "test_classes": [3, 4, 5]}, "data.test_classes", "3"),
    ({"k_shot": 8, "q_query": 5, "per_class": 10}, "data.q_query", "10 examples"),
    ({"k_shot": 10, "q_query": 1, "per_class": 10}, "data.k_shot", ""),
    ({"n_way": 6}, "data.n_way", "number of classes"),
    ({"train_classes": [0, 10]}, "data.train_classes", "0..9"),
], ids=["overlap", "shots-and-queries", "shots", "ways", "no-such-digit"])
def test_impossible_episodes_are_one_line_errors(data, key, words):
    with pytest.raises(ConfigError) as exc:
        DATASETS.build({"name": "mnist_episodes", **data})
    message = _one_line(exc)
    assert key in message and words in message


def test_a_meta_learner_refuses_unlabelled_batches():
    model, bundle = build_family({**SINUSOID_MAML, "family": {"name": "maml", "loss": "mse"}})
    with pytest.raises(ConfigError, match="few-shot tasks"):
        model(torch.zeros(4, 1))


@pytest.mark.parametrize("path", sorted((CONFIGS / "meta").glob("*.yaml")), ids=lambda p: p.stem)
def test_every_shipped_meta_config_builds(path):
    model, bundle = build_family(load_config(path))
    assert isinstance(model, MetaLearner) and len(bundle.train) > 0 and len(bundle.heldout) > 0
