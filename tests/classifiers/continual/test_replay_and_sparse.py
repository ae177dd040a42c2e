"""Coreset replay's class balance, task-incremental masking, joint training's data and the sparse
network's k winners and heterogeneous dropout."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from genlab.classifiers.continual.methods.joint import Joint
from genlab.errors import ConfigError
from genlab.networks.registry import NETWORKS
from genlab.networks.sparse import KWinners
from helpers import context, experience, image_learner


def labelled_images(n: int, classes: list[int], seed: int):
    g = torch.Generator().manual_seed(seed)
    x = torch.rand(n, 1, 4, 4, generator=g) * 2 - 1  # (n, 1, 4, 4) data space
    return x, torch.tensor(classes * (n // len(classes)))


def test_coreset_shares_its_memory_equally_among_experience_class_cells():
    learner = image_learner({"name": "coreset", "memory": 12, "replay_batch_size": 5}, classes=4)
    x0, y0 = labelled_images(40, [0, 1], 0)
    x1, y1 = labelled_images(40, [2, 3], 1)
    first, second = experience(x0, y0, 0), experience(x1, y1, 1)
    learner.method.after_experience(learner, first, context(0))
    m = learner.method
    assert int(m.count) == 12 and sorted(m.labels[:12].tolist()) == [0] * 6 + [1] * 6
    kept_first = m.inputs[:12][m.labels[:12] == 0][:3].clone()
    learner.method.after_experience(learner, second, context(1))
    assert int(m.count) == 12 and sorted(m.labels.tolist()) == [0, 0, 0, 1, 1, 1, 2, 2, 2, 3, 3, 3]
    assert m.experience.tolist().count(0) == 6 and m.experience.tolist().count(1) == 6
    assert torch.equal(m.inputs[m.labels == 0], kept_first)  # an old cell keeps the first of its examples
    for stored, label in zip(m.inputs, m.labels):  # every stored example is a real item of its class
        source = x0 if label < 2 else x1
        match = [i for i in range(40) if torch.allclose(0.5 * source[i].double() + 0.5, stored)]
        assert match and int((y0 if label < 2 else y1)[match[0]]) == label
    xb, yb = m.batch(learner, torch.zeros(2, 1, 4, 4, dtype=torch.float64), torch.tensor([0, 1]))
    assert xb.shape == (7, 1, 4, 4) and set(yb[2:].tolist()) <= {0, 1, 2, 3}
    small = image_learner({"name": "coreset", "memory": 1}, classes=4)
    with pytest.raises(ConfigError) as info:
        small.method.after_experience(small, first, context(0))
    assert info.value.key == "family.method.memory"


def test_task_heads_mask_logits_to_the_label_group():
    learner = image_learner("finetune", classes=4)
    learner.use_task_heads([(0, 1), (2, 3)])
    logits = torch.tensor([[1.0, 2.0, 3.0, 4.0], [1.0, 2.0, 3.0, 4.0]], dtype=torch.float64)
    y = torch.tensor([1, 2])
    masked = learner.mask_logits(logits, y)
    assert torch.isinf(masked[0, 2:]).all() and torch.isinf(masked[1, :2]).all()
    expected = (F.cross_entropy(logits[:1, :2], y[:1]) + F.cross_entropy(logits[1:, 2:], y[1:] - 2)) / 2
    assert torch.isclose(F.cross_entropy(masked, y), expected)
    learner.use_task_heads(None)
    assert torch.equal(learner.mask_logits(logits, y), logits)


def test_joint_training_trains_on_every_experience_seen():
    x0, y0 = labelled_images(8, [0, 1], 0)
    x1, y1 = labelled_images(6, [2, 3], 1)
    seen = (experience(x0, y0, 0), experience(x1, y1, 1))
    data = Joint().train_set(seen[1], context(1, seen=seen))
    assert len(data) == 14 and torch.equal(data[9][0], x1[1])


def test_k_winners_keep_the_k_largest_and_heterogeneous_dropout_spares_unused_units():
    layer = KWinners(6, k=2, rho=math.log(4.0)).eval()
    z = torch.tensor([[3.0, -1.0, 2.0, 0.5, 1.0, -2.0], [-3.0, -1.0, -2.0, -0.5, 5.0, -0.2]])
    assert torch.equal(layer(z), torch.tensor([[3.0, 0, 2.0, 0, 0, 0], [0, 0, 0, 0, 5.0, 0]]))  # ReLU of winners
    layer.past.copy_(torch.tensor([0.0, 2.0, 4.0, 0.0, 0.0, 0.0]))
    assert torch.allclose(layer.keep_probability(), torch.tensor([1.0, 0.5, 0.25, 1.0, 1.0, 1.0]))  # 4^(-a/4)
    layer.rho = 50.0  # unit 2 is (almost) never kept while training: it cannot win
    layer.train()
    torch.manual_seed(0)
    z = torch.zeros(500, 6)
    z[:, 2] = 10.0  # unit 2 would always win
    out = layer(z + 0.01 * torch.randn(500, 6))
    assert (out[:, 2] == 0).all() and ((out != 0).sum(1) <= 2).all()
    assert layer.current[2] == 0 and layer.current.sum() > 0
    counted = layer.current.clone()
    layer.end_experience()
    assert torch.equal(layer.past, torch.tensor([0.0, 2.0, 4.0, 0.0, 0.0, 0.0]) + counted)
    assert layer.current.sum() == 0


def test_sparse_mlp_builds_from_its_config_keys():
    net = NETWORKS.build({"name": "sparse_mlp", "hidden": 16, "depth": 2, "k": 4, "rho": 1.0}, shapes={"x": (1, 4, 4)})
    assert net(torch.rand(3, 1, 4, 4)).shape == (3, 10)
    with pytest.raises(ConfigError) as info:
        NETWORKS.build({"name": "sparse_mlp", "hidden": 16, "k": 17}, shapes={"x": (1, 4, 4)})
    assert info.value.key == "network.k" and "at most hidden" in info.value.message
