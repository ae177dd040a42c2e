"""Omniglot: the shipped file's counts, the converter's exact round trip on a small synthetic copy
of the three zip files, exact area averaging, rotated classes, the 20 runs, and the ``omniglot``
dataset's episodes and one-line errors."""

from __future__ import annotations

import importlib.util
import io
import subprocess
import sys
import zipfile

import numpy as np
import pytest
import torch
from PIL import Image

from genlab.data.episodes import TaskBatch
from genlab.data.omniglot import (SIDE, area_weights, background_pool, ink_levels, one_shot_runs, read_archive,
                                  shipped_file)
from genlab.data.registry import DATASETS
from genlab.errors import ConfigError
from genlab.modalities.images import ImagesModality
from support import REPO

CONVERTER = REPO / "scripts" / "convert_omniglot.py"


def test_the_shipped_file_holds_both_background_sets_and_the_20_runs():
    with np.load(shipped_file(), allow_pickle=False) as f:  # no array needs pickle
        assert all(f[k].dtype != object for k in f.files)
    for name in ("OMNIGLOT_LICENSE", "OMNIGLOT.md"):
        assert (shipped_file().parent / name).is_file()
    a = read_archive()
    assert a.in_small1.sum() == 2720 and a.in_small2.sum() == 3120
    assert len(np.unique(a.character[a.in_small1])) == 136 and len(np.unique(a.character[a.in_small2])) == 156
    assert (a.in_small1 & a.in_small2).sum() == 1000  # Greek and Latin are in both sets, stored once
    shared = np.unique(a.alphabet[a.in_small1 & a.in_small2])
    assert sorted(a.alphabet_names[shared]) == ["Greek", "Latin"]
    assert len(np.unique(a.alphabet[a.in_small1])) == 5 and len(np.unique(a.alphabet[a.in_small2])) == 5
    for c in range(len(a.character_names)):  # every character drawn once by each of 20 drawers
        assert sorted(a.drawer[a.character == c]) == list(range(1, 21))
    assert a.background.shape == (4840, SIDE, SIDE) and a.background.dtype == bool
    assert a.runs_train.shape == a.runs_test.shape == (20, 20, SIDE, SIDE)
    for answers in a.runs_answers:  # each training image is the class of exactly one test item
        assert sorted(answers) == list(range(20))
    ink = a.background.mean()
    assert 0.02 < ink < 0.2  # strokes on an empty page: ink is the minority


def write_png(archive: zipfile.ZipFile, name: str, ink: np.ndarray, replace: dict) -> None:
    """``ink`` as a binary PNG, black (0) ink on white, or the grey levels ``replace[name]``."""
    image = Image.fromarray(replace[name]) if name in replace else Image.fromarray(~ink).convert("1")
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    archive.writestr(name, buffer.getvalue())


def synthetic_zips(folder, rng, replace=None):
    """Small copies of the three zip files: small1 = A (2 characters) + Greek, small2 = Greek
    (the same images) + C; two runs of 3 classes. Returns {path: ink}, {path: the sets holding it}
    and the runs' answers. ``replace`` maps zip entries to grey images written instead."""
    replace = replace or {}
    ink, top = {}, {}
    characters = {"images_background_small1": [("A", "character01", 11), ("A", "character02", 12),
                                               ("Greek", "character01", 394)],
                  "images_background_small2": [("Greek", "character01", 394), ("C", "character01", 900)]}
    for split, chars in characters.items():
        with zipfile.ZipFile(folder / f"{split}.zip", "w") as z:
            z.writestr(f"{split}/", "")
            for alphabet, character, code in chars:
                for drawer in (1, 2, 3):
                    path = f"{alphabet}/{character}/{code:04d}_{drawer:02d}.png"
                    image = ink.setdefault(path, rng.random((SIDE, SIDE)) < 0.1)
                    top.setdefault(path, set()).add(split[-6:])
                    write_png(z, f"{split}/{path}", image, replace)
    answers = np.array([[2, 0, 1], [1, 2, 0]])
    with zipfile.ZipFile(folder / "all_runs.zip", "w") as z:
        for r in (1, 2):
            lines = []
            for j in (1, 2, 3):
                for kind, stem in (("training", "class"), ("test", "item")):
                    path = f"run{r:02d}/{kind}/{stem}{j:02d}.png"
                    ink[path] = rng.random((SIDE, SIDE)) < 0.1
                    write_png(z, path, ink[path], replace)
                lines.append(f"run{r:02d}/test/item{j:02d}.png run{r:02d}/training/class{answers[r - 1, j - 1] + 1:02d}.png")
            z.writestr(f"run{r:02d}/class_labels.txt", "\n".join(lines) + "\n")
    return ink, top, answers


def test_the_converter_keeps_every_pixel_name_and_answer(tmp_path):
    ink, member, answers = synthetic_zips(tmp_path, np.random.default_rng(0))
    out = tmp_path / "out.npz"
    done = subprocess.run([sys.executable, str(CONVERTER), str(tmp_path), "--out", str(out)],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    a = read_archive(out)
    assert list(a.alphabet_names) == ["A", "C", "Greek"] and list(a.character_codes) == [11, 12, 900, 394]
    assert a.background.shape == (12, SIDE, SIDE)  # 4 characters × 3 drawers, Greek once
    for n in range(len(a.drawer)):
        c = a.character[n]
        path = f"{a.alphabet_names[a.character_alphabet[c]]}/{a.character_names[c]}/{a.character_codes[c]:04d}_{a.drawer[n]:02d}.png"
        assert np.array_equal(a.background[n], ink[path])
        assert {s for s, flag in (("small1", a.in_small1[n]), ("small2", a.in_small2[n])) if flag} == member[path]
    for r in range(2):
        for j in range(3):
            assert np.array_equal(a.runs_train[r, j], ink[f"run{r + 1:02d}/training/class{j + 1:02d}.png"])
            assert np.array_equal(a.runs_test[r, j], ink[f"run{r + 1:02d}/test/item{j + 1:02d}.png"])
    assert np.array_equal(a.runs_answers, answers)


def load_converter():
    spec = importlib.util.spec_from_file_location("convert_omniglot", CONVERTER)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_converter_refuses_grey_images_and_differing_copies(tmp_path):
    convert = load_converter().convert
    (tmp_path / "grey").mkdir()
    grey = np.full((SIDE, SIDE), 255, np.uint8)
    grey[50, 50] = 128
    synthetic_zips(tmp_path / "grey", np.random.default_rng(1), {"run02/test/item03.png": grey})
    with pytest.raises(SystemExit, match=r"run02/test/item03.png: expected a binary 105×105 image, got \(105, 105\) "
                                         "with 2 grey levels"):
        convert(tmp_path / "grey", tmp_path / "grey.npz")
    (tmp_path / "differ").mkdir()
    other = np.where(np.eye(SIDE, dtype=bool), 0, 255).astype(np.uint8)  # a binary image, another drawing
    synthetic_zips(tmp_path / "differ", np.random.default_rng(2),
                   {"images_background_small2/Greek/character01/0394_02.png": other})
    with pytest.raises(SystemExit, match="0394_02.png differs from the image of the same name in another set"):
        convert(tmp_path / "differ", tmp_path / "differ.npz")
    assert not (tmp_path / "grey.npz").exists() and not (tmp_path / "differ.npz").exists()


@pytest.mark.parametrize("size", [28, 50, 35, 15, 7, 105])
def test_area_averaging_is_exact(size):
    w = area_weights(SIDE, size)
    assert np.allclose(w.sum(axis=1), 1.0)  # a mean over each output pixel
    assert np.allclose(w.sum(axis=0), size / SIDE)  # every input pixel counted by its whole area
    ink = np.random.default_rng(size).random((3, SIDE, SIDE)) < 0.3
    mean = np.einsum("ij,njk,lk->nil", w, ink.astype(float), w)  # (3, s, s)
    # reference: replicate each pixel L times per side (L s / 105 an integer), then average blocks
    lcm = np.lcm(SIDE, size)
    fine = ink.repeat(lcm // SIDE, axis=1).repeat(lcm // SIDE, axis=2).astype(float)  # (3, lcm, lcm)
    block = lcm // size
    reference = fine.reshape(3, size, block, size, block).mean(axis=(2, 4))
    assert np.allclose(mean, reference, atol=1e-12)
    assert np.array_equal(ink_levels(ink, size), np.round(255 * reference).astype(np.uint8))
    if size == SIDE:
        assert np.array_equal(ink_levels(ink, size), ink * np.uint8(255))


def test_background_pools_and_rotations():
    a = read_archive()
    for split, n_images, n_characters in (("small1", 2720, 136), ("small2", 3120, 156), ("both", 4840, 242)):
        pool = background_pool(28, split)
        assert pool.images.shape == (n_images, 1, 28, 28) and pool.images.dtype == np.uint8
        assert len(np.unique(pool.classes)) == n_characters and np.array_equal(pool.classes, pool.character)
    plain, turned = background_pool(28, "small1"), background_pool(28, "small1", rotations=True)
    assert turned.images.shape == (4 * 2720, 1, 28, 28) and len(np.unique(turned.classes)) == 4 * 136
    for r in range(4):
        part = slice(r * 2720, (r + 1) * 2720)
        assert np.array_equal(turned.classes[part], 4 * plain.character + r)
        assert np.array_equal(turned.images[part], np.rot90(plain.images, r, axes=(2, 3)))
        assert np.array_equal(turned.alphabet[part], a.alphabet[a.in_small1])
    assert np.array_equal(np.rot90(turned.images[2720], 1, axes=(1, 2)), turned.images[2 * 2720])
    with pytest.raises(ConfigError, match="key 'split': expected one of 'small1', 'small2', 'both', got 'all'"):
        background_pool(28, "all")


def test_one_shot_runs():
    a, runs, raw = read_archive(), one_shot_runs(28), one_shot_runs(SIDE)
    assert len(runs) == 20
    for r, (run, big) in enumerate(zip(runs, raw)):
        assert run.train_images.shape == run.test_images.shape == (20, 1, 28, 28)
        assert np.array_equal(run.answers, a.runs_answers[r])
        assert np.array_equal(big.test_images[:, 0], a.runs_test[r] * np.uint8(255))
        assert np.array_equal(run.train_images[:, 0], ink_levels(a.runs_train[r], 28))


def test_the_omniglot_dataset_draws_tasks_from_unseen_characters():
    bundle = DATASETS.build({"name": "omniglot", "n_way": 5, "k_shot": 1, "q_query": 3, "seed": 1})
    assert isinstance(bundle.modality, ImagesModality) and bundle.modality.shapes() == {"x": (1, 28, 28)}
    assert bundle.info["train_classes"] == 4 * 242 and bundle.info["heldout_classes"] == 400
    batch = bundle.collate([bundle.train[i] for i in range(4)])
    assert isinstance(batch, TaskBatch) and batch.support_x.shape == (4, 5, 1, 28, 28)
    assert batch.query_x.shape == (4, 15, 1, 28, 28) and batch.support_x.min() == -1 and batch.support_x.max() == 1
    held = bundle.collate([bundle.heldout[i] for i in range(4)])
    assert held.support_x.shape == held.query_x.shape == (4, 5, 1, 28, 28)  # two drawings per run character
    runs = one_shot_runs(28)
    for i in range(10):  # the query of each held-out class is the test item whose answer is its training image
        classes, support, query = bundle.heldout.indices(i)
        for c in classes:
            run, j = divmod(int(c), 20)
            k = int(np.flatnonzero(runs[run].answers == j)[0])
            members = {bytes(x) for x in bundle.heldout.inputs[bundle.heldout.labels == int(c)].numpy()}
            assert members == {bytes(runs[run].train_images[j]), bytes(runs[run].test_images[k])}
    other = DATASETS.build({"name": "omniglot", "n_way": 5, "k_shot": 1, "q_query": 3, "seed": 2})
    assert torch.equal(other.heldout[7].support_x, bundle.heldout[7].support_x)  # held-out tasks fixed
    assert not torch.equal(other.train[7].support_x, bundle.train[7].support_x)


def test_a_held_out_alphabet_is_left_out_of_training():
    a = read_archive()
    bundle = DATASETS.build({"name": "omniglot", "n_way": 17, "k_shot": 5, "q_query": 5, "heldout": "Tagalog",
                             "rotations": False, "background": "small2"})
    tagalog = list(a.alphabet_names).index("Tagalog")
    assert set(a.character_alphabet[np.unique(bundle.heldout.labels.numpy())]) == {tagalog}
    assert tagalog not in set(a.character_alphabet[np.unique(bundle.train.labels.numpy())])
    assert bundle.info["heldout_classes"] == 17 and bundle.info["train_classes"] == 156 - 17
    task = bundle.heldout[0]
    assert task.support_x.shape == (85, 1, 28, 28) and task.query_x.shape == (85, 1, 28, 28)


@pytest.mark.parametrize("section, message", [
    ({"heldout": "Klingon", "background": "small1"},
     "key 'data.heldout': expected one of 'runs', 'Balinese', 'Early_Aramaic', 'Greek', 'Korean', 'Latin', got 'Klingon'"),
    ({"heldout": "Tagalog", "n_way": 18}, "key 'data.n_way': must be at most the number of held-out characters (17), "
                                          "got 18"),
    ({"n_way": 401}, "key 'data.n_way': must be at most the number of held-out characters (400), got 401"),
    ({"background": "all"}, "key 'data.background': expected one of 'small1', 'small2', 'both', got 'all'"),
    ({"size": 106}, "key 'data.size': must be at most 105, got 106"),
    ({"k_shot": 20}, "key 'data.k_shot': must be at most 19, leaving a query example (class 0, the smallest, "
                     "has 20 examples), got 20"),
    ({"n_way": 1}, "key 'data.n_way': must be at least 2, got 1"),
])
def test_bad_values_are_one_line_errors_naming_the_key(section, message):
    with pytest.raises(ConfigError) as caught:
        DATASETS.build({"name": "omniglot", **section})
    assert str(caught.value) == message
