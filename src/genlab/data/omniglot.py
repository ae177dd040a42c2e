"""Omniglot (Lake et al. 2015) from the file shipped inside genlab, registered in ``DATASETS``.

Lake, Salakhutdinov & Tenenbaum (2015), "Human-level concept learning through probabilistic
program induction", Science 350:1332. ``data/files/omniglot.npz`` (written by
``scripts/convert_omniglot.py``; ``data/files/OMNIGLOT.md`` says what it holds) keeps the 105×105
binary images bit-packed, 1 = ink: the characters of the repository's two small background sets
(each character drawn by 20 people) and the 20 runs of its 20-way within-alphabet one-shot task.

The two background sets share their Greek and Latin characters (the same images); the pool
``background="both"`` holds each character once. Images for models are resized from 105 to
``size`` by exact area averaging (:func:`area_weights`) and stored as uint8 0..255 with strokes
bright on black, as MNIST: 255 = a pixel fully inked.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from pathlib import Path

import numpy as np
import torch

from genlab.data.bundle import DataBundle
from genlab.data.episodes import EpisodeSet, collate_tasks
from genlab.data.labelled import scale_uint8
from genlab.data.registry import DATASETS
from genlab.errors import DataError
from genlab.modalities.images import ImagesModality
from genlab.utils import checks

#: the side of the stored images
SIDE = 105
BACKGROUNDS = ("small1", "small2", "both")


def pack_bits(ink: np.ndarray) -> np.ndarray:
    """Boolean images (..., 105, 105), True = ink -> bit-packed rows (..., 1379) uint8."""
    return np.packbits(ink.reshape(*ink.shape[:-2], SIDE * SIDE), axis=-1)


def unpack_bits(bits: np.ndarray) -> np.ndarray:
    """The inverse of :func:`pack_bits`: (..., 1379) uint8 -> (..., 105, 105) bool."""
    flat = np.unpackbits(bits, axis=-1, count=SIDE * SIDE).astype(bool)
    return flat.reshape(*bits.shape[:-1], SIDE, SIDE)


@dataclass(frozen=True)
class OmniglotArchive:
    """The arrays of the shipped file, images unpacked. Background image n is drawer
    ``drawer[n]`` (1..20, the number after the underscore in its file name) of character
    ``character[n]``, which belongs to alphabet ``character_alphabet[character[n]]``."""

    background: np.ndarray  # (N, 105, 105) bool, True = ink
    character: np.ndarray  # (N,) index into character_names
    drawer: np.ndarray  # (N,)
    in_small1: np.ndarray  # (N,) bool: the image is in images_background_small1
    in_small2: np.ndarray  # (N,) bool
    character_names: np.ndarray  # (C,) str, the folder names ("character01")
    character_alphabet: np.ndarray  # (C,) index into alphabet_names
    character_codes: np.ndarray  # (C,) the number that starts the character's file names
    alphabet_names: np.ndarray  # (A,) str
    runs_train: np.ndarray  # (R, 20, 105, 105) bool: training/class01.png ... class20.png of each run
    runs_test: np.ndarray  # (R, 20, 105, 105) bool: test/item01.png ... item20.png
    runs_answers: np.ndarray  # (R, 20): the index of each test item's training image (class_labels.txt)

    @property
    def alphabet(self) -> np.ndarray:
        return self.character_alphabet[self.character]  # (N,)


def shipped_file() -> Path:
    return Path(str(resources.files("genlab.data").joinpath("files", "omniglot.npz")))


def read_archive(path: str | Path | None = None) -> OmniglotArchive:
    """The shipped file (or ``path``), read with ``allow_pickle=False`` and cached while the file
    stays the same."""
    path = shipped_file() if path is None else Path(path)
    if not path.is_file():
        raise DataError("no such file", path=path)
    return _read_archive(str(path), path.stat().st_mtime_ns, path.stat().st_size)


@lru_cache(maxsize=2)
def _read_archive(path: str, mtime_ns: int, size: int) -> OmniglotArchive:
    try:
        with np.load(path, allow_pickle=False) as f:
            arrays = {k: f[k] for k in f.files}
    except (OSError, ValueError) as exc:
        raise DataError(f"cannot read the Omniglot arrays: {exc}", path=path) from None
    if int(arrays.pop("side")) != SIDE:
        raise DataError(f"expected {SIDE}×{SIDE} images", path=path)
    for key in ("background", "runs_train", "runs_test"):
        arrays[key] = unpack_bits(arrays.pop(f"{key}_bits"))
    archive = OmniglotArchive(**{k: arrays[k] for k in OmniglotArchive.__dataclass_fields__})
    for a in vars(archive).values():
        a.setflags(write=False)
    return archive


def area_weights(n: int, size: int) -> np.ndarray:
    """(size, n): W[i, j] = the fraction of output pixel i's interval [i n/size, (i+1) n/size)
    covered by input pixel j's [j, j+1), so ``W @ image @ W.T`` is the exact area average."""
    edges = np.arange(size + 1) * (n / size)  # (size + 1,)
    j = np.arange(n)[None]  # (1, n)
    overlap = np.minimum(edges[1:, None], j + 1) - np.maximum(edges[:-1, None], j)  # (size, n)
    return np.clip(overlap, 0, None) * (size / n)


def ink_levels(ink: np.ndarray, size: int) -> np.ndarray:
    """Boolean images (..., 105, 105) -> uint8 (..., size, size): 255 × the inked fraction of each
    output pixel's area, rounded (strokes bright on black)."""
    w = torch.from_numpy(area_weights(SIDE, size))  # (s, 105)
    flat = ink.reshape(-1, SIDE, SIDE)  # (M, 105, 105)
    out = torch.empty(flat.shape[0], size, size, dtype=torch.uint8)  # (M, s, s)
    for start in range(0, flat.shape[0], 256):  # float64 in chunks of 256 images (22 MB)
        mean = w @ torch.tensor(flat[start : start + 256], dtype=torch.float64) @ w.T  # (m, s, s)
        out[start : start + 256] = torch.round(255 * mean).to(torch.uint8)
    return out.numpy().reshape(*ink.shape[:-2], size, size)


@dataclass(frozen=True)
class OmniglotPool:
    """Background images at one size. Rotated copies (``rotations``) are new classes: class
    ``4 c + r`` is character c turned by r × 90° counter-clockwise."""

    images: np.ndarray  # (N, 1, s, s) uint8, 255 = ink
    classes: np.ndarray  # (N,) int64: the character, or 4 × character + rotation
    character: np.ndarray  # (N,) index into the archive's character_names
    alphabet: np.ndarray  # (N,) index into the archive's alphabet_names
    drawer: np.ndarray  # (N,)


def background_pool(size: int = 28, split: str = "both", rotations: bool = False) -> OmniglotPool:
    """The background characters of ``split`` (small1, small2 or both, each character once)."""
    checks.one_of("split", split, BACKGROUNDS)
    checks.at_least("size", size, 1)
    checks.at_most("size", size, SIDE)
    return _background(size, split, rotations)


@lru_cache(maxsize=4)
def _background(size: int, split: str, rotations: bool) -> OmniglotPool:
    a = read_archive()
    keep = {"small1": a.in_small1, "small2": a.in_small2, "both": a.in_small1 | a.in_small2}[split]
    images = ink_levels(a.background[keep], size)[:, None]  # (N, 1, s, s)
    character = a.character[keep].astype(np.int64)
    turns = np.arange(4) if rotations else np.arange(1)
    pool = OmniglotPool(
        images=np.concatenate([np.rot90(images, r, axes=(2, 3)) for r in turns]),  # (R N, 1, s, s)
        classes=np.concatenate([len(turns) * character + r for r in turns]),
        character=np.tile(character, len(turns)),
        alphabet=np.tile(a.alphabet[keep], len(turns)),
        drawer=np.tile(a.drawer[keep], len(turns)))
    for x in vars(pool).values():
        x.setflags(write=False)
    return pool


@dataclass(frozen=True)
class OneShotRun:
    """One run of the 20-way one-shot task: each test item belongs to the class of exactly one
    training image, ``answers[i]`` (Lake et al. 2015)."""

    train_images: np.ndarray  # (20, 1, s, s) uint8, 255 = ink
    test_images: np.ndarray  # (20, 1, s, s) uint8
    answers: np.ndarray  # (20,) int64


def one_shot_runs(size: int = 28) -> list[OneShotRun]:
    """The 20 runs at ``size`` (105: the stored binary images as 0 / 255)."""
    checks.at_least("size", size, 1)
    checks.at_most("size", size, SIDE)
    a = read_archive()
    train, test = ink_levels(a.runs_train, size), ink_levels(a.runs_test, size)  # (R, 20, s, s)
    return [OneShotRun(train[r][:, None], test[r][:, None], a.runs_answers[r].astype(np.int64))
            for r in range(len(train))]


def _runs_pool(size: int) -> tuple[np.ndarray, np.ndarray]:
    """The runs' characters as one pool: class 20 r + j holds run r's training image j and the
    test item whose answer is j (two drawers each). Images (800, 1, s, s), classes (800,)."""
    runs = one_shot_runs(size)
    images = np.concatenate([x for run in runs for x in (run.train_images, run.test_images)])
    classes = np.concatenate([20 * r + x for r, run in enumerate(runs)
                              for x in (np.arange(len(run.answers)), run.answers)])
    return images, classes


def _episodes(images: np.ndarray, classes: np.ndarray, n_way: int, k_shot: int, q_query: int, seed: int,
              length: int) -> EpisodeSet:
    return EpisodeSet(torch.from_numpy(np.ascontiguousarray(images)), torch.from_numpy(classes), n_way, k_shot,
                      q_query, seed=seed, length=length, transform=scale_uint8)


@DATASETS.register("omniglot")
def omniglot(n_way: int = 5, k_shot: int = 1, q_query: int = 1, size: int = 28, rotations: bool = True,
             background: str = "both", heldout: str = "runs", seed: int = 0, train_tasks: int = 100_000,
             heldout_tasks: int = 600) -> DataBundle:
    """N-way K-shot tasks (:class:`~genlab.data.episodes.TaskBatch` batches, images in [-1, 1]).

    Training tasks come from the ``background`` characters (small1, small2 or both), each also
    turned by 90°, 180° and 270° as three new classes with ``rotations`` (the augmentation of
    Santoro et al. 2016 and Finn et al. 2017). Held-out tasks come from characters never trained on:
    ``heldout: runs`` — the 400 characters of the 20 one-shot runs, two drawings each, so these
    tasks are always 1-shot with 1 query per class — or the name of a background alphabet, left
    out of training, with ``k_shot`` and ``q_query`` as set. Held-out tasks are unrotated and the
    same for every ``seed`` (``seed`` draws the training tasks).
    """
    checks.one_of("background", background, BACKGROUNDS)
    for key, value in (("size", size), ("train_tasks", train_tasks), ("heldout_tasks", heldout_tasks)):
        checks.at_least(key, value, 1)
    checks.at_most("size", size, SIDE)
    archive, pool = read_archive(), background_pool(size, background, rotations)
    alphabets = [str(archive.alphabet_names[i]) for i in np.unique(pool.alphabet)]
    checks.one_of("heldout", heldout, ["runs", *alphabets])
    if heldout == "runs":
        train_keep = np.ones(len(pool.classes), dtype=bool)
        (held_images, held_classes), held_k, held_q = _runs_pool(size), 1, 1
    else:
        code = list(archive.alphabet_names).index(heldout)
        train_keep = pool.alphabet != code
        plain = background_pool(size, background, rotations=False)
        held_images, held_classes = plain.images[plain.alphabet == code], plain.classes[plain.alphabet == code]
        held_k, held_q = k_shot, q_query
    n_held = len(np.unique(held_classes))
    checks.at_most("n_way", n_way, n_held, bound="the number of held-out characters")
    train = _episodes(pool.images[train_keep], pool.classes[train_keep], n_way, k_shot, q_query, seed, train_tasks)
    held = _episodes(held_images, held_classes, n_way, held_k, held_q, 0, heldout_tasks)
    return DataBundle(
        modality=ImagesModality(channels=1, height=size, width=size, levels=256),
        train=train,
        heldout=held,
        collate=collate_tasks,
        info={"dataset": "omniglot", "n_way": n_way, "k_shot": k_shot, "q_query": q_query, "size": size,
              "background": background, "rotations": rotations, "heldout": heldout,
              "train_classes": train.n_classes, "heldout_classes": held.n_classes,
              "heldout_k_shot": held_k, "heldout_q_query": held_q, "seed": seed},
    )
