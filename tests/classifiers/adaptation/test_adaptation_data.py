"""The ``domain_adaptation`` data set: batches, the pairing of domains, held-out targets, bad input."""

from __future__ import annotations

import pytest
import torch

from genlab.data.domain_adaptation import DomainBatch, TargetBatch
from genlab.data.registry import DATASETS
from genlab.errors import ConfigError

SMALL = {"name": "domain_adaptation", "source": "uci_digits", "targets": ["mnist_inverted"], "limit": 60,
         "limit_heldout": 30}


@pytest.fixture(scope="module")
def bundle():
    return DATASETS.build(SMALL)


def test_training_items_pair_every_image_of_every_domain_and_collate_to_a_domain_batch(bundle):
    train = bundle.train
    assert len(train) == 60 and len(train.source) == 60 and len(train.targets[0]) == 60
    seen_source, seen_target = set(), set()
    for i in range(len(train)):
        item = train[i]
        seen_source.add(item.source[0].numpy().tobytes())
        seen_target.add(item.targets[0].numpy().tobytes())
    assert len(seen_source) == 60 and len(seen_target) == 60  # one pass uses each image once
    batch = bundle.collate([train[i] for i in range(5)])
    assert isinstance(batch, DomainBatch) and batch.source.inputs.shape == (5, 3, 32, 32)
    assert batch.source.labels.dtype == torch.long and [t.shape for t in batch.targets] == [(5, 3, 32, 32)]
    assert bundle.info["source"] == "uci_digits" and bundle.info["targets"] == ["mnist_inverted"]


def test_a_smaller_domain_is_cycled_so_the_larger_one_is_used_whole():
    bundle = DATASETS.build({**SMALL, "limit": 80, "targets": [{"name": "digit_domain", "domain": "mnist_inverted",
                                                                   "limit": 20, "limit_heldout": 10}]})
    train = bundle.train
    assert len(train) == 80 and len(train.targets[0]) == 20
    targets = {train[i].targets[0].numpy().tobytes() for i in range(80)}
    assert len(targets) == 20


def test_held_out_items_are_the_targets_test_splits_with_their_index(bundle):
    heldout = bundle.heldout
    assert len(heldout) == 30 and len(heldout.splits) == 1
    batch = bundle.collate([heldout[i] for i in (0, 29)])
    assert isinstance(batch, TargetBatch) and batch.domain.tolist() == [0, 0]
    x, y = heldout.splits[0][29]
    assert torch.equal(batch.inputs[1], x) and int(batch.labels[1]) == int(y)


@pytest.mark.parametrize("changes, key", [
    ({"targets": ["no_such_domain"]}, "data.targets[0]"),
    ({"source": "no_such_domain"}, "data.source"),
    ({"targets": ["uci_digits"]}, "data.targets[0]"),  # the source itself
    ({"targets": ["mnist_inverted", "mnist_inverted"]}, "data.targets[1]"),
    ({"targets": []}, "data.targets"),
    ({"limit": 0}, "data.limit"),
    ({"limit_heldout": 0}, "data.limit_heldout"),
    ({"targets": [{"name": "digits", "labels": True}]}, "data.targets[0]"),  # 1×8×8 beside 3×32×32
    ({"targets": [{"name": "digits"}]}, "data.targets[0]"),  # unlabelled
])
def test_bad_input_is_a_one_line_error_naming_the_key(changes, key):
    with pytest.raises(ConfigError) as info:
        DATASETS.build({**SMALL, **changes})
    assert info.value.key == key and "\n" not in str(info.value)
