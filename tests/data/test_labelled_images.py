"""Labels for the image datasets: ``digits`` with ``labels: true`` and ``npz`` with ``labels_key``
yield LabelledBatches of the same images, with the right class per image; a generative family
computes the same loss on a labelled batch as on the plain one."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from sklearn.datasets import load_digits

from genlab.build import build_family
from genlab.config import load_config
from genlab.data.registry import DATASETS
from genlab.errors import DataError
from genlab.modalities.base import LabelledBatch
from support import CONFIGS


def test_labelled_digits_are_the_same_images_with_their_classes():
    plain, labelled = DATASETS.build({"name": "digits"}), DATASETS.build({"name": "digits", "labels": True})
    assert plain.collate is None  # unchanged for the generative configs
    for part in ("train", "heldout"):
        items, labelled_items = getattr(plain, part), getattr(labelled, part)
        batch = labelled.collate([labelled_items[i] for i in range(len(labelled_items))])
        assert isinstance(batch, LabelledBatch) and batch.labels.dtype == torch.long
        assert torch.equal(batch.inputs, items.data)
    raw = load_digits()
    order = np.random.default_rng(0).permutation(len(raw.target))  # the bundle's split (split_seed 0)
    assert labelled.heldout.labels.tolist() == raw.target[order[:297]].tolist()
    assert labelled.train.labels.tolist() == raw.target[order[297:]].tolist()
    # each held-out image is the sklearn image of that class
    expected = torch.from_numpy((raw.images[order[:297]] / 8.0 - 1.0).astype(np.float32))[:, None]
    assert torch.equal(labelled.heldout.inputs, expected)


def test_generative_family_ignores_the_labels():
    losses = []
    for labels in (False, True):
        cfg = load_config(CONFIGS / "digits" / "ddpm.yaml")
        cfg["data"]["labels"] = labels
        torch.manual_seed(0)
        family, bundle = build_family(cfg)
        items = [bundle.train[i] for i in range(8)]
        batch = bundle.collate(items) if bundle.collate else torch.stack(items)
        torch.manual_seed(1)
        with torch.no_grad():
            losses.append(family(batch)[0])
    assert torch.equal(losses[0], losses[1])


def write_npz(path, **arrays):
    np.savez(path, **arrays)
    return str(path)


def test_npz_labels_key(tmp_path):
    rng = np.random.default_rng(0)
    images, labels = rng.integers(0, 256, (10, 4, 4), dtype=np.uint8), np.arange(10) % 3
    path = write_npz(tmp_path / "set.npz", images=images, classes=labels)
    bundle = DATASETS.build({"name": "npz", "path": path, "labels_key": "classes", "heldout_fraction": 0.2})
    batch = bundle.collate([bundle.train[i] for i in range(len(bundle.train))])
    assert isinstance(batch, LabelledBatch) and batch.inputs.shape == (8, 1, 4, 4)
    pixels = np.round((batch.inputs.numpy()[:, 0] + 1) * 127.5).astype(np.uint8)  # back to the stored bytes
    for image, label in zip(pixels, batch.labels.tolist()):
        (i,) = [k for k in range(10) if np.array_equal(images[k], image)]
        assert labels[i] == label
    plain = DATASETS.build({"name": "npz", "path": write_npz(tmp_path / "plain.npz", images=images)})
    assert plain.collate is None and plain.train.data.shape == (9, 1, 4, 4)


@pytest.mark.parametrize("labels, message", [
    (np.arange(9), "holds 9 labels for 10 images"),
    (np.linspace(0, 1, 10), "expected one integer class per image"),
    (-np.arange(10), "negative class"),
])
def test_npz_bad_labels(tmp_path, labels, message):
    images = np.zeros((10, 4, 4), dtype=np.uint8)
    path = write_npz(tmp_path / "set.npz", images=images, y=labels)
    with pytest.raises(DataError, match=message) as err:
        DATASETS.build({"name": "npz", "path": path, "labels_key": "y"})
    assert str(err.value).startswith(path)
    with pytest.raises(DataError, match="key 'data.labels_key': no array 'z'"):
        DATASETS.build({"name": "npz", "path": path, "labels_key": "z"})
