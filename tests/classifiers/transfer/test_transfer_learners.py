"""The STARTUP student against its teacher: it starts as the teacher's network, the KL term is 0
while the two agree, the soft labels its KL sees are exactly those of the teacher run loaded on its
own (frozen, in eval mode, also while the student trains), and only the student is optimised."""

from __future__ import annotations

import json

import pytest
import torch
import torch.nn.functional as F
from transfer_support import student_config

from genlab.build import build_family
from genlab.classifiers.transfer.startup import soft_label_kl
from genlab.errors import ConfigError
from genlab.sampling.run import Run

IDENTITY_VIEWS = {"crop_scale": [1.0, 1.0], "rotation": 0.0, "brightness": 0.0, "contrast": 0.0}


def build(teacher_run, family="startup", **keys):
    torch.manual_seed(0)
    learner, bundle = build_family(student_config(teacher_run, family, **keys))
    return learner, bundle.collate([bundle.train[i] for i in range(32)])


def test_the_student_starts_as_the_teacher_and_its_kl_is_zero_while_they_agree(teacher_run):
    student, batch = build(teacher_run, reinit_head=False, augment_base=False, **IDENTITY_VIEWS)
    teacher = Run(teacher_run).family.network
    for name, value in teacher.state_dict().items():
        assert torch.equal(student.network.state_dict()[name], value)
    student.train()
    _, metrics = student(batch)
    assert metrics["kl"] == pytest.approx(0.0, abs=1e-6) and metrics["agreement"] == 1.0  # float32 resampling


def test_a_reinitialised_head_disagrees_with_the_teacher(teacher_run):
    student, batch = build(teacher_run, **IDENTITY_VIEWS)
    teacher = Run(teacher_run).family.network
    assert torch.equal(student.network.layers[0].weight, teacher.layers[0].weight)  # features copied
    assert not torch.equal(student.split.head.weight, teacher.layers[-1].weight)  # head drawn anew
    _, metrics = student(batch)
    assert metrics["kl"] > 1e-3


def test_the_kl_sees_exactly_the_soft_labels_of_the_teacher_run(teacher_run):
    student, batch = build(teacher_run)
    student.train()
    assert student.network.training and not student.teacher.training
    assert not any(p.requires_grad for p in student.teacher.parameters())
    teacher = Run(teacher_run).family.network  # loaded on its own, in eval mode
    x_base, _, x_target = student.batch_inputs(batch)
    p_teacher = F.softmax(teacher(x_target), 1)
    assert torch.equal(student.soft_labels(x_target), p_teacher.detach())

    torch.manual_seed(7)
    loss, metrics = student(batch)
    torch.manual_seed(7)  # the same views, in the order the loss draws them: base, then two target views
    student.augmentation(x_base)
    v_1, v_2 = student.augmentation(x_target), student.augmentation(x_target)
    kl = 0.5 * (soft_label_kl(student.network(v_1), p_teacher) + soft_label_kl(student.network(v_2), p_teacher))
    assert metrics["kl"] == pytest.approx(kl.item(), rel=1e-6)

    params = student.optimizer_parameters()[0]
    assert {id(p) for p in params} == {id(p) for p in [*student.network.parameters(), *student.projection.parameters()]}
    before = {k: v.clone() for k, v in student.teacher.state_dict().items()}
    optimizer = torch.optim.SGD(params, lr=0.5)
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    assert all(torch.equal(before[k], v) for k, v in student.teacher.state_dict().items())  # frozen
    assert torch.equal(student.soft_labels(x_target), p_teacher.detach())
    assert not torch.equal(student.network.layers[0].weight, teacher.layers[0].weight)  # the student moved


def test_without_simclr_the_projection_head_is_not_trained(teacher_run):
    student, batch = build(teacher_run, simclr_weight=0.0)
    _, metrics = student(batch)
    assert "nt_xent" not in metrics
    assert {id(p) for p in student.optimizer_parameters()[0]} == {id(p) for p in student.network.parameters()}


def test_simclr_trains_features_and_projection_from_random_weights(teacher_run):
    learner, batch = build(teacher_run, family="simclr")
    teacher = Run(teacher_run).family.network
    assert not torch.equal(learner.network.layers[0].weight, teacher.layers[0].weight)
    loss, metrics = learner(batch)
    assert loss.item() == metrics["nt_xent"] > 0
    trained = {id(p) for p in learner.optimizer_parameters()[0]}
    assert trained.isdisjoint({id(p) for p in learner.split.head.parameters()})
    started, _ = build(teacher_run, family="simclr", teacher=str(teacher_run))  # or from a teacher
    assert torch.equal(started.network.layers[0].weight, teacher.layers[0].weight)


def test_bad_teachers_are_one_line_errors(teacher_run, tmp_path):
    def error(config):
        with pytest.raises(ConfigError) as info:
            build_family(config)
        assert "\n" not in str(info.value)
        return info.value

    assert error(student_config(tmp_path / "missing")).key == "family.teacher"
    (tmp_path / "vae").mkdir()
    (tmp_path / "vae" / "config.json").write_text(json.dumps({"family": {"name": "vae"}}))
    assert "not a classifier run" in error(student_config(tmp_path / "vae")).message
    wider = student_config(teacher_run)
    wider["network"] = {**wider["network"], "hidden": 32}
    assert error(wider).key == "network"
    other = tmp_path / "other"
    other.mkdir()
    for name in ("config.json", "weights.safetensors"):
        (other / name).write_bytes((teacher_run / name).read_bytes())
    (other / "modality.json").write_text(json.dumps({"name": "images", "channels": 1, "height": 8, "width": 8,
                                                     "levels": 17}))
    assert "1×8×8" in error(student_config(other)).message
    assert error(student_config(teacher_run, teacher="")).key == "family.teacher"
