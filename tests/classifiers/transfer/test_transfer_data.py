"""The few_shot_transfer data: the unlabelled pool and the evaluation characters share no
character and no image; batches are a pure function of their pool indices; bad sections are
one-line errors naming the key."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from transfer_support import DATA

from genlab.data.few_shot_transfer import TransferBatch, split_characters
from genlab.data.omniglot import background_pool
from genlab.data.registry import DATASETS
from genlab.errors import ConfigError, DataError


@pytest.fixture(scope="module")
def bundle():
    return DATASETS.build(DATA)


def test_pool_and_evaluation_characters_are_disjoint_and_cover_the_background(bundle):
    pool, evaluation = set(bundle.info["pool_characters"]), set(bundle.info["evaluation_characters"])
    everything = set(np.unique(background_pool(28, "both").character).tolist())
    assert pool.isdisjoint(evaluation) and pool | evaluation == everything
    assert len(pool) == round(0.5 * len(everything))
    assert set(bundle.heldout.labels.tolist()) == evaluation  # held-out images are labelled by character
    pool_rows = {bytes(x.numpy()) for x in bundle.train.images}
    held_rows = {bytes(x.numpy()) for x in bundle.heldout.inputs}
    assert pool_rows.isdisjoint(held_rows)  # no image in both
    assert len(bundle.train) + len(bundle.heldout) == len(background_pool(28, "both").character)


def test_the_split_follows_its_seed_and_fraction():
    characters = np.repeat(np.arange(40), 3)
    a, b = split_characters(characters, 0.25, 7), split_characters(characters, 0.25, 7)
    assert np.array_equal(a.pool, b.pool) and len(a.pool) == 10 and len(a.evaluation) == 30
    assert not np.array_equal(a.pool, split_characters(characters, 0.25, 8).pool)


def test_a_batch_is_a_pure_function_of_its_pool_indices(bundle):
    items = [bundle.train[i] for i in (5, 17, 3, 900)]
    first, again = bundle.collate(items), bundle.collate(list(reversed(items)))
    assert isinstance(first, TransferBatch)
    assert torch.equal(first.base.inputs, again.base.inputs) and torch.equal(first.base.labels, again.base.labels)
    assert torch.equal(first.target, torch.stack([bundle.train[i][1] for i in (5, 17, 3, 900)]))
    other = bundle.collate([bundle.train[i] for i in (5, 17, 3, 901)])
    assert not torch.equal(first.base.inputs, other.base.inputs)
    big = bundle.collate([bundle.train[i] for i in range(64)])
    assert len({bytes(x.numpy()) for x in big.base.inputs}) == 64  # drawn without replacement
    assert big.base.inputs.shape == big.target.shape == (64, 1, 28, 28)
    assert -1 <= big.target.min() and big.target.max() <= 1


@pytest.mark.parametrize("change,key", [
    ({"base": {"name": "digits", "labels": True}}, "data.size"),
    ({"size": 20}, "data.size"),
    ({"pool_fraction": 1.0}, "data.pool_fraction"),
    ({"base": {"name": "mnist", "limit": 0}}, "data.base.limit"),
    ({"base": {"name": "digits"}}, "data.base"),
    ({"base": "mnist"}, "data.base"),
])
def test_bad_sections_are_one_line_errors_naming_the_key(change, key):
    with pytest.raises((ConfigError, DataError)) as info:
        DATASETS.build({**DATA, **change})
    assert info.value.key == key and "\n" not in str(info.value)


def test_held_out_batches_through_the_training_collate_are_refused(bundle):
    with pytest.raises(ConfigError) as info:
        bundle.collate([bundle.heldout[0], bundle.heldout[1]])
    assert info.value.key == "train.val_every"
