"""Task streams on scikit-learn's digits: what each experience holds, and bad input as one-line
config errors naming the key."""

from __future__ import annotations

import pytest
import torch

from genlab.build import build_stream
from genlab.classifiers.continual.experience import labels_of
from genlab.classifiers.continual.streams import STREAMS, Rotation
from genlab.data.registry import DATASETS
from genlab.errors import ConfigError

DIGITS = {"name": "digits", "labels": True}


@pytest.fixture(scope="module")
def bundle():
    return DATASETS.build(DIGITS)


def stream(section, bundle):
    return build_stream({"data": DIGITS, "stream": section}, bundle)


def test_permuted_tasks_are_fixed_distinct_pixel_permutations(bundle):
    s = stream({"name": "permuted", "n_tasks": 3, "seed": 5}, bundle)
    assert s.scenario == "domain" and len(s) == 3 and s.task_heads is None
    x, y = bundle.train[7]
    views = [e.train[7] for e in s]
    for xt, yt in views:  # the same pixels, reordered; the label kept
        assert yt == y and torch.equal(xt.flatten().sort().values, x.flatten().sort().values)
    assert not torch.equal(views[0][0], x) and not torch.equal(views[0][0], views[1][0])
    perm = s.experiences[1].train.transform.perm
    assert torch.equal(views[1][0].flatten(), x.flatten()[perm])
    assert torch.equal(s.experiences[1].test[3][0].flatten(), bundle.heldout[3][0].flatten()[perm])  # same task
    again = stream({"name": "permuted", "n_tasks": 3, "seed": 5}, bundle)
    assert torch.equal(again.experiences[2].train.transform.perm, s.experiences[2].train.transform.perm)
    identity = stream({"name": "permuted", "n_tasks": 2, "first_identity": True}, bundle)
    assert torch.equal(identity.experiences[0].train[7][0], x)


def test_rotation_by_a_right_angle_is_rot90_and_by_zero_the_identity(bundle):
    x = bundle.train[0][0]  # (1, 8, 8)
    assert torch.allclose(Rotation(90.0, fill=-1.0)(x), torch.rot90(x, 1, dims=(1, 2)), atol=1e-5)
    assert torch.allclose(Rotation(-90.0, fill=-1.0)(x), torch.rot90(x, -1, dims=(1, 2)), atol=1e-5)
    assert torch.allclose(Rotation(0.0, fill=-1.0)(x), x, atol=1e-6)
    corner = Rotation(45.0, fill=-1.0)(torch.ones(1, 8, 8))
    assert corner[0, 0, 0] < 0 and torch.isclose(corner[0, 4, 4], torch.tensor(1.0))  # filled outside, kept inside
    s = stream({"name": "rotated", "angles": [0, 90]}, bundle)
    assert torch.allclose(s.experiences[1].test[2][0], torch.rot90(bundle.heldout[2][0], 1, dims=(1, 2)), atol=1e-5)


def test_split_holds_each_group_and_task_heads_only_in_the_task_scenario(bundle):
    s = stream({"name": "split", "classes_per_task": 2}, bundle)
    assert [e.classes for e in s] == [(0, 1), (2, 3), (4, 5), (6, 7), (8, 9)] and s.scenario == "task"
    assert s.task_heads == [(0, 1), (2, 3), (4, 5), (6, 7), (8, 9)]
    all_train = labels_of(bundle.train)
    for e in s:
        train, test = labels_of(e.train), labels_of(e.test)
        assert set(train.tolist()) == set(e.classes) == set(test.tolist())
        assert len(train) == int(torch.isin(all_train, torch.tensor(e.classes)).sum())
    c = stream({"name": "split", "groups": [[3, 9], [0]], "scenario": "class"}, bundle)
    assert [e.classes for e in c] == [(3, 9), (0,)] and c.task_heads is None


@pytest.mark.parametrize("section, key, words", [
    ({"name": "split", "groups": [[0, 1], [1, 2]]}, "stream.groups", "two groups"),
    ({"name": "split", "groups": [[0, 12]]}, "stream.groups", "class 12 is not in the data"),
    ({"name": "split", "groups": [[0], []]}, "stream.groups", "non-empty"),
    ({"name": "split", "classes_per_task": 3}, "stream.classes_per_task", "divide the 10 classes"),
    ({"name": "split", "classes_per_task": 2, "groups": [[0]]}, "stream", "either"),
    ({"name": "split", "classes_per_task": 2, "scenario": "domain"}, "stream.scenario", "expected one of"),
    ({"name": "permuted", "n_tasks": 0}, "stream.n_tasks", "at least 1"),
    ({"name": "permuted", "n_task": 3}, "stream.n_task", "unknown key"),
    ({"name": "rotated", "angles": []}, "stream.angles", "at least one angle"),
    ({"name": "shuffled"}, "stream.name", "unknown stream"),
])
def test_bad_streams_are_one_line_errors_naming_the_key(bundle, section, key, words):
    with pytest.raises(ConfigError) as info:
        stream(section, bundle)
    assert info.value.key == key and words in info.value.message and "\n" not in str(info.value)


def test_an_empty_experience_is_an_error_naming_the_key():
    tiny = DATASETS.build({**DIGITS, "n_heldout": 1})  # one test image: every other class has no test item
    with pytest.raises(ConfigError) as info:
        stream({"name": "split", "classes_per_task": 5}, tiny)
    assert info.value.key == "stream.groups" and "0 test items" in info.value.message
    empty = DATASETS.build({**DIGITS, "n_heldout": 0})
    with pytest.raises(ConfigError, match="training and test items") as info:
        stream({"name": "permuted", "n_tasks": 2}, empty)
    assert info.value.key == "data"
