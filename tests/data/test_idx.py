"""MNIST-format IDX files: plain and gzipped files read back exactly; a wrong magic number, a
truncated file and image/label counts that differ are one-line DataErrors naming the file; the
``idx`` dataset yields labelled batches with the given or a drawn held-out set."""

from __future__ import annotations

import gzip
import re

import numpy as np
import pytest
import torch

from genlab.data.idx import read_idx, read_labelled
from genlab.data.registry import DATASETS
from genlab.errors import ConfigError, DataError
from genlab.modalities.base import LabelledBatch


def idx_bytes(array: np.ndarray) -> bytes:
    """``array`` (uint8) in the IDX format: magic 0x0000 08 <ndim>, big-endian sizes, the bytes."""
    header = bytes([0, 0, 0x08, array.ndim]) + b"".join(int(n).to_bytes(4, "big") for n in array.shape)
    return header + array.astype(np.uint8).tobytes()


def write(path, array: np.ndarray, gz: bool = False):
    data = idx_bytes(array)
    path.write_bytes(gzip.compress(data) if gz else data)
    return path


@pytest.fixture
def files(tmp_path):
    rng = np.random.default_rng(0)
    images, labels = rng.integers(0, 256, (20, 5, 6), dtype=np.uint8), rng.integers(0, 10, 20, dtype=np.uint8)
    return {
        "images": images, "labels": labels,
        "train_images": write(tmp_path / "train-images-idx3-ubyte.gz", images, gz=True),
        "train_labels": write(tmp_path / "train-labels-idx1-ubyte", labels),
        "heldout_images": write(tmp_path / "t10k-images-idx3-ubyte", images[:4]),
        "heldout_labels": write(tmp_path / "t10k-labels-idx1-ubyte.gz", labels[:4], gz=True),
    }


def test_magic_numbers_are_mnists(files):
    assert idx_bytes(files["images"])[:4] == (2051).to_bytes(4, "big")
    assert idx_bytes(files["labels"])[:4] == (2049).to_bytes(4, "big")


def test_files_read_back_exactly(files):
    images, labels = read_labelled(files["train_images"], files["train_labels"])
    assert images.dtype == np.uint8 and np.array_equal(images, files["images"])
    assert np.array_equal(labels, files["labels"])


def test_wrong_magic_number(files):
    with pytest.raises(DataError, match="magic number 2049 \\(that of an IDX labels file\\); an IDX images "
                                        "file starts with 2051") as err:
        read_idx(files["train_labels"], "images")
    assert str(err.value).startswith(str(files["train_labels"])) and "\n" not in str(err.value)
    other = files["train_labels"].with_name("noise")
    other.write_bytes(b"\x12\x34\x56\x78" + bytes(16))
    with pytest.raises(DataError, match="magic number 305419896; an IDX labels file starts with 2049"):
        read_idx(other, "labels")


@pytest.mark.parametrize("cut, message", [
    (2, "not even the 4-byte magic number"),
    (10, "shorter than the 16-byte header"),
    (100, "the header says 20 x 5 x 6 = 600 bytes of images, the file holds 84"),
])
def test_truncated_file(files, tmp_path, cut, message):
    path = tmp_path / "cut-idx3-ubyte"
    path.write_bytes(idx_bytes(files["images"])[:cut])
    with pytest.raises(DataError, match=re.escape(message)) as err:
        read_idx(path, "images")
    assert str(err.value).startswith(str(path)) and "truncated" in str(err.value)


def test_truncated_gzip_and_trailing_bytes(files, tmp_path):
    data = files["train_images"].read_bytes()
    (tmp_path / "cut.gz").write_bytes(data[: len(data) // 2])
    with pytest.raises(DataError, match="truncated gzip stream"):
        read_idx(tmp_path / "cut.gz", "images")
    (tmp_path / "long").write_bytes(idx_bytes(files["labels"]) + b"\0\0")
    with pytest.raises(DataError, match="2 bytes after the 20 bytes the header announces"):
        read_idx(tmp_path / "long", "labels")
    with pytest.raises(DataError, match="no such file"):
        read_idx(tmp_path / "absent", "labels")


def test_counts_must_agree(files, tmp_path):
    short = write(tmp_path / "short-labels", files["labels"][:19])
    with pytest.raises(DataError, match="20 images but 19 labels in .*short-labels") as err:
        read_labelled(files["train_images"], short)
    assert str(err.value).startswith(str(files["train_images"]))


def test_idx_dataset_with_heldout_files(files):
    section = {k: str(v) for k, v in files.items() if k.startswith(("train_", "heldout_"))}
    bundle = DATASETS.build({"name": "idx", **section})
    assert (len(bundle.train), len(bundle.heldout)) == (20, 4)
    assert bundle.modality.shapes() == {"x": (1, 5, 6)} and bundle.modality.levels == 256
    batch = bundle.collate([bundle.train[i] for i in range(20)])
    assert isinstance(batch, LabelledBatch) and batch.labels.dtype == torch.long
    expected = torch.from_numpy(files["images"]).float()[:, None] / 127.5 - 1  # x = 2y/255 - 1
    assert torch.equal(batch.inputs, expected) and batch.labels.tolist() == files["labels"].tolist()


def test_idx_dataset_draws_a_heldout_split(files):
    section = {"name": "idx", "train_images": str(files["train_images"]), "train_labels": str(files["train_labels"]),
               "heldout_fraction": 0.25, "split_seed": 3}
    bundle = DATASETS.build(section)
    assert (len(bundle.train), len(bundle.heldout)) == (15, 5)
    seen = sorted(bundle.train.labels.tolist() + bundle.heldout.labels.tolist())
    assert seen == sorted(files["labels"].tolist())
    with pytest.raises(ConfigError, match="key 'data.heldout_fraction'"):
        DATASETS.build({**section, "heldout_fraction": 1.0})
    with pytest.raises(DataError, match="key 'data.heldout_labels'"):
        DATASETS.build({**section, "heldout_images": str(files["heldout_images"])})
