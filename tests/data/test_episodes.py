"""Few-shot episodes: item i is a pure function of (seed, i); each task holds n_way distinct classes
relabelled 0..n_way-1 in drawing order, support and query disjoint and class by class; bad
arguments are one-line errors naming the key."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from scipy.stats import chisquare

from genlab.data.episodes import EpisodeSet, Task, TaskBatch, collate_tasks
from genlab.data.labelled import scale_uint8
from genlab.errors import ConfigError


def pool(sizes=(6, 7, 8, 9, 10, 6, 7), values=(3, 11, 12, 40, 41, 42, 99)):
    """Inputs (N, 2, 3) whose every entry is the item's pool index, and labels taking ``values``
    (not 0..C-1, not sorted in the pool) with ``sizes[c]`` items of class ``values[c]``."""
    labels = np.concatenate([np.full(n, v) for n, v in zip(sizes, values)])
    labels = labels[np.random.default_rng(5).permutation(len(labels))]
    inputs = torch.arange(len(labels)).reshape(-1, 1, 1).expand(-1, 2, 3).clone()  # (N, 2, 3)
    return inputs, torch.from_numpy(labels)


def pool_index(x: torch.Tensor) -> np.ndarray:
    """The pool index carried by each item of x (n, 2, 3)."""
    assert (x == x[:, :1, :1]).all()
    return x[:, 0, 0].numpy()


@pytest.mark.parametrize("n_way, k_shot, q_query", [(2, 1, 1), (5, 1, 5), (3, 4, 2), (7, 1, 5)])
def test_a_task_is_n_way_distinct_classes_with_disjoint_support_and_query(n_way, k_shot, q_query):
    inputs, labels = pool()
    tasks = EpisodeSet(inputs, labels, n_way, k_shot, q_query, seed=3, length=50)
    assert len(tasks) == 50
    for i in range(len(tasks)):
        task = tasks[i]
        assert isinstance(task, Task)
        assert task.support_x.shape == (n_way * k_shot, 2, 3) and task.query_x.shape == (n_way * q_query, 2, 3)
        assert task.support_y.dtype == torch.long and task.query_y.dtype == torch.long
        # labels 0..n_way-1, class by class
        assert task.support_y.tolist() == [j for j in range(n_way) for _ in range(k_shot)]
        assert task.query_y.tolist() == [j for j in range(n_way) for _ in range(q_query)]
        support, query = pool_index(task.support_x), pool_index(task.query_x)
        assert len(set(support) | set(query)) == len(support) + len(query)  # all distinct, support ∩ query = ∅
        true_support, true_query = labels[support].numpy(), labels[query].numpy()
        drawn = true_support[::k_shot]  # label j = the j-th class drawn
        assert len(set(drawn)) == n_way
        assert np.array_equal(true_support, np.repeat(drawn, k_shot))
        assert np.array_equal(true_query, np.repeat(drawn, q_query))
        classes, support_i, query_i = tasks.indices(i)
        assert np.array_equal(classes, drawn)
        assert np.array_equal(support_i.reshape(-1), support) and np.array_equal(query_i.reshape(-1), query)


def test_the_same_index_always_gives_the_same_task():
    inputs, labels = pool()
    a = EpisodeSet(inputs, labels, 3, 2, 3, seed=7, length=40)
    b = EpisodeSet(inputs, labels, 3, 2, 3, seed=7, length=40)
    forward = [a[i] for i in range(40)]
    backward = [b[i] for i in reversed(range(40))][::-1]  # read in another order, by another object
    for s, t in zip(forward, backward):
        for field in ("support_x", "support_y", "query_x", "query_y"):
            assert torch.equal(getattr(s, field), getattr(t, field))
    assert torch.equal(a[4].support_x, a[4].support_x)
    # other indices and other seeds give other tasks
    assert len({tuple(pool_index(t.support_x)) for t in forward}) > 35
    c = EpisodeSet(inputs, labels, 3, 2, 3, seed=8, length=40)
    assert sum(torch.equal(a[i].support_x, c[i].support_x) for i in range(40)) < 3


def test_classes_and_examples_are_drawn_uniformly():
    sizes = (6, 7, 8, 9, 10, 6, 7)
    inputs, labels = pool(sizes)
    tasks = EpisodeSet(inputs, labels, 2, 1, 1, length=3000)
    drawn = np.concatenate([tasks.indices(i)[0] for i in range(len(tasks))])
    _, class_counts = np.unique(drawn, return_counts=True)
    assert len(class_counts) == 7 and chisquare(class_counts).pvalue > 1e-3
    # within the largest class (label 41) every member is a support example equally often
    members = np.flatnonzero(labels.numpy() == 41)
    picks = np.concatenate([s.reshape(-1) for c, s, _ in map(tasks.indices, range(len(tasks))) if 41 in c])
    hits = np.array([(picks == m).sum() for m in members])
    assert set(np.unique(picks[np.isin(picks, members)])) == set(members)
    assert chisquare(hits).pvalue > 1e-3


def test_transform_and_collate():
    inputs, labels = pool()
    raw = EpisodeSet(inputs.to(torch.uint8), labels, 4, 2, 3, seed=1, length=6)
    scaled = EpisodeSet(inputs.to(torch.uint8), labels, 4, 2, 3, seed=1, length=6, transform=scale_uint8)
    assert torch.equal(scaled[2].support_x, raw[2].support_x.float() / 127.5 - 1.0)
    assert torch.equal(scaled[2].query_x, scale_uint8(raw[2].query_x))
    batch = collate_tasks([scaled[i] for i in range(5)])
    assert isinstance(batch, TaskBatch) and batch.n_tasks == 5
    assert batch.support_x.shape == (5, 8, 2, 3) and batch.support_y.shape == (5, 8)
    assert batch.query_x.shape == (5, 12, 2, 3) and batch.query_y.shape == (5, 12)
    for t in range(5):
        assert torch.equal(batch.query_x[t], scaled[t].query_x) and torch.equal(batch.support_y[t], scaled[t].support_y)
    moved = batch.to("cpu")
    assert isinstance(moved, TaskBatch) and torch.equal(moved.query_y, batch.query_y)
    loader = torch.utils.data.DataLoader(scaled, batch_size=3, collate_fn=collate_tasks)
    first = next(iter(loader))
    assert first.n_tasks == 3 and torch.equal(first.support_x, batch.support_x[:3])


@pytest.mark.parametrize("arguments, key, message", [
    (dict(n_way=8, k_shot=1, q_query=1), "n_way", "must be at most the number of classes (7), got 8"),
    (dict(n_way=1, k_shot=1, q_query=1), "n_way", "must be at least 2, got 1"),
    (dict(n_way=2, k_shot=0, q_query=1), "k_shot", "must be at least 1, got 0"),
    (dict(n_way=2, k_shot=1, q_query=0), "q_query", "must be at least 1, got 0"),
    (dict(n_way=2, k_shot=2, q_query=5), "q_query",
     "with k_shot = 2, must be at most 4 (class 3, the smallest, has 6 examples), got 5"),
    (dict(n_way=2, k_shot=6, q_query=1), "k_shot",
     "must be at most 5, leaving a query example (class 3, the smallest, has 6 examples), got 6"),
    (dict(n_way=2, k_shot=1, q_query=1, length=0), "length", "must be at least 1, got 0"),
    (dict(n_way=2, k_shot=1, q_query=1, seed=-1), "seed", "must not be negative, got -1"),
])
def test_impossible_tasks_are_one_line_errors_naming_the_key(arguments, key, message):
    inputs, labels = pool()
    with pytest.raises(ConfigError) as caught:
        EpisodeSet(inputs, labels, **arguments)
    assert str(caught.value) == f"key '{key}': {message}"


def test_inputs_and_labels_must_match():
    inputs, labels = pool()
    with pytest.raises(ValueError, match=r"inputs \(53, 2, 3\) and labels \(52,\)"):
        EpisodeSet(inputs, labels[:-1], 2, 1, 1)
    with pytest.raises(IndexError):
        EpisodeSet(inputs, labels, 2, 1, 1, length=4)[4]
